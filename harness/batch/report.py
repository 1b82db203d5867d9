"""The class-wide outputs of a batch: grades.csv and summary.json, rebuilt from the scorecards on disk."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from typing import Any

from ..models import Rubric, Scorecard


def grades_csv(rubric: Rubric, scorecards: dict[str, Scorecard]) -> str:
    """One row per student: score, maximum, status, then the points of every rubric item."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    item_ids = [item.id for item in rubric.items]
    writer.writerow(["student", "score", "max_score", "status", *item_ids])
    for student in sorted(scorecards):
        card = scorecards[student]
        points = {item.id: item.points for item in card.items}
        writer.writerow([student, f"{card.score:g}", f"{card.max_score:g}", card.status,
                         *(f"{points.get(item_id, 0):g}" for item_id in item_ids)])
    return buffer.getvalue()


def summary(rubric: Rubric, scorecards: dict[str, Scorecard], extra: dict[str, Any]) -> str:
    """Score distribution, status counts, pass rate per item, the most common diagnoses."""
    cards = list(scorecards.values())
    scores = [card.score for card in cards]
    maximum = rubric.max_score or 1.0
    histogram = [0] * 10
    for score in scores:
        histogram[min(9, int(10 * score / maximum))] += 1
    items = {}
    for item in rubric.items:
        results = [next((i for i in card.items if i.id == item.id), None) for card in cards]
        graded = [r for r in results if r is not None]
        items[item.id] = {
            "passed": sum(1 for r in graded if r.status == "passed"),
            "pass_rate": round(sum(1 for r in graded if r.status == "passed") / len(graded), 4) if graded else None,
            "mean_points": round(statistics.fmean(r.points for r in graded), 4) if graded else None,
        }
    diagnoses = Counter(d.id for card in cards for d in card.diagnoses)
    data = {
        **extra,
        "submissions": len(cards),
        "status_counts": dict(Counter(card.status for card in cards)),
        "score": {
            "max_score": rubric.max_score,
            "mean": round(statistics.fmean(scores), 3) if scores else None,
            "median": statistics.median(scores) if scores else None,
            "min": min(scores) if scores else None,
            "max": max(scores) if scores else None,
            "histogram_by_tenth_of_max": histogram,
        },
        "items": items,
        "most_common_diagnoses": [{"id": i, "count": n} for i, n in diagnoses.most_common(10)],
    }
    return json.dumps(data, indent=2) + "\n"

"""PrairieLearn: the external grader's entrypoint, from ``/grade`` to ``/grade/results/results.json``.

PrairieLearn mounts ``/grade/data/data.json`` (the question's data, with what PrairieLearn itself made of the
submission) and ``/grade/student/`` (the uploaded files), and reads ``/grade/results/results.json`` back, capped at
1 MB. A submission that cannot be graded at all (no file, a syntax error, a file refused) is ``gradable: false``
with ``format_errors``: PrairieLearn then counts no attempt. So is a fault of the harness, which is never the
student's zero. Visible items are one test each; items the rubric keeps from students are summed into one test that
shows only their points, since PrairieLearn has no per-test visibility.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runners.base import Runner

from .._files import write_atomically
from ..models import Scorecard
from ._text import bounded
from .autograder import Found, grade_upload

ROOT = Path("/grade")
MAX_RESULTS_BYTES = 1_000_000
UNGRADABLE = {"compile_error", "internal_error"}


def _tests(card: Scorecard, feedback_limit: int) -> list[dict[str, Any]]:
    tests = [{"name": item.title, "description": item.id, "points": item.points, "max_points": item.max_points,
              "message": bounded(item.feedback, feedback_limit), "output": ""}
             for item in card.items if item.visibility == "visible"]
    withheld = [item for item in card.items if item.visibility != "visible"]
    if withheld:
        tests.append({"name": "Further checks", "description": "checks whose details are not shown",
                      "points": sum(i.points for i in withheld), "max_points": sum(i.max_points for i in withheld),
                      "message": f"{len(withheld)} further check(s); their feedback is not shown.", "output": ""})
    return tests


def results_json(card: Scorecard, found: Found | None = None, *, feedback_limit: int = 20_000) -> dict[str, Any]:
    """PrairieLearn's ``results.json`` of a scorecard: gradable with a score in [0, 1], or not gradable."""
    file_name = found.path.name if found is not None and found.path is not None else "submission"
    if card.status in UNGRADABLE:
        reason = bounded(card.message, 4_000)
        return {"gradable": False, "score": 0.0, "message": reason, "format_errors": {file_name: reason},
                "tests": []}
    score = card.score / card.max_score if card.max_score > 0 else 0.0
    message = f"{card.score:g} / {card.max_score:g}"
    if card.status != "graded":
        message += f": {bounded(card.message, 2_000)}"
    if found is not None and found.note:
        message += f" ({found.note})"
    return {"gradable": True, "score": round(min(1.0, max(0.0, score)), 6), "message": message, "output": "",
            "tests": _tests(card, feedback_limit)}


def _within_cap(results: dict[str, Any], card: Scorecard, found: Found | None) -> str:
    """The results as JSON under PrairieLearn's 1 MB cap, cutting feedback shorter until it fits."""
    text = json.dumps(results)
    limit = 20_000
    while len(text.encode()) > MAX_RESULTS_BYTES and limit > 100:
        limit //= 4
        text = json.dumps(results_json(card, found, feedback_limit=limit))
    return text + "\n"


def _already_ungradable(data_json: Path) -> str:
    """PrairieLearn's own verdict on the submission's format, when it already found it ungradable."""
    try:
        data = json.loads(data_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if isinstance(data, dict) and data.get("gradable") is False:
        return "PrairieLearn found the submission's format invalid."
    return ""


def run_external_grader(problem: str, root: Path = ROOT, *, problems_dirs: list[Path] | None = None,
                        runner: Runner | None = None) -> Scorecard | None:
    """Grade ``root/student`` and write ``root/results/results.json``; the scorecard (None when not graded)."""
    results_path = root / "results" / "results.json"
    refused = _already_ungradable(root / "data" / "data.json")
    if refused:
        write_atomically(results_path, json.dumps({"gradable": False, "score": 0.0, "message": refused,
                                                   "format_errors": {"submission": refused}, "tests": []}) + "\n")
        return None
    card, found = grade_upload(root / "student", problem, problems_dirs, runner)
    write_atomically(results_path, _within_cap(results_json(card, found), card, found))
    return card

"""Gradescope: a scorecard as ``results.json``, and the autograder run inside Gradescope's container.

One Gradescope test per rubric item, with the item's visibility (hidden items stay hidden; after_due_date and
after_published map to Gradescope's own). The file is written by the host, from the scorecard alone: whatever the
student's code prints goes to the sandbox's captured streams, never into it. A fault of the harness writes no
results at all, so Gradescope reports that the autograder failed (to be rerun) instead of recording a zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from runners.base import Runner

from .._files import write_atomically
from ..models import ItemResult, Scorecard
from ..schemas import load_schema
from ._text import bounded, markdown_literal
from .autograder import grade_upload

ROOT = Path("/autograder")
MAX_TEST_OUTPUT = 8_000
MAX_OUTPUT = 16_000
LEADERBOARD_ITEM = "performance"
_STATUS_WORDS = {"passed": "passed", "partial": "partly passed", "failed": "failed", "error": "not checked (error)",
                 "skipped": "not checked"}


class GraderFault(Exception):
    """The harness could not grade this submission; nothing is written, so Gradescope shows a failed autograder."""


def _test(item: ItemResult, number: int) -> dict[str, Any]:
    feedback = markdown_literal(bounded(item.feedback, MAX_TEST_OUTPUT))
    return {
        "name": item.title,
        "number": str(number),
        "score": item.points,
        "max_score": item.max_points,
        "status": "passed" if item.status == "passed" else "failed",
        "output": f"**{_STATUS_WORDS[item.status]}**: {feedback}" if feedback else f"**{_STATUS_WORDS[item.status]}**",
        "output_format": "md",
        "tags": [item.id],
        "visibility": item.visibility,
    }


def _summary(card: Scorecard, note: str) -> str:
    lines = [f"**{card.score:g} / {card.max_score:g}** ({card.status})"]
    if card.message and card.status != "graded":
        lines.append(markdown_literal(bounded(card.message, 2_000)))
    visible = [d for d in card.diagnoses if all(_item_visible(card, i) for i in d.items)]
    if visible:
        lines.append("Mistakes found:")
        lines += [f"- {markdown_literal(bounded(d.message, 1_000))}" for d in visible[:10]]
    if note:
        lines.append(f"_{markdown_literal(note)}_")
    return bounded("\n\n".join(lines), MAX_OUTPUT)


def _item_visible(card: Scorecard, item_id: str) -> bool:
    return next((i.visibility == "visible" for i in card.items if i.id == item_id), True)


def _leaderboard(card: Scorecard) -> list[dict[str, Any]]:
    """The speed against the reference (lower is faster), when the performance item measured it."""
    item = next((i for i in card.items if i.id == LEADERBOARD_ITEM), None)
    ratio = item.details.get("ratio") if item is not None else None
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool):
        return []
    return [{"name": "time / reference", "value": round(float(ratio), 3), "order": "asc"}]


def results_json(card: Scorecard, *, note: str = "", leaderboard: bool = False) -> dict[str, Any]:
    """The ``results.json`` of a scorecard, valid against ``gradescope_results.schema.json``."""
    if card.status == "internal_error":
        raise GraderFault(card.message)
    results: dict[str, Any] = {
        "score": card.score,
        "execution_time": round(card.grading_s, 2),
        "output": _summary(card, note),
        "output_format": "md",
        "test_output_format": "md",
        "stdout_visibility": "hidden",
        "tests": [_test(item, number) for number, item in enumerate(card.items, start=1)],
        "extra_data": {"harness": {"problem": card.problem.id, "version": card.problem.version,
                                   "status": card.status, "sha256": card.submission.sha256, "seed": card.seed}},
    }
    if leaderboard and (board := _leaderboard(card)):
        results["leaderboard"] = board
    jsonschema.validate(results, load_schema("gradescope_results"))
    return results


def run_autograder(problem: str, root: Path = ROOT, *, problems_dirs: list[Path] | None = None,
                   leaderboard: bool = False, runner: Runner | None = None) -> Scorecard:
    """Grade ``root/submission`` and write ``root/results/results.json``; GraderFault when the harness failed.

    ``runner`` defaults to the strongest local sandbox this container allows.
    """
    card, found = grade_upload(root / "submission", problem, problems_dirs, runner)
    results = results_json(card, note=found.note, leaderboard=leaderboard)
    write_atomically(root / "results" / "results.json", json.dumps(results, indent=2) + "\n")
    return card

"""Regrading a finished batch (after a rubric or problem change) and reporting whose scores changed, and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..models import Scorecard
from .journal import JOURNAL_NAME, SCORECARD_DIR

PREVIOUS_DIR = "previous"
REPORT_NAME = "regrade.json"


def start_regrade(out_dir: Path) -> None:
    """Keep the current scorecards and journal under ``previous/`` and start an empty journal."""
    previous = out_dir / PREVIOUS_DIR
    if previous.exists():
        shutil.rmtree(previous)
    previous.mkdir()
    if (out_dir / SCORECARD_DIR).exists():
        shutil.copytree(out_dir / SCORECARD_DIR, previous / SCORECARD_DIR)
    if (out_dir / JOURNAL_NAME).exists():
        (out_dir / JOURNAL_NAME).rename(previous / JOURNAL_NAME)


def _item_changes(old: Scorecard, new: Scorecard) -> list[dict[str, Any]]:
    before = {item.id: item for item in old.items}
    changes = []
    for item in new.items:
        was = before.pop(item.id, None)
        if was is None:
            changes.append({"item": item.id, "change": "added", "points": item.points, "status": item.status})
        elif (was.points, was.status) != (item.points, item.status):
            changes.append({"item": item.id, "old_status": was.status, "new_status": item.status,
                            "old_points": was.points, "new_points": item.points, "feedback": item.feedback})
    changes += [{"item": item_id, "change": "removed", "points": item.points} for item_id, item in before.items()]
    return changes


def write_regrade_report(out_dir: Path) -> dict[str, Any] | None:
    """Compare ``previous/`` with the current scorecards; write ``regrade.json``; None if no regrade was started."""
    previous = out_dir / PREVIOUS_DIR / SCORECARD_DIR
    if not previous.exists():
        return None
    changed = []
    unchanged = 0
    for old_path in sorted(previous.glob("*.json")):
        new_path = out_dir / SCORECARD_DIR / old_path.name
        if not new_path.exists():
            continue
        old = Scorecard.model_validate_json(old_path.read_text(encoding="utf-8"))
        new = Scorecard.model_validate_json(new_path.read_text(encoding="utf-8"))
        items = _item_changes(old, new)
        if (old.score, old.max_score, old.status) == (new.score, new.max_score, new.status) and not items:
            unchanged += 1
            continue
        changed.append({"student": old_path.stem, "old_score": old.score, "new_score": new.score,
                        "old_max": old.max_score, "new_max": new.max_score, "old_status": old.status,
                        "new_status": new.status, "problem_version": [old.problem.version, new.problem.version],
                        "items": items})
    report = {"changed": changed, "unchanged": unchanged}
    write_atomically(out_dir / REPORT_NAME, json.dumps(report, indent=2) + "\n")
    return report

"""The batch journal: which submissions are done, written so that a kill -9 loses nothing and duplicates nothing.

A scorecard is written to a temporary file and renamed into place (atomic), then one JSON line is appended to
``journal.jsonl`` and flushed to disk. On resume, a submission counts as done only if its journal line is complete
and its scorecard parses; a torn last line (the harness killed mid-write) is ignored and that submission is graded
again, overwriting its scorecard, so no submission ever has two.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..models import Scorecard

JOURNAL_NAME = "journal.jsonl"
SCORECARD_DIR = "scorecards"


@dataclass
class JournalEntry:
    """One completed submission."""

    student: str
    sha256: str
    status: str
    score: float
    max_score: float

    def to_json(self) -> str:
        """One journal line."""
        return json.dumps(self.__dict__, sort_keys=True)


class Journal:
    """The output directory's record of completed submissions."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / JOURNAL_NAME
        self.scorecards = out_dir / SCORECARD_DIR
        self.scorecards.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        """Create the journal if it is new, so that a batch stopped before its first scorecard is one to resume."""
        self.path.touch(exist_ok=True)

    def scorecard_path(self, student: str) -> Path:
        """Where a student's scorecard lives."""
        return self.scorecards / f"{student}.json"

    def completed(self) -> dict[str, JournalEntry]:
        """Students whose journal line is complete and whose scorecard is readable (the last line wins)."""
        done: dict[str, JournalEntry] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data: dict[str, Any] = json.loads(line)
                entry = JournalEntry(**data)
            except (json.JSONDecodeError, TypeError):
                continue  # a line torn by a kill: that submission is graded again
            done[entry.student] = entry
        return {student: entry for student, entry in done.items() if self._readable(student)}

    def _readable(self, student: str) -> bool:
        try:
            Scorecard.model_validate_json(self.scorecard_path(student).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return True

    def record(self, student: str, scorecard: Scorecard, rendered: str) -> JournalEntry:
        """Write the scorecard atomically, then append and fsync its journal line."""
        write_atomically(self.scorecard_path(student), rendered)
        entry = JournalEntry(student=student, sha256=scorecard.submission.sha256, status=scorecard.status,
                             score=scorecard.score, max_score=scorecard.max_score)
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(entry.to_json() + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        return entry

    def load(self, student: str) -> Scorecard:
        """A completed submission's scorecard."""
        return Scorecard.model_validate_json(self.scorecard_path(student).read_text(encoding="utf-8"))

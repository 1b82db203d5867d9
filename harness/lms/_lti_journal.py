"""``lti_journal.jsonl``: what was published to which line item, so that a second run posts only what changed.

One JSON line per score the platform accepted, appended and fsynced before the next student is posted; failures are
not written, so a student who failed is posted again next time. A line torn by a kill is ignored (that student is
posted again, which the platform takes as an update); the next append starts on a new line so it is not torn too.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

JOURNAL_NAME = "lti_journal.jsonl"


@dataclass(frozen=True)
class PublishedScore:
    """One score the platform accepted."""

    lineitem: str
    student: str
    user_id: str
    scorecard_sha256: str
    """SHA-256 of the scorecard file's bytes, to tell later which scorecard was published."""
    score_given: float
    score_maximum: float
    content_sha256: str
    """SHA-256 of what was posted, timestamp left out: a run posts again only when this differs."""
    published_at: str


class PublishJournal:
    """The batch directory's record of published scores."""

    def __init__(self, grades_dir: Path) -> None:
        self.path = grades_dir / JOURNAL_NAME

    def latest(self) -> dict[tuple[str, str], PublishedScore]:
        """(line item, student) -> the last score published for them."""
        latest: dict[tuple[str, str], PublishedScore] = {}
        if not self.path.exists():
            return latest
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data: dict[str, Any] = json.loads(line)
                entry = PublishedScore(**data)
            except (ValueError, TypeError):
                continue  # torn by a kill, or not ours: that student is simply posted again
            latest[(entry.lineitem, entry.student)] = entry
        return latest

    def record(self, entry: PublishedScore) -> None:
        """Append one line and fsync it, after a newline when the file ends in a torn line."""
        torn = self.path.exists() and self.path.stat().st_size > 0 and not self._ends_with_newline()
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(("\n" if torn else "") + json.dumps(asdict(entry), sort_keys=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as stream:
            stream.seek(-1, os.SEEK_END)
            return stream.read(1) == b"\n"

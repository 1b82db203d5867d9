"""Batch progress: a rich progress bar on a terminal, one plain line per submission otherwise."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..models import Scorecard


class BatchProgress:
    """A context manager whose :meth:`update` the batch calls after every scorecard."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.statuses: Counter[str] = Counter()
        self.started = time.monotonic()
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if self.interactive:
            self._bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[failed]}"),
                                 TimeRemainingColumn())
            self._bar.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def update(self, student: str, card: Scorecard, done: int, total: int) -> None:
        """Record one finished submission."""
        self.statuses[card.status] += 1
        elapsed = max(time.monotonic() - self.started, 1e-9)
        abnormal = sum(n for status, n in self.statuses.items() if status != "graded")
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("batch", total=total, completed=done - 1, rate="", failed="")
            self._bar.update(self._task, completed=done, rate=f"{self.statuses.total() / elapsed:.2f}/s",
                             failed=f"{abnormal} not graded normally")
        else:
            print(f"[{done}/{total}] {student}: {card.status} {card.score:g}/{card.max_score:g}",
                  file=self.stream, flush=True)

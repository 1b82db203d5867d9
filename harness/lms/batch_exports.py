"""What a graded batch is exported as, for the systems that import it: Canvas's gradebook CSV and JUnit XML.

Each export reads the journaled scorecards of a batch directory (so ``harness batch --export`` and
``harness report`` give the same file) and is registered by name; the CLI never dispatches on the name itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..batch.journal import JOURNAL_NAME, Journal
from ..models import Scorecard
from ..reporters import render_junit_batch
from .canvas import CanvasExportError, export_canvas, parse_assignment, read_roster


class ExportError(Exception):
    """An export cannot be made; the message names the option, file or line."""


@dataclass(frozen=True)
class ExportOptions:
    """What an export may need beyond the batch directory."""

    assignment: str | None = None
    roster: Path | None = None


@dataclass(frozen=True)
class Exported:
    """An export's file contents, its default file name, and lines for the terminal."""

    text: str
    file_name: str
    summary: str = ""


def _scorecards(grades_dir: Path) -> dict[str, Scorecard]:
    if not (grades_dir / JOURNAL_NAME).is_file():
        raise ExportError(f"{grades_dir}: holds no graded batch (no {JOURNAL_NAME})")
    journal = Journal(grades_dir)
    cards = {}
    for student in sorted(journal.completed()):
        try:
            cards[student] = journal.load(student)
        except (OSError, ValueError) as exc:
            raise ExportError(f"{journal.scorecard_path(student)}: not a readable scorecard ({exc})") from exc
    return cards


def _check_canvas(options: ExportOptions) -> None:
    if not options.assignment:
        raise ExportError('canvas-csv needs --assignment "Title (id)", the gradebook column to fill')
    try:
        parse_assignment(options.assignment)
        if options.roster is not None:
            read_roster(options.roster)
    except CanvasExportError as exc:
        raise ExportError(str(exc)) from exc


def _canvas(grades_dir: Path, options: ExportOptions) -> Exported:
    _check_canvas(options)
    assert options.assignment is not None
    try:
        export = export_canvas(grades_dir, options.assignment, options.roster)
    except CanvasExportError as exc:
        raise ExportError(str(exc)) from exc
    return Exported(export.text, "canvas.csv", export.summary())


def _junit(grades_dir: Path, options: ExportOptions) -> Exported:
    cards = _scorecards(grades_dir)
    return Exported(render_junit_batch(cards, name=grades_dir.resolve().name), "junit.xml",
                    f"{len(cards)} submission(s) as JUnit test suites\n")


@dataclass(frozen=True)
class BatchExport:
    """One registered export: how to check its options before a batch starts, and how to make it after."""

    check: Callable[[ExportOptions], None]
    make: Callable[[Path, ExportOptions], Exported]


EXPORTS: dict[str, BatchExport] = {
    "canvas-csv": BatchExport(_check_canvas, _canvas),
    "junit": BatchExport(lambda options: None, _junit),
}


def check_exports(names: list[str], options: ExportOptions) -> None:
    """Fail now, before hours of grading, when an export's options are wrong (ExportError)."""
    for name in names:
        EXPORTS[name].check(options)


def make_export(name: str, grades_dir: Path, options: ExportOptions) -> Exported:
    """The export ``name`` of the batch in ``grades_dir``; ExportError when it cannot be made."""
    return EXPORTS[name].make(grades_dir, options)

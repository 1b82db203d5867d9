"""Canvas: the gradebook CSV Canvas imports (Grades > Import), made from a batch's scorecards.

The file has the columns Canvas's own gradebook export starts with, ``Student, ID, SIS User ID, SIS Login ID,
Section``, then one column titled as the gradebook titles the assignment, ``Title (id)``; a ``Points Possible`` row
with the rubric's maximum; one row per student with the score in points. Canvas's importer finds the student by
``ID`` (its user id) first, then by SIS User ID, SIS Login ID and name, and the assignment by the id in the column's
title; uploaded scores replace those in the gradebook once the instructor confirms the preview.

Who each student is comes from Canvas's "Download Submissions" file names and, when given, the gradebook exported
from Canvas as the roster (``_canvas_match.py`` says how; nothing is guessed). Every student that is not exported is
listed in ``unmatched`` with the reason, so the instructor can enter those few by hand. A scorecard whose status is
``internal_error`` (the grader failed, not the student) is never exported.

Every text cell comes from the students (their names, their file names) or from a file they may have influenced: one
that a spreadsheet would read as a formula (starting with ``= + - @``, a tab or a carriage return) gets a leading
``'``. The scores are numbers the harness wrote and are never altered.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..batch.journal import JOURNAL_NAME, SCORECARD_DIR, Journal
from ..models import Scorecard
from ._canvas_match import CanvasStudent, match_students
from ._canvas_roster import CanvasExportError, Roster, RosterError, RosterStudent, read_roster

__all__ = [
    "CanvasExport", "CanvasExportError", "Roster", "RosterError", "RosterStudent", "canvas_csv", "export_canvas",
    "parse_assignment", "read_roster",
]

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"
"""The first cell of the points row, as Canvas writes it (the importer looks for "Points Possible" in it)."""
_TITLE_AND_ID = re.compile(r"(?P<title>.*)\s\((?P<id>\d+)\)", re.DOTALL)  # Canvas's Assignment.title_and_id
_ID_WRITTEN_OTHERWISE = re.compile(r".*\(\s*#?\s*\d+\s*\)|\d+", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CanvasExport:
    """A gradebook CSV for Canvas, and what did not go into it."""

    text: str
    """The CSV to import in Canvas (Grades > Import)."""
    unmatched: list[str] = field(default_factory=list)
    """``student: why`` for every student whose score is not in the CSV because who they are is not certain."""
    warnings: list[str] = field(default_factory=list)
    """What the instructor should check before importing (a new assignment, points that differ, skipped scores)."""
    exported: int = 0
    """How many students have a row."""

    def summary(self) -> str:
        """A few lines for the terminal: how many were exported, then every unmatched student and warning."""
        lines = [f"{self.exported} student(s) exported, {len(self.unmatched)} not matched"]
        lines += [f"  not matched: {entry}" for entry in self.unmatched]
        lines += [f"  warning: {entry}" for entry in self.warnings]
        return "\n".join(lines) + "\n"


def parse_assignment(assignment: str) -> tuple[str, str | None]:
    """(title, assignment id) of a gradebook column title ``Title (id)``; the id is None for a title alone.

    CanvasExportError when it is not one line, has no title, or gives the id otherwise than Canvas reads it.
    """
    text = assignment.strip()
    if not text or _CONTROL.search(text):
        raise CanvasExportError(f"assignment {assignment!r}: give the gradebook column's title on one line, "
                                "'Title (id)', e.g. 'Multi-head attention (4242)'")
    found = _TITLE_AND_ID.fullmatch(text)
    if found is not None:
        if not found["title"].strip():
            raise CanvasExportError(f"assignment {assignment!r}: give the title before the id, 'Title ({found['id']})'")
        return found["title"], found["id"]
    if _ID_WRITTEN_OTHERWISE.fullmatch(text):
        raise CanvasExportError(f"assignment {assignment!r}: Canvas reads an assignment id only as 'Title (id)', "
                                "with one space before the parenthesis and digits inside, e.g. "
                                "'Multi-head attention (4242)'")
    return text, None


def _neutral(text: str) -> str:
    """A text cell a spreadsheet will not compute: a leading ``'`` where it would start a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _points(value: float) -> str:
    shown = f"{value:g}"
    return f"{value:f}".rstrip("0").rstrip(".") if "e" in shown else shown


def _rubric_maximum(cards: list[Scorecard], warnings: list[str]) -> float | None:
    maxima = Counter(card.max_score for card in cards)
    if len(maxima) > 1:
        shown = ", ".join(f"{_points(m)} ({n} scorecards)" for m, n in maxima.most_common())
        warnings.append(f"the scorecards have different maximum scores ({shown}): Points Possible says the most "
                        "common; were they graded against different rubrics?")
    return maxima.most_common(1)[0][0] if maxima else None


def _roster_column(roster: Roster, title: str, assignment_id: str | None) -> tuple[str, str] | None:
    """(title, points possible) of the roster's column Canvas would import into: by id, or by exact title without."""
    for column, points in roster.points_possible.items():
        found = _TITLE_AND_ID.fullmatch(column)
        if assignment_id is None and (column == title or (found is not None and found["title"] == title)):
            return column, points
        if assignment_id is not None and found is not None and found["id"] == assignment_id:
            return column, points
    return None


def _assignment_warnings(roster: Roster | None, assignment: str, title: str, assignment_id: str | None,
                         maximum: float | None) -> list[str]:
    if assignment_id is None:
        warnings = [f"{assignment!r} has no assignment id: Canvas puts the column in the assignment of exactly this "
                    "title, or creates a new assignment if none has it; give 'Title (id)' (the id ends the "
                    "assignment's address, .../assignments/<id>) to be sure"]
    else:
        warnings = []
    if roster is None:
        return warnings
    column = _roster_column(roster, title, assignment_id)
    if column is None:
        if assignment_id is not None:
            warnings.append(f"the roster {roster.path.name} has no column for assignment id {assignment_id}: is the id "
                            "right, and the roster exported after the assignment was created?")
        return warnings
    if assignment_id is None and column[0] != title:
        warnings.append(f"the roster's column for it is {column[0]!r}: give that as the assignment to be sure")
    elif column[0] != assignment.strip():
        warnings.append(f"the roster titles assignment {assignment_id} {column[0]!r}; Canvas goes by the id")
    try:
        canvas_points = float(column[1].replace(",", "."))
    except ValueError:
        return warnings
    if maximum is not None and not math.isclose(canvas_points, maximum):
        warnings.append(f"the assignment is worth {_points(canvas_points)} points in Canvas but the rubric's maximum "
                        f"is {_points(maximum)}: make them equal in Canvas (Edit assignment > Points), or the scores "
                        f"will read as out of {_points(canvas_points)}")
    return warnings


def _row(student: CanvasStudent, score: float) -> list[str]:
    cells = [student.name, student.canvas_id, student.sis_user_id, student.sis_login_id, student.section]
    return [_neutral(cell) for cell in cells] + [_points(score)]


def _csv_text(column: str, maximum: float | None, rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*HEADER, column])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", _points(maximum) if maximum is not None else ""])
    writer.writerows(rows)
    return buffer.getvalue()


def _order(roster: Roster | None) -> dict[str, int]:
    return {s.canvas_id: i for i, s in enumerate(roster.students)} if roster else {}


def canvas_csv(scorecards: Mapping[str, Scorecard], assignment: str, roster: Roster | None = None) -> CanvasExport:
    """The gradebook CSV of ``scorecards`` (batch student id -> scorecard) for the column ``assignment``.

    ``assignment`` is the column's title as Canvas's gradebook shows it, ``Title (id)`` (see :func:`parse_assignment`).
    Without a roster, only students whose files Canvas named are exported, as the names say (ID = the user id).
    """
    title, assignment_id = parse_assignment(assignment)
    warnings: list[str] = []
    exportable = {s: c for s, c in scorecards.items() if c.status != "internal_error"}
    warnings += [f"{s}: not exported: the grader failed on it (internal_error), which is not the student's score; "
                 "grade it again with --resume" for s in sorted(set(scorecards) - set(exportable))]
    maximum = _rubric_maximum(list(exportable.values()), warnings)
    warnings = _assignment_warnings(roster, assignment, title, assignment_id, maximum) + warnings
    matching = match_students(exportable, roster)
    order = _order(roster)
    rows: list[tuple[tuple[int, str, str], list[str]]] = []
    for student, canvas_student in matching.matched.items():
        score = exportable[student].score
        if not math.isfinite(score):
            warnings.append(f"{student}: not exported: its score {score} is not a number")
            continue
        rank = order.get(canvas_student.canvas_id, 0)
        rows.append(((rank, canvas_student.name.lower(), canvas_student.canvas_id), _row(canvas_student, score)))
    if roster is None and rows:
        warnings.append("no roster: the rows come from Canvas's file names alone; pass the gradebook exported from "
                        "Canvas as the roster to check every user id against the course")
    if roster is not None and roster.skipped:
        warnings.append(f"left out of the roster {roster.path.name}: {'; '.join(roster.skipped)}")
    text = _csv_text(assignment.strip(), maximum, [row for _, row in sorted(rows)])
    return CanvasExport(text, matching.unmatched, warnings + matching.warnings, len(rows))


def _batch_warnings(grades_dir: Path, done: set[str]) -> list[str]:
    """What says the batch in ``grades_dir`` is not finished."""
    warnings = []
    stray = sorted(p.stem for p in (grades_dir / SCORECARD_DIR).glob("*.json") if p.stem not in done)
    if stray:
        warnings.append(f"{len(stray)} scorecard(s) in {grades_dir / SCORECARD_DIR} are not in the journal (a batch "
                        f"or a regrade not finished?) and are not exported: {', '.join(stray[:5])}"
                        + (" ..." if len(stray) > 5 else ""))
    try:
        pending = json.loads((grades_dir / "summary.json").read_text(encoding="utf-8")).get("pending", 0)
    except (OSError, ValueError, AttributeError):
        pending = 0
    if isinstance(pending, int) and pending > 0:
        warnings.append(f"{pending} submission(s) of the batch are not graded yet; finish it with --resume")
    return warnings


def export_canvas(grades_dir: Path, assignment: str, roster: Path | None = None) -> CanvasExport:
    """The gradebook CSV of the batch graded into ``grades_dir`` (its journaled scorecards), for ``assignment``.

    ``roster`` is the gradebook exported from Canvas (read with :func:`read_roster`). CanvasExportError (RosterError
    included) when the directory holds no batch, the roster cannot be read, or the assignment title is not valid.
    """
    grades_dir = Path(grades_dir)
    parse_assignment(assignment)  # a bad title fails before anything is read
    if not (grades_dir / JOURNAL_NAME).is_file():
        raise CanvasExportError(f"{grades_dir}: holds no graded batch (no {JOURNAL_NAME}); grade one with "
                                f"`harness batch SRC --problem PROBLEM --out {grades_dir}`")
    loaded_roster = read_roster(roster) if roster is not None else None
    journal = Journal(grades_dir)
    cards: dict[str, Scorecard] = {}
    for student in sorted(journal.completed()):
        try:
            cards[student] = journal.load(student)
        except (OSError, ValueError) as exc:
            raise CanvasExportError(f"{journal.scorecard_path(student)}: not a readable scorecard ({exc})") from exc
    export = canvas_csv(cards, assignment, loaded_roster)
    return CanvasExport(export.text, export.unmatched, _batch_warnings(grades_dir, set(cards)) + export.warnings,
                        export.exported)

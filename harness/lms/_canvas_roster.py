"""Reading the gradebook an instructor exports from Canvas (Grades > Export > Export Entire Gradebook).

What Canvas writes (``lib/gradebook_exporter.rb``): a header ``Student, ID, [SIS User ID,] SIS Login ID,
[Integration ID,] [Root Account,] Section`` (``LastName, FirstName, ID, ...`` where the course shows names split),
the course's custom columns, one ``Title (id)`` column per assignment, then the totals; a row of "Manual Posting"
marks when an assignment posts grades by hand; a ``    Points Possible`` row; one row per student, the test student
of Student View ("Student, Test") last. A user setting makes it semicolon-separated, and a spreadsheet that saved it
again may have added a byte-order mark (UTF-8 or UTF-16) or quoting. Only the students' identities are read here;
scores in the file are never used.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_ROSTER_BYTES = 64 << 20
"""The largest gradebook read: a course of 5,000 students and 500 assignments is about 20 MB."""
TEST_STUDENT = "Student, Test"
"""The sortable name Canvas gives the test student of Student View."""
_DELIMITERS = (",", ";", "\t")
_POSTING_MARK = re.compile(r"\s*(Muted|Manual Posting.*)?\s*", re.IGNORECASE)
_CANVAS_USER_ID = re.compile(r"[0-9]+")
_RESERVED = {"Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Integration ID",
             "Root Account", "Section"}


class _Reader(Protocol):
    """What is used of a csv reader (whose own type is private to the csv module)."""

    line_num: int

    def __next__(self) -> list[str]: ...


class CanvasExportError(ValueError):
    """A Canvas export cannot be made as asked; the message names the file, line or value and says why."""


class RosterError(CanvasExportError):
    """The roster is not a Canvas gradebook export that can be read; the message names the file and the line."""


@dataclass(frozen=True)
class RosterStudent:
    """One student row of the gradebook."""

    name: str
    """The sortable name as the gradebook shows it (``Smith, John``)."""
    canvas_id: str
    """Canvas's user id (the ``ID`` column): what Canvas matches an imported row by first."""
    sis_user_id: str
    """The institution's student id, "" where the export has none."""
    sis_login_id: str
    """The login (often an email address), "" where the export has none."""
    section: str
    """The section(s) the student is in."""
    line: int
    """The line of the file the row starts on."""


@dataclass(frozen=True)
class Roster:
    """The students of a Canvas gradebook export, and what its columns say about the assignments."""

    path: Path
    """The file read."""
    students: tuple[RosterStudent, ...]
    """The students, in the file's order (the test student left out)."""
    points_possible: dict[str, str]
    """Every column after the students' own, by title, with its cell of the Points Possible row ("" when none)."""
    skipped: tuple[str, ...] = ()
    """The rows that are not students, said as ``line N: why`` (the test student)."""


def _text(path: Path) -> str:
    """The file's text: UTF-8 with or without a byte-order mark, or UTF-16 with one; RosterError otherwise."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_ROSTER_BYTES + 1)
    except OSError as exc:
        raise RosterError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"{path}: larger than {MAX_ROSTER_BYTES >> 20} MiB, which no Canvas gradebook export is")
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(f"{path}, line {line}: not {encoding.upper().removesuffix('-SIG')} text; export the "
                          "gradebook from Canvas again, or save it as \"CSV UTF-8\"") from exc


def _delimiter(path: Path, header_line: str) -> str:
    """The delimiter under which the header has an ``ID`` column of its own."""
    for delimiter in _DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        if "ID" in (field.strip() for field in fields):
            return delimiter
    raise RosterError(f"{path}, line 1: not a Canvas gradebook export: the header has no ID column "
                      f"(it starts {header_line[:80]!r}); export it with Grades > Export > Export Entire Gradebook")


@dataclass(frozen=True)
class _Columns:
    """Where the gradebook keeps what identifies a student."""

    name: int
    first_name: int | None
    canvas_id: int
    sis_user_id: int | None
    sis_login_id: int | None
    section: int | None
    width: int

    @staticmethod
    def of(path: Path, header: list[str]) -> _Columns:
        titles = [title.strip() for title in header]

        def at(title: str) -> int | None:
            return titles.index(title) if title in titles else None

        first_name = at("FirstName") if at("Student") is None else None
        name = at("Student") if first_name is None else at("LastName")
        if name is None:
            raise RosterError(f"{path}, line 1: not a Canvas gradebook export: the header has no Student column "
                              "(nor LastName and FirstName)")
        canvas_id = at("ID")
        assert canvas_id is not None  # the delimiter was chosen for it
        return _Columns(name, first_name, canvas_id, at("SIS User ID"), at("SIS Login ID"), at("Section"),
                        len(titles))


def _cell(row: list[str], index: int | None) -> str:
    value = row[index].strip() if index is not None and index < len(row) else ""
    # Canvas writes a name that starts with "=" as ="name", so that a spreadsheet shows it rather than compute it.
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1]
    return value


def _student(path: Path, row: list[str], columns: _Columns, line: int) -> RosterStudent:
    name = _cell(row, columns.name)
    if columns.first_name is not None:
        name = ", ".join(part for part in (name, _cell(row, columns.first_name)) if part)
    canvas_id = _cell(row, columns.canvas_id)
    if not _CANVAS_USER_ID.fullmatch(canvas_id):
        raise RosterError(f"{path}, line {line}: the ID {canvas_id!r} of {name!r} is not a Canvas user id (a number)")
    return RosterStudent(name, canvas_id, _cell(row, columns.sis_user_id), _cell(row, columns.sis_login_id),
                         _cell(row, columns.section), line)


def _assignment_titles(header: list[str], columns: _Columns) -> list[tuple[int, str]]:
    """(index, title) of the columns after the students' own: custom columns, assignments, totals."""
    last_own = max(i for i in (columns.name, columns.first_name, columns.canvas_id, columns.sis_user_id,
                               columns.sis_login_id, columns.section) if i is not None)
    return [(i, title.strip()) for i, title in enumerate(header)
            if i > last_own and title.strip() and title.strip() not in _RESERVED]


def _rows(path: Path, reader: _Reader) -> Iterator[tuple[int, list[str]]]:
    """(line it starts on, row) of every row; RosterError names the line CSV cannot read."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RosterError(f"{path}, line {reader.line_num}: not readable as CSV ({exc})") from exc
        yield line, row


def _is_student_row(row: list[str], columns: _Columns) -> bool:
    # Blank rows and the row that marks the assignments whose grades are posted by hand are not students.
    return not all(_POSTING_MARK.fullmatch(cell) for cell in row) and "Points Possible" not in _cell(row, columns.name)


def read_roster(path: Path) -> Roster:
    """The students of a Canvas gradebook export (see the module docstring); RosterError names the file and line."""
    path = Path(path)
    text = _text(path)
    if not text.strip():
        raise RosterError(f"{path}: empty; export the gradebook from Canvas again")
    delimiter = _delimiter(path, text.split("\n", 1)[0].rstrip("\r"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = _rows(path, reader)
    header = next(rows)[1]
    columns = _Columns.of(path, header)
    students: dict[str, RosterStudent] = {}
    skipped: list[str] = []
    points_row: list[str] = []
    for line, row in rows:
        if "Points Possible" in _cell(row, columns.name):
            points_row = row
        if not _is_student_row(row, columns):
            continue
        student = _student(path, row, columns, line)
        if student.name == TEST_STUDENT:
            skipped.append(f"line {line}: the test student of Student View ({TEST_STUDENT})")
        elif student.canvas_id in students:
            raise RosterError(f"{path}, line {line}: Canvas user id {student.canvas_id} is already the student of "
                              f"line {students[student.canvas_id].line}")
        else:
            students[student.canvas_id] = student
    if not students:
        raise RosterError(f"{path}: no student rows; export the gradebook of the course from Canvas again")
    points = {title: _cell(points_row, i) for i, title in _assignment_titles(header, columns)}
    return Roster(path, tuple(students.values()), points, tuple(skipped))

"""Who in Canvas each student of a batch is: matched on what Canvas itself wrote, never guessed.

A batch names a student after their file or folder (``harness.batch.inputs``). The Canvas user id comes first:

1. a student id that is a whole Canvas download name (``smithjohn_late_12345_67890_attention``, from a batch that
   kept one student per file) carries it;
2. a student id ``<name>_<user id>`` (the id discovery gives a Canvas user's files) carries it when the file graded
   is named by Canvas with that user id, or, for a student whose files were not graded (too large, a link), when
   the roster's student of that id has that name: a file of another naming (``hw_2.py``) is never read as user 2.

A student with a Canvas user id is that roster student or no one (a user id missing from the roster is reported,
not looked up by name). Any other student is looked up in the roster by SIS Login ID (or the part of an email
login before the ``@``), SIS User ID, ID or sortable name, compared as a batch would clean them and ignoring case
and accents; exactly one roster student must answer. Two batch students that reach the same Canvas student are
both reported: neither score is exported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

from ..batch._canvas_names import ascii_folded, canvas_name_part, parse_canvas_file_name, parse_student_key
from ..batch.inputs import student_id_of
from ..models import Scorecard
from ._canvas_roster import Roster, RosterStudent


@dataclass(frozen=True)
class CanvasStudent:
    """The Canvas student a row of the export is for."""

    name: str
    """The sortable name (from the roster), or the name part of Canvas's file names without one."""
    canvas_id: str
    """Canvas's user id."""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass
class Matching:
    """The outcome of matching a batch's students to Canvas students."""

    matched: dict[str, CanvasStudent] = field(default_factory=dict)
    """Batch student id -> the Canvas student it is."""
    unmatched: list[str] = field(default_factory=list)
    """``student: why`` for every student that is not exported."""
    warnings: list[str] = field(default_factory=list)
    """Matches worth a look (a group submission under a member's id)."""


def _key(value: str) -> str:
    """``value`` as a batch would clean it, in lower case; "" when nothing of it survives the cleaning."""
    cleaned = student_id_of(value)
    return "" if cleaned == "unnamed" and value.strip().lower() != "unnamed" else cleaned.lower()


def _keys(value: str) -> set[str]:
    return {key for form in {value, ascii_folded(value)} if (key := _key(form))}


def _name_keys(name: str) -> set[str]:
    return _keys(name) | _keys(canvas_name_part(name))


def _lookup_keys(student: RosterStudent) -> set[str]:
    keys = _keys(student.sis_login_id) | _keys(student.sis_user_id) | _keys(student.canvas_id)
    if "@" in student.sis_login_id:
        keys |= _keys(student.sis_login_id.split("@", 1)[0])
    return keys | _name_keys(student.name)


def _from_roster(student: RosterStudent) -> CanvasStudent:
    return CanvasStudent(student.name, student.canvas_id, student.sis_user_id, student.sis_login_id, student.section)


@dataclass(frozen=True)
class _Identity:
    """What Canvas's file names say about a batch student."""

    name: str
    user: str
    confirmed: bool
    """Whether a Canvas-named file says so; otherwise only a roster that agrees on the name may confirm it."""


def _identity(student: str, card: Scorecard) -> _Identity | None:
    whole = parse_canvas_file_name(student)
    if whole is not None:
        return _Identity(whole.name, whole.user, True)
    graded = parse_canvas_file_name(PurePath(card.submission.path).name)
    if graded is not None and graded.anonymous and student_id_of(graded.student_key) == student:
        return _Identity("", graded.user, True)
    key = parse_student_key(student)
    if key is None:
        return None
    if graded is not None and graded.user == key[1]:
        return _Identity(graded.name, graded.user, True)
    if card.submission.path == student:  # nothing was graded: the scorecard names no file
        return _Identity(key[0], key[1], False)
    return None


class _Matcher:
    def __init__(self, roster: Roster | None) -> None:
        self.roster = roster
        self.by_id = {s.canvas_id: s for s in roster.students} if roster else {}
        self.by_key: dict[str, list[RosterStudent]] = defaultdict(list)
        for roster_student in roster.students if roster else ():
            for key in _lookup_keys(roster_student):
                self.by_key[key].append(roster_student)

    def by_canvas_id(self, student: str, identity: _Identity, matching: Matching) -> CanvasStudent | None:
        if self.roster is None:
            if identity.confirmed:
                return CanvasStudent(identity.name, identity.user)
            matching.unmatched.append(f"{student}: no file of it was graded, so no Canvas file name confirms user id "
                                      f"{identity.user}; pass the gradebook as the roster to match it")
            return None
        found = self.by_id.get(identity.user)
        if found is None:
            matching.unmatched.append(f"{student}: Canvas user id {identity.user} is not in the roster "
                                      f"{self.roster.path.name} (a student who left the course, or another course?)")
            return None
        agrees = bool(_keys(identity.name) & _name_keys(found.name))
        if not identity.confirmed and not agrees:
            matching.unmatched.append(f"{student}: no file of it was graded, and the roster's user {identity.user} is "
                                      f"{found.name!r}, whose name differs: not matched")
            return None
        if not agrees:
            matching.warnings.append(f"{student}: matched by Canvas user id {identity.user} to {found.name!r}, "
                                     f"although the file names say {identity.name!r} (a group submission, or a "
                                     "changed name)")
        return _from_roster(found)

    def by_roster(self, student: str, matching: Matching) -> CanvasStudent | None:
        if self.roster is None:
            matching.unmatched.append(f"{student}: not in Canvas's download naming (<name>_<user id>_<file id>_<file>)"
                                      "; pass the gradebook as the roster to match it by login or name")
            return None
        found = {s.canvas_id: s for s in self.by_key.get(student.lower(), [])}
        if len(found) == 1:
            return _from_roster(next(iter(found.values())))
        if found:
            names = ", ".join(f"{s.name!r} (ID {s.canvas_id})" for s in found.values())
            matching.unmatched.append(f"{student}: ambiguous, it could be any of {names}")
        else:
            matching.unmatched.append(f"{student}: no roster student has this SIS Login ID, SIS User ID, ID or name")
        return None


def match_students(scorecards: Mapping[str, Scorecard], roster: Roster | None) -> Matching:
    """The Canvas student of every batch student that can be told for certain (see the module docstring)."""
    matching = Matching()
    matcher = _Matcher(roster)
    reached: dict[str, list[str]] = defaultdict(list)
    for student in sorted(scorecards):
        card = scorecards[student]
        identity = _identity(student, card)
        if identity is not None and identity.user.lower().startswith("anon_"):
            matching.unmatched.append(f"{student}: Canvas graded the assignment anonymously, so its file names hold "
                                      "no user id; enter this score in SpeedGrader")
            continue
        found = (matcher.by_canvas_id(student, identity, matching) if identity is not None
                 else matcher.by_roster(student, matching))
        if found is not None:
            matching.matched[student] = found
            reached[found.canvas_id].append(student)
    for canvas_id, students in reached.items():
        if len(students) > 1:
            name = matching.matched[students[0]].name
            for student in students:
                del matching.matched[student]
                others = ", ".join(s for s in students if s != student)
                matching.unmatched.append(f"{student}: {others} also match Canvas user {canvas_id} ({name!r}); "
                                          "none of them is exported")
    return matching

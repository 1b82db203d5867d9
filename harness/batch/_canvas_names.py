"""The names Canvas gives the files of its "Download Submissions" zip, read back.

Canvas (``lib/content_zipper.rb``) puts every uploaded file of every student side by side in one flat zip, each named
``<name>[_LATE]_<user id>_<file id>_<original name>``:

- ``<name>`` is the student's sortable name ("Smith, John") in lower case with every character that is not a letter,
  a digit or ``_`` removed: ``smithjohn``; accented letters are letters and stay (``müllerjosé``). For a group
  assignment graded as a group it is the group's name, beside the user id of one of its members. With anonymous
  grading there is no name and the id is ``anon_<anonymous id>``.
- ``LATE`` (``late`` in older zips) marks a submission made after the due date.
- the file id numbers the upload: a later upload has a higher one.
- the original name is the file's name in the student's Canvas files, where Canvas appends ``-1``, ``-2`` ... when a
  student uploads a name they uploaded before (a resubmission): ``attention-1.py``.

Canvas keeps ``_<digits>_`` out of the name part, because it reads the first such number as the user id when graded
files are uploaded back; the parsing here does the same (the name part is the shortest that fits).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CANVAS_FILE = re.compile(
    r"(?:(?P<anon_late>late_)?(?P<anon>anon_[A-Za-z0-9]+)|(?P<name>[^\s/\\]+?)(?P<late>_late)?_(?P<user>\d+))"
    r"_(?P<file_id>\d+)_(?P<original>.+)",
    re.IGNORECASE | re.DOTALL,
)
_STUDENT_KEY = re.compile(r"(?P<name>[^\s/\\]+?)(?:_late)?_(?P<user>\d+)", re.IGNORECASE)
_COPY_SUFFIX = re.compile(r"(?P<stem>.+?)-(?P<copy>\d+)(?P<extension>\.[^.]*)?")


def ascii_folded(text: str) -> str:
    """``text`` with the accents taken off its letters (``müllerjosé`` -> ``mullerjose``); other characters kept."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def canvas_name_part(sortable_name: str) -> str:
    """The name part Canvas derives from a sortable name: ``Smith, John`` -> ``smithjohn``."""
    name = re.sub(r"_(\d+)_", r"\1", sortable_name)
    return re.sub(r"[^\w]", "", unicodedata.normalize("NFC", name), flags=re.UNICODE).lower()


@dataclass(frozen=True)
class CanvasFileName:
    """What the name of one file in a Canvas download zip says."""

    name: str
    """The name part as Canvas wrote it (``smithjohn``, a group's name); "" with anonymous grading."""
    user: str
    """The Canvas user id (digits), or ``anon_<id>`` with anonymous grading."""
    late: bool
    """Whether Canvas marked the submission late."""
    file_id: int
    """Canvas's id of the uploaded file: a later upload has a higher one."""
    original: str
    """The file's own name, as the student uploaded it (with Canvas's ``-N`` for a repeated name)."""

    @property
    def anonymous(self) -> bool:
        """Whether Canvas hid the student (anonymous grading): there is then no user id to match."""
        return self.user.lower().startswith("anon_")

    @property
    def base_name(self) -> str:
        """The original name without Canvas's ``-N`` copy suffix: the name shared by a file's resubmissions."""
        found = _COPY_SUFFIX.fullmatch(self.original)
        return found["stem"] + (found["extension"] or "") if found else self.original

    @property
    def copy(self) -> int:
        """Canvas's copy number of the original name (``attention-2.py`` -> 2), 0 for the first upload."""
        found = _COPY_SUFFIX.fullmatch(self.original)
        return int(found["copy"]) if found else 0

    @property
    def student_key(self) -> str:
        """The student's name in a batch before cleaning: the name part, unaccented, and the user id."""
        return f"{ascii_folded(self.name)}_{self.user}" if self.name else self.user


def parse_canvas_file_name(file_name: str) -> CanvasFileName | None:
    """The parts of a file name in Canvas's naming, or None when the name is not in it."""
    found = _CANVAS_FILE.fullmatch(file_name)
    if found is None:
        return None
    if found["anon"]:
        return CanvasFileName("", found["anon"], bool(found["anon_late"]), int(found["file_id"]), found["original"])
    return CanvasFileName(found["name"], found["user"], bool(found["late"]), int(found["file_id"]), found["original"])


def parse_student_key(student: str) -> tuple[str, str] | None:
    """(name part, user id) of a batch student id made from a Canvas name (``smithjohn_12345``), or None."""
    found = _STUDENT_KEY.fullmatch(student)
    return (found["name"], found["user"]) if found else None

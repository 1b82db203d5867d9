"""A submission's source as the harness grades it and as reports show it: a ``.py`` file, or a Jupyter notebook.

A notebook is graded as the Python of its code cells, in order, read leniently as Jupyter reads it. IPython's own
syntax (line magics ``%time``, cell magics ``%%bash``, shell escapes ``!pip install``, ``x = !ls``, help ``obj?``) is
not Python, so each such line is replaced, keeping the cell's line count: a line becomes ``pass`` at its own
indentation (a block stays a block), the body of a cell magic becomes comments. A ``# cell N`` line before each cell
lets :class:`Script` map a line of the graded script back to its cell and line, which is how feedback cites a
notebook. Cells are numbered from 1, counting every cell (markdown too), as a student counts them scrolling down
the notebook.

Everything read here is the candidate's: sizes are checked on the metadata before a byte is read, and a file that is
not UTF-8 or not a notebook is a :class:`SourceError` that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runners.agent.wire import depth_within

from ._submission_size import MAX_SUBMISSION_BYTES, over_limit_reason

NOTEBOOK_SUFFIX = ".ipynb"
SOURCE_SUFFIXES = (".py", NOTEBOOK_SUFFIX)
"""The kinds of file a submission may be, in the order a folder's files are preferred."""
MAX_NOTEBOOK_DEPTH = 64
"""Deepest nesting of arrays and objects a notebook may have: Jupyter's own need about eight levels."""
MAX_NOTES = 8
"""Most removed IPython lines named one by one in a scorecard (the rest are counted)."""

_LINE_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?:%|!|\?)")
_ASSIGNED_MAGIC = re.compile(r"^(?P<indent>[ \t]*)[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")
_HELP_SUFFIX = re.compile(r"^(?P<indent>[ \t]*)[A-Za-z_][\w.]*\?{1,2}\s*$")
_CELL_MAGIC = re.compile(r"^\s*%%(?P<name>\w+)")
_PYTHON_BODY_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
"""Cell magics whose body is Python: the body is graded, only the magic's own line goes."""
_IPYTHON_STAND_INS = {
    "display": ["def display(*objects, **options):  # IPython's: a notebook's output is not graded",
                "    return None"],
    "get_ipython": ["class _NotebookShellStandIn:  # IPython's shell: its magics do nothing here",
                    "    def __getattr__(self, name):",
                    "        return lambda *args, **kwargs: None",
                    "def get_ipython():",
                    "    return _NotebookShellStandIn()"],
}
"""What a notebook's code may call without importing it, defined (to do nothing) where the code calls it."""
CITATION = re.compile(r"\b(?:cell (?P<cell>\d+), )?line (?P<line>\d+)\b")
"""How feedback cites a line: "line 12", or "cell 3, line 2" in a notebook."""


class SourceError(ValueError):
    """A submission file cannot be read as source: too large, not UTF-8, or not a valid notebook."""


@dataclass(frozen=True)
class SourceSection:
    """A run of a submission's lines as the student wrote them: the whole of a .py, or one code cell."""

    label: str
    """``""`` for a .py file; ``"cell 3"`` for a notebook's third cell."""
    cell: int | None
    """The notebook cell's number (from 1, counting every cell); None for a .py file."""
    lines: list[str]
    """The lines, without their line breaks."""


@dataclass(frozen=True)
class Removed:
    """An IPython line that is not Python, replaced in the graded script."""

    cell: int
    line: int
    text: str


@dataclass
class Script:
    """The Python graded for a submission, and where each of its lines came from."""

    text: str
    origins: list[tuple[int, int] | None] = field(default_factory=list)
    """Per line of ``text`` (index 0 is line 1): the (cell, line) it came from, None for a ``# cell N`` line."""
    removed: list[Removed] = field(default_factory=list)

    def origin(self, line: int) -> tuple[int, int] | None:
        """The notebook (cell, line) of the script's ``line``, or None where the script made the line up."""
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return None

    def cite(self, text: str) -> str:
        """``text`` with each "line N" of the script rewritten as "cell C, line L" of the notebook."""
        def replace(match: re.Match[str]) -> str:
            if match.group("cell"):
                return match.group(0)
            origin = self.origin(int(match.group("line")))
            return match.group(0) if origin is None else f"cell {origin[0]}, line {origin[1]}"
        return CITATION.sub(replace, text)

    def with_stand_ins(self) -> Script:
        """The script with IPython's ``display`` and ``get_ipython`` defined first, where its code uses them.

        A notebook has these without importing them; graded as a module, a cell that calls ``display(out.shape)``
        would stop it with a NameError. Here they do nothing: what a notebook shows is not graded. The lines added
        come from no cell, so nothing cites them.
        """
        stand_ins = [line for name, lines in _IPYTHON_STAND_INS.items()
                     if re.search(rf"\b{name}\b", self.text) for line in lines]
        if not stand_ins:
            return self
        made_up: list[tuple[int, int] | None] = [None] * len(stand_ins)
        return Script("\n".join(stand_ins) + "\n" + self.text, made_up + self.origins, self.removed)

    def note(self) -> str:
        """What a student reads about the lines removed from their notebook ("" when none was)."""
        if not self.removed:
            return ""
        named = "; ".join(f"cell {r.cell}, line {r.line}: {_shorten(r.text)}" for r in self.removed[:MAX_NOTES])
        more = len(self.removed) - MAX_NOTES
        return (f"Notebook: its code cells were graded in order; {len(self.removed)} IPython line"
                f"{'s' if len(self.removed) != 1 else ''} (magics, shell escapes) are not Python and were left out: "
                f"{named}" + (f"; and {more} more" if more > 0 else "") + ".")


def is_notebook(path: Path | str) -> bool:
    """Whether ``path`` names a Jupyter notebook (by its suffix, in any case)."""
    return str(path).lower().endswith(NOTEBOOK_SUFFIX)


def is_source_name(name: str) -> bool:
    """Whether a file called ``name`` may be a submission (a .py or a .ipynb)."""
    return name.lower().endswith(SOURCE_SUFFIXES) and name.lower() not in SOURCE_SUFFIXES


def read_text(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> str:
    """The file's text, its size checked before it is read; errors name the file."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise SourceError(f"{path.name} {over_limit_reason(size, max_bytes)}")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise SourceError(f"{path.name} {over_limit_reason(len(data), max_bytes)}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc


def notebook_cells(text: str, name: str = "notebook") -> list[tuple[int, str, list[str]]]:
    """Each cell of a notebook's JSON as (number, type, lines).

    Read as Jupyter reads it: a notebook whose cells are legible is graded even where it strays from nbformat's
    schema (a code cell without ``outputs``, an execution count written as a string, an output of an unknown
    kind), as Jupyter opens such a file with a warning. Only the structure grading needs is required: a JSON object
    with a list of cells, each with a type and its text. Formats before 4 are converted with nbformat.
    """
    notebook = _notebook_json(text, name)
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise SourceError(f"{name}: not a valid Jupyter notebook: it has no list of cells")
    read = []
    for number, cell in enumerate(cells, start=1):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(kind, str) or not isinstance(source, str):
            raise SourceError(f"{name}: not a valid Jupyter notebook: cell {number} has no cell_type and text source")
        read.append((number, kind, source.splitlines()))
    return read


def _notebook_json(text: str, name: str) -> dict[str, Any]:
    """The notebook's JSON object, in format 4's layout; its nesting is bounded before it is parsed."""
    # json.loads recurses once per level: a hostile file of brackets is refused before it can exhaust the stack.
    depth = depth_within(text.encode("utf-8"), MAX_NOTEBOOK_DEPTH)
    if depth > MAX_NOTEBOOK_DEPTH:
        raise SourceError(f"{name}: not a valid Jupyter notebook: its JSON nests {depth} levels deep, "
                          f"over the cap of {MAX_NOTEBOOK_DEPTH}")
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; so is an integer of huge length
        raise SourceError(f"{name}: not a valid Jupyter notebook: not JSON: {_shorten(str(exc), 200)}") from exc
    if not isinstance(notebook, dict):
        raise SourceError(f"{name}: not a valid Jupyter notebook: its JSON is not an object")
    major = notebook.get("nbformat")
    if isinstance(major, int) and major < 4 and "cells" not in notebook:
        notebook = _converted(notebook, name)
    return notebook


def _converted(notebook: dict[str, Any], name: str) -> dict[str, Any]:
    """An nbformat 3 (or older) notebook in format 4's layout, converted by nbformat."""
    import nbformat  # imported here: only old notebooks need it, and it is slow to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns of what it repairs; the grade does not depend on it
            converted = nbformat.convert(nbformat.from_dict(notebook), 4)
        return dict(converted)
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError, nbformat.ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{name}: not a valid Jupyter notebook (format {notebook.get('nbformat')}): "
                          f"{_shorten(first, 200)}") from exc


def notebook_script(text: str, name: str = "notebook") -> Script:
    """The Python graded for a notebook: its code cells in order, IPython lines replaced, every line's origin kept."""
    script_lines: list[str] = []
    origins: list[tuple[int, int] | None] = []
    removed: list[Removed] = []
    for number, kind, lines in notebook_cells(text, name):
        if kind != "code":
            continue
        script_lines.append(f"# cell {number}")
        origins.append(None)
        for index, line in enumerate(_python_lines(lines, number, removed), start=1):
            script_lines.append(line)
            origins.append((number, index))
    return Script("\n".join(script_lines) + "\n", origins, removed)


def _python_lines(lines: list[str], cell: int, removed: list[Removed]) -> list[str]:
    # IPython drops a cell's leading blank lines before it looks for a cell magic on the first line.
    first = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    magic = _CELL_MAGIC.match(lines[first]) if first < len(lines) else None
    if magic:
        blank, body = lines[:first], lines[first + 1:]
        removed.append(Removed(cell, first + 1, lines[first].strip()))
        if magic.group("name") in _PYTHON_BODY_MAGICS:
            return [*blank, "pass", *body]
        removed.extend(Removed(cell, n, line.strip()) for n, line in enumerate(body, start=first + 2) if line.strip())
        return [*blank, "# (not Python: %%" + magic.group("name") + " cell)"] + ["#" for _ in body]
    out = []
    continued = False
    for number, line in enumerate(lines, start=1):
        match = None if continued else (_LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line)
                                         or _HELP_SUFFIX.match(line))
        if match:
            removed.append(Removed(cell, number, line.strip()))
            out.append(match.group("indent") + "pass")
        else:
            out.append(line)
        continued = line.rstrip().endswith("\\") and not line.lstrip().startswith("#")
    return out


def python_text(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> str:
    """The Python that is graded for ``path``: a .py as it is, a notebook's code cells as :func:`notebook_script`."""
    text = read_text(path, max_bytes)
    return notebook_script(text, path.name).text if is_notebook(path) else text


def read_sections(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> list[SourceSection]:
    """The submission as the student wrote it: one section for a .py, one per code cell for a notebook."""
    text = read_text(path, max_bytes)
    if not is_notebook(path):
        return [SourceSection("", None, text.splitlines())]
    return [SourceSection(f"cell {number}", number, lines)
            for number, kind, lines in notebook_cells(text, path.name) if kind == "code"]


def cited_lines(text: str) -> set[tuple[int | None, int]]:
    """The lines a feedback text cites: "line 12" is (None, 12), "cell 3, line 2" is (3, 2)."""
    found: set[tuple[int | None, int]] = set()
    for match in CITATION.finditer(text):
        found.add((int(match.group("cell")) if match.group("cell") else None, int(match.group("line"))))
    return found


def sections_if_unchanged(path: Path, sha256: str) -> list[SourceSection] | None:
    """The sections of ``path`` while its bytes still have this SHA-256 (the file graded), else None.

    A link, a file over the size cap, or one that changed since grading shows no source: its lines would not be the
    ones the feedback cites.
    """
    if not sha256:
        return None
    try:
        if path.is_symlink() or path.stat().st_size > MAX_SUBMISSION_BYTES:
            return None
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            return None
        return read_sections(path)
    except (SourceError, OSError):
        return None


def verified_sections(scorecard: Any) -> list[SourceSection] | None:
    """The sections of the scorecard's submission while that file is still the one graded (same SHA-256), else None."""
    return sections_if_unchanged(Path(scorecard.submission.path), scorecard.submission.sha256)


SOURCES_DIR = "sources"
"""The folder of a batch's output that keeps each graded file as it was submitted."""


def stored_source(grades_dir: Path, student: str) -> Path | None:
    """The file a batch graded for ``student`` (``GRADES_DIR/sources/<student>.py`` or ``.ipynb``), if it kept one."""
    for suffix in SOURCE_SUFFIXES:
        candidate = Path(grades_dir) / SOURCES_DIR / f"{student}{suffix}"
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Finding the submissions of a batch: a folder of .py or .ipynb files, a folder of per-student folders, or an LMS zip.

Everything under the input is the students' doing, so discovery trusts none of it:

- links are never followed: a symbolic link (to a file or a folder) or a hard link shared with another file is
  refused, so a student cannot get a host file or the reference solution graded as their work;
- a file's size is checked from its metadata before any byte is read (``MAX_SOURCE_BYTES``), and the parsing that
  picks a student's file among several is bounded (size, total bytes per student, and the parser's own failures:
  deep nesting raises RecursionError or MemoryError, which are caught);
- whatever is wrong with one student's files becomes that student's ``refusal`` (a ``compile_error`` scorecard that
  says why), never an error of the batch.

Zip archives are checked before anything is extracted: absolute paths, ``..`` components, links and special files
are refused, as is an archive with too many members or too many bytes to decompress. Only the source files (.py,
.ipynb) within the size cap are decompressed; a larger one (however well it compresses) is never inflated and
becomes its student's refusal, as in a folder.

Canvas's "Download Submissions" zip is flat: every file of every student side by side, named
``<name>[_LATE]_<user id>_<file id>_<original name>`` (see ``_canvas_names.py``). The files of one Canvas user are
one student, ``<name>_<user id>``, graded as a per-student folder is (the file that defines the problem's entry);
of a file uploaded again (``attention-1.py`` beside ``attention.py``) only the latest upload counts. Files in any
other naming keep one student per file.
"""

from __future__ import annotations

import ast
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .._submission_size import MAX_SUBMISSION_BYTES, over_limit_message, over_limit_reason
from ..submission_source import SourceError, is_notebook, is_source_name, notebook_script
from ._canvas_names import CanvasFileName, parse_canvas_file_name

MAX_MEMBERS = 20_000
MAX_SOURCE_BYTES = MAX_SUBMISSION_BYTES
"""The largest submission file that is read at all (the same cap as `harness grade`)."""
MAX_TOTAL_BYTES = 1 << 30
"""The most an archive may make us decompress in all."""
MAX_PARSE_BYTES_PER_STUDENT = 16 << 20
"""How much source is parsed to find the file that defines the class, per student."""
MAX_ENTRIES_PER_STUDENT = 10_000
MAX_DEPTH = 32
_IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*|__pycache__)(/|$)")


class InputError(Exception):
    """The batch input cannot be used; the message names the file or member and why."""


@dataclass(frozen=True)
class Submission:
    """One student's submission: who, and which file (None when there is none to grade)."""

    student: str
    path: Path | None
    note: str = ""
    refusal: str = ""
    """Why the student's files were refused rather than absent (a link, a file over the cap); only when path is None."""


def source_stem(name: str) -> str:
    """``"ada.py"`` -> ``"ada"``, ``"ada.ipynb"`` -> ``"ada"``: the name of a source file without its suffix."""
    for suffix in (".py", ".ipynb"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def student_id_of(name: str) -> str:
    """The student id a file or folder name gives: every run of other characters than ``A-Za-z0-9._-`` becomes ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "unnamed"


def _refused_reason(refused: dict[str, str], path: str, shown: str) -> str:
    """The reason extraction refused this file (its name first), or ""."""
    reason = refused.get(os.path.normpath(path))
    return f"{shown} {reason}" if reason else ""


def _refusal_of(shown: str, info: os.stat_result, max_bytes: int) -> str:
    """Why a file, described by its own lstat, must not be read; "" when it may."""
    if stat.S_ISLNK(info.st_mode):
        return f"{shown} is a symbolic link, which the grader does not follow"
    if not stat.S_ISREG(info.st_mode):
        return f"{shown} is not a regular file"
    if info.st_nlink > 1:
        # A hard link is indistinguishable from the file it shares, which may be anything on the host.
        return f"{shown} is a hard link shared with {info.st_nlink - 1} other path(s), which the grader does not read"
    if info.st_size > max_bytes:
        return over_limit_message(shown, info.st_size, max_bytes)
    return ""


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing (OSError) a link swapped in since it was listed or a file grown past the cap."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(f"{path.name} grew past the size limit")
    return data


def _defines(path: Path, class_name: str, max_bytes: int) -> bool:
    """Whether the file defines ``class_name`` (a class or a function) at module level.

    Never raises for what the file holds.
    """
    try:
        text = _read_capped(path, max_bytes).decode("utf-8", errors="replace")
        if is_notebook(path):
            text = notebook_script(text, path.name).text
    except (OSError, SourceError):
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        # Unparseable (a syntax error, or nesting deep enough to exhaust the parser): a line-anchored search still
        # says whether the student meant this file, which then gets its own compile_error feedback.
        return re.search(rf"^(class|def)\s+{re.escape(class_name)}\b", text, re.MULTILINE) is not None
    return any(isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == class_name for node in tree.body)


@dataclass(frozen=True)
class _Candidate:
    path: Path
    parts: tuple[str, ...]
    size: int


def _scan_folder(folder: Path, max_bytes: int, refused: dict[str, str]) -> tuple[list[_Candidate], list[str]]:
    """A student folder's readable .py files, sorted by relative path, and the reasons others were refused.

    Walks with lstat only and never descends into a linked folder; bounded in depth and in entries.
    """
    usable: list[_Candidate] = []
    refusals: list[str] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(folder, ())]
    entries_seen = 0
    while pending:
        directory, parts = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            refusals.append(f"{'/'.join((folder.name, *parts))}/ cannot be listed ({exc.strerror or exc})")
            continue
        for entry in entries:
            relative = (*parts, entry.name)
            if _IGNORED.search("/".join(relative)):
                continue
            entries_seen += 1
            if entries_seen > MAX_ENTRIES_PER_STUDENT:
                refusals.append(
                    f"{folder.name}/ holds more than {MAX_ENTRIES_PER_STUDENT} entries; the rest were not looked at"
                )
                pending.clear()
                break
            shown = "/".join((folder.name, *relative))
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                if len(relative) < MAX_DEPTH:
                    pending.append((Path(entry.path), relative))
                else:
                    refusals.append(f"{shown}/ is nested more than {MAX_DEPTH} folders deep")
                continue
            if not is_source_name(entry.name):
                continue  # other files, and links to anything that is not named like a source file, are not ours
            reason = _refused_reason(refused, entry.path, shown) or _refusal_of(shown, info, max_bytes)
            if reason:
                refusals.append(reason)
            else:
                usable.append(_Candidate(Path(entry.path), relative, info.st_size))
    usable.sort(key=lambda c: c.parts)
    return usable, refusals


def _summarise(refusals: list[str]) -> str:
    more = f" (and {len(refusals) - 1} more refused)" if len(refusals) > 1 else ""
    return refusals[0] + more


def _pick_file(folder: Path, class_name: str, max_bytes: int, refused: dict[str, str]) -> tuple[Path | None, str, str]:
    """(file to grade, note, refusal) for one student's folder."""
    usable, refusals = _scan_folder(folder, max_bytes, refused)
    if not usable and not refusals:
        return None, f"no Python file in {folder.name}/", ""
    return _choose(usable, refusals, class_name, max_bytes)


def _choose(usable: list[_Candidate], refusals: list[str], class_name: str,
            max_bytes: int) -> tuple[Path | None, str, str]:
    """(file to grade, note, refusal) among one student's files, in their order of preference."""
    if not usable:
        return None, "", _summarise(refusals)
    if len(usable) == 1 and not refusals:
        return usable[0].path, "", ""
    budget = MAX_PARSE_BYTES_PER_STUDENT
    # In sorted order, .py files before notebooks (a .py beside its notebook is the one handed in), so the first
    # that defines the class is the one chosen.
    for candidate in sorted(usable, key=lambda c: is_notebook(c.path)):
        budget -= candidate.size
        if budget < 0:
            break
        if _defines(candidate.path, class_name, max_bytes):
            return candidate.path, f"{len(usable)} Python files; graded {'/'.join(candidate.parts)}", ""
    if refusals:
        # The file the student meant may be the refused one: say so rather than grade a helper module.
        return None, "", _summarise(refusals)
    return usable[0].path, f"{len(usable)} Python files; graded {'/'.join(usable[0].parts)}", ""


_CanvasFile = tuple[os.DirEntry[str], CanvasFileName]


def _latest_uploads(files: list[_CanvasFile]) -> list[_CanvasFile]:
    """The files of one Canvas student without those a later upload of the same name replaced.

    Canvas names the second upload of ``attention.py`` ``attention-1.py``, with a higher file id; only the latest is
    the student's work.
    """
    latest: dict[str, _CanvasFile] = {}
    for entry, name in files:
        key = name.base_name.lower()
        kept = latest.get(key)
        if kept is None or (name.file_id, name.copy) > (kept[1].file_id, kept[1].copy):
            latest[key] = (entry, name)
    return sorted(latest.values(), key=lambda file: (file[1].original, file[1].file_id))


def _canvas_submission(files: list[_CanvasFile], class_name: str, max_bytes: int,
                       refused: dict[str, str]) -> Submission:
    """One Canvas user's submission, from all their files in the flat download."""
    student = student_id_of(files[0][1].student_key)
    latest = _latest_uploads(files)
    usable: list[_Candidate] = []
    refusals: list[str] = []
    for entry, _ in latest:
        info = entry.stat(follow_symlinks=False)
        reason = _refused_reason(refused, entry.path, entry.name) or _refusal_of(entry.name, info, max_bytes)
        if reason:
            refusals.append(reason)
        else:
            usable.append(_Candidate(Path(entry.path), (entry.name,), info.st_size))
    path, note, refusal = _choose(usable, refusals, class_name, max_bytes)
    replaced = len(files) - len(latest)
    if replaced:
        note = "; ".join(filter(None, [note, f"{replaced} earlier upload(s) replaced by a later one"]))
    return Submission(student, path, note, refusal)


def _submission_of(
    entry: os.DirEntry[str], class_name: str, max_bytes: int, refused: dict[str, str]
) -> Submission | None:
    """The submission a top-level entry stands for, or None when it is not one (a README, a stray link)."""
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        path, note, refusal = _pick_file(Path(entry.path), class_name, max_bytes, refused)
        return Submission(student_id_of(entry.name), path, note, refusal)
    if is_source_name(entry.name):
        student = student_id_of(source_stem(entry.name))
        reason = _refused_reason(refused, entry.path, entry.name) or _refusal_of(entry.name, info, max_bytes)
        return Submission(student, None, refusal=reason) if reason else Submission(student, Path(entry.path))
    if stat.S_ISLNK(info.st_mode) and os.path.isdir(entry.path):  # a linked student folder: refused, not followed
        reason = f"{entry.name}/ is a symbolic link, which the grader does not follow"
        return Submission(student_id_of(entry.name), None, refusal=reason)
    return None


def _canvas_name_of(entry: os.DirEntry[str]) -> CanvasFileName | None:
    """The Canvas naming of a top-level Python file (a link or special file included: it is refused later), or None."""
    if not is_source_name(entry.name) or entry.is_dir(follow_symlinks=False):
        return None
    return parse_canvas_file_name(entry.name)


def _units(entries: list[os.DirEntry[str]]) -> list[os.DirEntry[str] | list[_CanvasFile]]:
    """The top-level entries, each Canvas user's files gathered into one list where the first of them stands."""
    units: list[os.DirEntry[str] | list[_CanvasFile]] = []
    by_user: dict[str, list[_CanvasFile]] = {}
    for entry in entries:
        try:
            name = _canvas_name_of(entry)
        except OSError:
            name = None  # the entry's own handling says what is wrong with it
        if name is None:
            units.append(entry)
        elif name.user in by_user:
            by_user[name.user].append((entry, name))
        else:
            by_user[name.user] = [(entry, name)]
            units.append(by_user[name.user])
    return units


def _submission_of_unit(unit: os.DirEntry[str] | list[_CanvasFile], class_name: str, max_bytes: int,
                        refused: dict[str, str]) -> Submission | None:
    """The submission of one unit; whatever goes wrong reading it is that student's refusal, never the batch's."""
    try:
        if isinstance(unit, list):
            return _canvas_submission(unit, class_name, max_bytes, refused)
        return _submission_of(unit, class_name, max_bytes, refused)
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        if isinstance(unit, list):
            student, shown = student_id_of(unit[0][1].student_key), unit[0][0].name
        else:
            student, shown = student_id_of(source_stem(unit.name)), unit.name
        return Submission(student, None, refusal=f"{shown} could not be read ({exc})")


def _from_directory(
    directory: Path, class_name: str, max_bytes: int, refused: dict[str, str] | None = None
) -> list[Submission]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted((e for e in listing if not _IGNORED.search(e.name)), key=lambda e: e.name)
    except OSError as exc:
        raise InputError(f"{directory}: cannot be listed ({exc})") from exc
    submissions: list[Submission] = []
    seen: set[str] = set()
    for unit in _units(entries):
        submission = _submission_of_unit(unit, class_name, max_bytes, refused or {})
        if submission is None:
            continue
        student, suffix = submission.student, 2
        while student in seen:  # two names that clean to the same id both keep a scorecard
            student, suffix = f"{submission.student}-{suffix}", suffix + 1
        seen.add(student)
        submissions.append(Submission(student, submission.path, submission.note, submission.refusal))
    return submissions


def _decompressed(member: zipfile.ZipInfo, max_bytes: int) -> bool:
    """Whether extraction inflates this member: only Python files within the cap are ever read."""
    return is_source_name(member.filename) and member.file_size <= max_bytes


_UTF8_NAMES = 0x800
"""The flag bit by which a zip member says that its name is UTF-8."""


def _read_name_as_utf8(member: zipfile.ZipInfo) -> None:
    """Read a member's name as UTF-8 when its archiver wrote UTF-8 without setting the flag that says so.

    Canvas's zips store names as UTF-8 bytes without the flag, which zipfile then decodes as cp437: ``müllerjosé``
    arrives as ``m├╝llerjos├⌐``. Names whose bytes are valid UTF-8 are read as UTF-8 (text in cp437 beyond ASCII
    is almost never valid UTF-8); ASCII names, flagged names and other bytes are left as they are. Only the name
    used here changes (``orig_filename``, which reading the member checks, is kept), and every check of the
    archive runs on the name as read.
    """
    if member.flag_bits & _UTF8_NAMES or member.filename.isascii():
        return
    try:
        member.filename = member.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        pass


def check_archive(archive: Path, max_bytes: int = MAX_SOURCE_BYTES) -> list[zipfile.ZipInfo]:
    """The members to extract, or InputError naming the first member that makes the archive unsafe."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{archive}: not a readable zip archive ({exc})") from exc
    with bundle:
        members = bundle.infolist()
    if len(members) > MAX_MEMBERS:
        raise InputError(f"{archive}: {len(members)} members, more than the {MAX_MEMBERS} allowed")
    total = 0
    for member in members:
        _read_name_as_utf8(member)
        name = PurePosixPath(member.filename)
        if name.is_absolute() or ".." in name.parts or member.filename.startswith(("/", "\\")) or ":" in name.parts[0]:
            raise InputError(f"{archive}: member {member.filename!r} points outside the archive (path traversal)")
        file_type = stat.S_IFMT(member.external_attr >> 16)  # 0 when the archiver recorded no Unix mode
        if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
            raise InputError(f"{archive}: member {member.filename!r} is a link or special file")
        if not member.is_dir() and _decompressed(member, max_bytes):
            total += member.file_size
            if total > MAX_TOTAL_BYTES:
                raise InputError(f"{archive}: more than {MAX_TOTAL_BYTES} bytes to decompress (zip bomb)")
    return [m for m in members if not m.is_dir() and not _IGNORED.search(m.filename)]


def extract_archive(archive: Path, target: Path, max_bytes: int = MAX_SOURCE_BYTES) -> tuple[Path, dict[str, str]]:
    """Extract a checked archive into ``target``; return the submissions' root and the refused members.

    Only Python files within ``max_bytes`` are decompressed, each reading at most its declared size. Every other
    member becomes an empty placeholder, so that the folders look as they do in the archive; a Python file that is
    too large or cannot be inflated is one too, and the returned map (placeholder path -> what is wrong with it)
    makes it its student's refusal.
    """
    members = check_archive(archive, max_bytes)
    refused: dict[str, str] = {}
    with zipfile.ZipFile(archive) as bundle:
        for member in members:
            destination = target.joinpath(*PurePosixPath(member.filename).parts)
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.touch()
            except OSError as exc:
                raise InputError(f"{archive}: member {member.filename!r} cannot be extracted ({exc})") from exc
            if not is_source_name(member.filename):
                continue
            if member.file_size > max_bytes:
                refused[os.path.normpath(destination)] = over_limit_reason(member.file_size, max_bytes)
                continue
            try:
                with bundle.open(member) as source:
                    data = source.read(member.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
                refused[os.path.normpath(destination)] = f"could not be extracted from the archive ({exc})"
                continue
            if len(data) > member.file_size:
                refused[os.path.normpath(destination)] = "is larger in the archive than it declares"
                continue
            destination.write_bytes(data)
    roots = [p for p in target.iterdir() if not _IGNORED.search(p.name)]
    # LMS exports often wrap everything in one top-level folder: its entries are the submissions.
    if len(roots) == 1 and roots[0].is_dir():
        return roots[0], refused
    return target, refused


def discover_submissions(
    source: Path, class_name: str, work_dir: Path, max_bytes: int = MAX_SOURCE_BYTES
) -> list[Submission]:
    """The batch's submissions, in a stable order; a zip is extracted under ``work_dir`` first.

    ``source`` itself may be a link (the instructor named it); nothing under it is followed.
    """
    if not source.exists():
        raise InputError(f"{source}: no such file or directory")
    refused: dict[str, str] = {}
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise InputError(f"{source}: expected a directory or a .zip archive")
        target = work_dir / "extracted"
        target.mkdir(parents=True, exist_ok=True)
        source, refused = extract_archive(source, target, max_bytes)
    submissions = _from_directory(source, class_name, max_bytes, refused)
    if not submissions:
        raise InputError(f"{source}: no .py or .ipynb files and no per-student folders found")
    return submissions

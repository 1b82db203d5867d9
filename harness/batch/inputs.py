"""Finding the submissions of a batch: a folder of .py files, a folder of per-student folders, or an LMS zip.

Zip archives are checked before anything is extracted: absolute paths, ``..`` components, links and special files
are refused, and so are archives whose sizes or compression ratios say "zip bomb".
"""

from __future__ import annotations

import ast
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 20_000
MAX_FILE_BYTES = 16 << 20
MAX_TOTAL_BYTES = 1 << 30
MAX_RATIO = 200  # uncompressed / compressed, for members large enough for the ratio to mean something
_IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*|__pycache__)(/|$)")


class InputError(Exception):
    """The batch input cannot be used; the message names the file or member and why."""


@dataclass(frozen=True)
class Submission:
    """One student's submission: who, and which file (None when their folder holds no Python file)."""

    student: str
    path: Path | None
    note: str = ""


def _student_id(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "unnamed"


def _defines(path: Path, class_name: str) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.ClassDef) and node.name == class_name for node in tree.body)


def _pick_file(folder: Path, class_name: str) -> tuple[Path | None, str]:
    files = sorted(p for p in folder.rglob("*.py") if p.is_file() and not _IGNORED.search(str(p.relative_to(folder))))
    if not files:
        return None, f"no Python file in {folder.name}/"
    if len(files) == 1:
        return files[0], ""
    defining = [p for p in files if _defines(p, class_name)]
    chosen = defining[0] if defining else files[0]
    return chosen, f"{len(files)} Python files; graded {chosen.relative_to(folder)}"


def _from_directory(directory: Path, class_name: str) -> list[Submission]:
    entries = sorted(p for p in directory.iterdir() if not _IGNORED.search(p.name))
    submissions: list[Submission] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.is_dir():
            path, note = _pick_file(entry, class_name)
            student = _student_id(entry.name)
        elif entry.suffix == ".py" and entry.is_file():
            path, note, student = entry, "", _student_id(entry.stem)
        else:
            continue
        base, suffix = student, 2
        while student in seen:  # two names that clean to the same id both keep a scorecard
            student, suffix = f"{base}-{suffix}", suffix + 1
        seen.add(student)
        submissions.append(Submission(student=student, path=path, note=note))
    return submissions


def check_archive(archive: Path) -> list[zipfile.ZipInfo]:
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
        name = PurePosixPath(member.filename)
        if name.is_absolute() or ".." in name.parts or member.filename.startswith(("/", "\\")) or ":" in name.parts[0]:
            raise InputError(f"{archive}: member {member.filename!r} points outside the archive (path traversal)")
        file_type = stat.S_IFMT(member.external_attr >> 16)  # 0 when the archiver recorded no Unix mode
        if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
            raise InputError(f"{archive}: member {member.filename!r} is a link or special file")
        if member.file_size > MAX_FILE_BYTES and not member.is_dir():
            raise InputError(f"{archive}: member {member.filename!r} is {member.file_size} bytes uncompressed, "
                             f"more than the {MAX_FILE_BYTES} allowed")
        if member.file_size > (1 << 20) and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise InputError(f"{archive}: member {member.filename!r} expands {ratio}x (zip bomb)")
        total += member.file_size
        if total > MAX_TOTAL_BYTES:
            raise InputError(f"{archive}: more than {MAX_TOTAL_BYTES} bytes uncompressed (zip bomb)")
    return [m for m in members if not m.is_dir() and not _IGNORED.search(m.filename)]


def extract_archive(archive: Path, target: Path) -> Path:
    """Extract a checked archive into ``target``, reading at most each member's declared size."""
    members = check_archive(archive)
    with zipfile.ZipFile(archive) as bundle:
        for member in members:
            destination = target.joinpath(*PurePosixPath(member.filename).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, open(destination, "wb") as sink:
                data = source.read(member.file_size + 1)
                if len(data) > member.file_size:
                    raise InputError(f"{archive}: member {member.filename!r} is larger than it declares")
                sink.write(data)
    roots = [p for p in target.iterdir() if not _IGNORED.search(p.name)]
    # LMS exports often wrap everything in one top-level folder: its entries are the submissions.
    if len(roots) == 1 and roots[0].is_dir():
        return roots[0]
    return target


def discover_submissions(source: Path, class_name: str, work_dir: Path) -> list[Submission]:
    """The batch's submissions, in a stable order; a zip is extracted under ``work_dir`` first."""
    if not source.exists():
        raise InputError(f"{source}: no such file or directory")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise InputError(f"{source}: expected a directory or a .zip archive")
        target = work_dir / "extracted"
        target.mkdir(parents=True, exist_ok=True)
        source = extract_archive(source, target)
    submissions = _from_directory(source, class_name)
    if not submissions:
        raise InputError(f"{source}: no .py files and no per-student folders found")
    return submissions

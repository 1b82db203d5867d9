"""Finding problems: ``--problems-dir`` directories first, then installed packs, then the built-in ones.

A directory given with ``--problems-dir`` may hold pack directories (``<id>/problem.yaml``) and classic problem
files (``<id>.yaml``). An installed distribution offers packs through the ``mlgrade.problems`` entry-point group:
each entry point's name is the problem id and its value a module whose directory is the pack.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from importlib import resources
from pathlib import Path

from ..catalog import Catalog, ProblemFileError
from .pack import PROBLEM_FILE, ClassicPack, Pack, SpecPack

ENTRY_POINT_GROUP = "mlgrade.problems"
BUILTIN_PACKAGE = "problem_packs"


def _builtin_root() -> Path:
    return Path(str(resources.files(BUILTIN_PACKAGE)))


def _entry_point_dirs() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = importlib.import_module(entry_point.value)
        except ImportError as exc:
            raise ProblemFileError(f"entry point {entry_point.name} = {entry_point.value}: cannot import: {exc}") \
                from exc
        file = getattr(module, "__file__", None)
        if file:
            found[entry_point.name] = Path(file).parent
    return found


class PackRegistry:
    """The problems visible to a run."""

    def __init__(self, problem_dirs: list[Path] | None = None) -> None:
        self.problem_dirs = [Path(d) for d in (problem_dirs or [])]
        self.catalog = Catalog(self.problem_dirs)

    def pack_dirs(self) -> dict[str, Path]:
        """Problem id -> pack directory, course directories shadowing installed and built-in packs."""
        found: dict[str, Path] = {}
        for directory in sorted(_builtin_root().iterdir()):
            if (directory / PROBLEM_FILE).is_file():
                found[directory.name] = directory
        found.update(_entry_point_dirs())
        for root in reversed(self.problem_dirs):
            for directory in sorted(p for p in root.iterdir() if p.is_dir()):
                if (directory / PROBLEM_FILE).is_file():
                    found[directory.name] = directory
        return dict(sorted(found.items()))

    def ids(self) -> list[str]:
        """Every problem id offered (packs and classic problem files)."""
        return sorted(set(self.pack_dirs()) | set(self.catalog.problem_files()))

    def load(self, problem: str | Path) -> Pack:
        """The pack for an id, a pack directory, or a classic problem file."""
        path = Path(problem)
        if path.is_dir() and (path / PROBLEM_FILE).is_file():
            return SpecPack(path)
        if path.is_file() and path.name == PROBLEM_FILE:
            return SpecPack(path.parent)
        directories = self.pack_dirs()
        course_files = {k: v for k, v in self.catalog.problem_files().items()
                        if any(v.parent == d for d in self.problem_dirs)}
        if str(problem) in directories and str(problem) not in course_files:
            return SpecPack(directories[str(problem)])
        try:
            return ClassicPack(self.catalog.load(problem))
        except ProblemFileError as exc:
            if str(exc).startswith("unknown problem"):
                known = ", ".join(self.ids()) or "none"
                raise ProblemFileError(f"unknown problem {str(problem)!r}; known problems: {known}") from exc
            raise


def find_pack(problem: str | Path, problem_dirs: list[Path] | None = None) -> Pack:
    """The pack of a problem id or path."""
    return PackRegistry(problem_dirs).load(problem)

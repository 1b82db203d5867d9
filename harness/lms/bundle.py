"""What an LMS package carries: the harness as a wheel, optional dependency wheels, a course's own problems.

A bundle never carries anything of the machine that made it beyond these: no scorecards, no caches, no secrets.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

PACKAGES = ("harness", "runners", "problems", "rubrics", "reference_solutions", "problem_packs")
"""The top-level packages of the harness's distribution (pyproject's packages, without their subpackages)."""
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BundleError(Exception):
    """The package cannot be made; the message names the file or option."""


def source_tree() -> Path | None:
    """The project folder the running harness was installed from (an editable install), if there is one."""
    root = Path(harness.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def build_harness_wheel(target: Path, harness_wheel: Path | None = None) -> Path:
    """Put the harness's wheel in ``target``: the one given, or one built from the source tree."""
    target.mkdir(parents=True, exist_ok=True)
    if harness_wheel is not None:
        if not harness_wheel.name.startswith("mlgrade_harness-") or harness_wheel.suffix != ".whl":
            raise BundleError(f"--harness-wheel {harness_wheel}: not a wheel of mlgrade-harness")
        return Path(shutil.copy2(harness_wheel, target))
    root = source_tree()
    if root is None:
        raise BundleError("this harness was not installed from a source tree: pass --harness-wheel with its wheel")
    with tempfile.TemporaryDirectory(prefix="harness-wheel-") as scratch:
        # Offline, the setuptools already installed builds it; without one, pip fetches its own.
        flags = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                               "--disable-pip-version-check", *flags, "-w", scratch, str(root)],
                              capture_output=True, text=True)
        wheels = list(Path(scratch).glob("mlgrade_harness-*.whl"))
        if done.returncode != 0 or not wheels:
            raise BundleError(f"could not build the harness's wheel from {root}: {done.stderr.strip()[-800:]}")
        return Path(shutil.copy2(wheels[0], target))


def copy_wheelhouse(wheelhouse: Path, target: Path) -> int:
    """Copy every wheel of ``wheelhouse`` into ``target``; how many."""
    wheels = sorted(wheelhouse.glob("*.whl"))
    if not wheels:
        raise BundleError(f"--wheelhouse {wheelhouse}: holds no .whl files")
    target.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        if not wheel.name.startswith("mlgrade_harness-"):  # the harness's own wheel is the one just built
            shutil.copy2(wheel, target / wheel.name)
    return len(wheels)


def course_problems(problems_dirs: list[Path], target: Path) -> list[str]:
    """Copy a course's problem folders into ``target``; their names there, relative to ``target.parent``."""
    names = []
    for index, folder in enumerate(problems_dirs):
        if not folder.is_dir():
            raise BundleError(f"--problems-dir {folder}: not a directory")
        destination = target / f"{index}-{folder.resolve().name}"
        shutil.copytree(folder, destination, ignore=_SKIPPED, symlinks=False)
        names.append(str(destination.relative_to(target.parent)))
    return names


def lock_down(folders: list[Path]) -> list[Path]:
    """Make the harness's installed packages and ``folders`` readable by their owner (root) alone; what changed.

    In an LMS container the student's code runs as another user in the same filesystem: this keeps the
    reference solutions, the rubrics and the grader's configuration out of its reach.
    """
    if source_tree() is not None:
        raise BundleError("refusing to lock down a source tree: this is for the harness installed in an LMS image")
    changed = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            changed += [Path(p) for p in spec.submodule_search_locations]
    changed += folders
    for top in changed:
        for directory, _, files in os.walk(top):
            _owner_only(directory)
            for file in files:
                path = os.path.join(directory, file)
                if not os.path.islink(path):
                    _owner_only(path)
    return changed


def _owner_only(path: str) -> None:
    """Take every permission from group and others; the owner's (an executable script's x) are kept."""
    os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & 0o700)

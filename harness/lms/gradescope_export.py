"""``harness export gradescope``: the autograder zip Gradescope builds its image from.

Its root holds ``setup.sh`` (run once when Gradescope builds the image), ``run_autograder`` (run per submission),
``harness_autograder.json`` (the problem and options), ``wheels/`` (the harness's wheel, and with ``--wheelhouse``
every dependency, for an image built without network) and ``problems/`` (a course's own problems, if any).
"""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from ..packs.registry import PackRegistry
from .bundle import build_harness_wheel, copy_wheelhouse, course_problems
from .config import CONFIG_NAME, AutograderConfig

_EXECUTABLE = 0o755 << 16 | stat.S_IFREG << 16
_REGULAR = 0o644 << 16 | stat.S_IFREG << 16


def _file(name: str) -> str:
    return resources.files(__package__).joinpath("files", name).read_text()


def _add(bundle: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = _EXECUTABLE if executable else _REGULAR
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def export_gradescope(problem: str, out: Path, *, problems_dirs: list[Path] | None = None,
                      wheelhouse: Path | None = None, harness_wheel: Path | None = None,
                      leaderboard: bool = False) -> Path:
    """Write the autograder zip to ``out`` (atomically) and return it; BundleError or ProblemFileError if it cannot."""
    dirs = list(problems_dirs or [])
    PackRegistry(dirs).load(problem)  # an unknown or invalid problem fails here, not at the first student
    with tempfile.TemporaryDirectory(prefix="harness-gradescope-") as scratch:
        staging = Path(scratch)
        wheel = build_harness_wheel(staging / "wheels", harness_wheel)
        if wheelhouse is not None:
            copy_wheelhouse(wheelhouse, staging / "wheels")
        names = course_problems(dirs, staging / "problems")
        config = AutograderConfig(problem=problem, harness_version=wheel.name.split("-")[1], problems_dirs=names,
                                  leaderboard=leaderboard)
        (staging / CONFIG_NAME).write_text(config.model_dump_json(indent=2) + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with zipfile.ZipFile(temporary, "w") as bundle:
                _add(bundle, "setup.sh", _file("gradescope_setup.sh"), executable=True)
                _add(bundle, "run_autograder", _file("gradescope_run_autograder"), executable=True)
                for path in sorted(p for p in staging.rglob("*") if p.is_file()):
                    _add(bundle, path.relative_to(staging).as_posix(), path.read_bytes())
            os.replace(temporary, out)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    return out

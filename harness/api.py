"""The Python API: what the CLI calls, and what a Python user calls."""

from __future__ import annotations

import hashlib
import os
import stat
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from runners.base import (
    ResourceUsage,
    Runner,
    RunnerReport,
    SandboxUnavailable,
    create_runner,
    not_the_candidates_fault,
)

from ._notebook_grade import grade_notebook
from ._submission_size import MAX_SUBMISSION_BYTES, over_limit_message
from .models import ItemResult, ItemStatus, ProblemRef, Rubric, Scorecard, SubmissionRef, SubmissionStatus
from .models.problem import Limits
from .packs.pack import Pack
from .packs.registry import PackRegistry
from .submission_source import is_notebook


class _Graded(Protocol):
    """What an ungraded scorecard needs of a problem: its id, version and rubric (a pack or a loaded problem)."""

    @property
    def problem(self) -> Any: ...

    @property
    def rubric(self) -> Rubric: ...


def _digest(submission: Path) -> str:
    """The file's SHA-256, or "" when it is not a regular file within the size cap (it is then never read)."""
    try:
        info = os.stat(submission)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SUBMISSION_BYTES:
            return ""
        return hashlib.sha256(submission.read_bytes()).hexdigest()
    except OSError:
        return ""


def _ungraded(loaded: _Graded, submission: Path, runner_name: str, status: SubmissionStatus, message: str,
              item_status: ItemStatus, item_feedback: str, *, digest: str | None = None) -> Scorecard:
    now = datetime.now(timezone.utc)
    digest = _digest(submission) if digest is None else digest
    items = [
        ItemResult(id=item.id, title=item.title, status=item_status, points=0.0, max_points=item.points,
                   visibility=item.visibility, feedback=item_feedback, details={})
        for item in loaded.rubric.items
    ]
    return Scorecard(
        problem=ProblemRef(id=loaded.problem.id, version=loaded.problem.version),
        submission=SubmissionRef(path=str(submission), sha256=digest),
        status=status,
        message=message,
        score=0.0,
        max_score=loaded.rubric.max_score,
        items=items,
        resources=ResourceUsage(wall_s=0.0),
        runner=RunnerReport(name=runner_name),
        started_at=now,
        finished_at=now,
    )


def internal_error_scorecard(loaded: _Graded, submission: Path, runner_name: str,
                             error: BaseException) -> Scorecard:
    """A scorecard that says the harness failed: the candidate loses nothing they can be blamed for."""
    if isinstance(error, SandboxUnavailable):
        message = not_the_candidates_fault(str(error))
    else:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        message = f"The grader failed ({detail}); this is not your fault. Please report it."
    return _ungraded(loaded, submission, runner_name, "internal_error", message,
                     "error", "Not graded: the grader itself failed.")


def missing_file_scorecard(loaded: _Graded, student: str, note: str) -> Scorecard:
    """The scorecard of a student whose submission holds no Python file to grade."""
    return _ungraded(loaded, Path(student), "none", "compile_error",
                     f"No submission file was found ({note}).", "failed", "Not graded: no Python file was submitted.",
                     digest="")


def refused_submission_scorecard(loaded: _Graded, student: str, reason: str,
                                 runner_name: str = "none") -> Scorecard:
    """The scorecard of a submission the harness refuses to read (too large, a link); ``reason`` says why."""
    return _ungraded(loaded, Path(student), runner_name, "compile_error", f"Not graded: {reason}.", "failed",
                     f"Not graded: {reason}.", digest="")


def grade(
    submission: str | Path,
    problem: str | Path,
    runner: str | Runner = "local",
    *,
    problems_dirs: list[Path] | None = None,
    seed: int | None = None,
    limits: Limits | None = None,
    device: str | None = None,
    max_submission_bytes: int = MAX_SUBMISSION_BYTES,
) -> Scorecard:
    """Grade one submission file against a problem (by id, pack directory or problem file) and return its scorecard.

    Raises :class:`harness.catalog.ProblemFileError` for an unknown or invalid problem, ``FileNotFoundError`` for
    a missing submission; anything that goes wrong after that becomes a scorecard (``internal_error`` at worst).
    A file larger than ``max_submission_bytes`` is not read: its scorecard is a ``compile_error`` that says so,
    the same scorecard `harness batch` gives it, because the size is the candidate's doing, not a usage error.
    """
    path = Path(submission)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such submission file")
    loaded = PackRegistry(problems_dirs).load(problem)
    return grade_with_pack(loaded, path, runner, seed=seed, limits=limits, device=device,
                           max_submission_bytes=max_submission_bytes)


def grade_with_pack(loaded: Pack, path: Path, runner: str | Runner, *, seed: int | None = None,
                    limits: Limits | None = None, device: str | None = None,
                    max_submission_bytes: int = MAX_SUBMISSION_BYTES) -> Scorecard:
    """Grade the file ``path`` with a loaded pack: :func:`grade` once the problem is found."""
    size = path.stat().st_size  # a link given by the caller is followed: the caller chose it, a student did not
    if size > max_submission_bytes:
        runner_name = runner if isinstance(runner, str) else runner.name
        reason = over_limit_message(path.name, size, max_submission_bytes)
        return refused_submission_scorecard(loaded, str(path), reason, runner_name)
    owned = isinstance(runner, str)
    active = create_runner(runner) if isinstance(runner, str) else runner
    try:
        if is_notebook(path):
            return grade_notebook(
                path, _digest(path), lambda script: loaded.grade(script, active, seed=seed, limits=limits,
                                                                 device=device),
                lambda reason: _ungraded(loaded, path, active.name, "compile_error", f"Not graded: {reason}.",
                                         "failed", f"Not graded: {reason}."))
        return loaded.grade(path, active, seed=seed, limits=limits, device=device)
    except Exception as exc:  # noqa: BLE001 - a harness bug must still produce a scorecard
        return internal_error_scorecard(loaded, path, active.name, exc)
    finally:
        if owned:
            active.close()

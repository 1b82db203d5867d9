"""What every LMS autograder does inside its container: find the file, choose the sandbox, grade it once.

The LMS hands over a folder of whatever the student uploaded. The file graded is the one that defines the problem's
entry (the rule `harness batch` applies to a student's folder), and the sandbox is the local one: with bubblewrap
where its canary starts, otherwise a fresh interpreter per submission that, started by root, drops to an
unprivileged user (see ``runners.local.unprivileged_user``). Nothing here decides a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runners.base import Runner, SandboxUnavailable
from runners.local import LocalRunner

from ..api import grade, missing_file_scorecard, refused_submission_scorecard
from ..batch.inputs import MAX_SOURCE_BYTES, _pick_file
from ..models import Scorecard
from ..packs.registry import PackRegistry


@dataclass(frozen=True)
class Found:
    """The file chosen from an upload folder, or why there is none."""

    path: Path | None
    note: str = ""
    refusal: str = ""


def find_submission(folder: Path, entry_name: str) -> Found:
    """The upload's file that defines ``entry_name`` (links refused, sizes bounded), or why there is none."""
    if not folder.is_dir():
        return Found(None, note=f"{folder} does not exist")
    path, note, refusal = _pick_file(folder, entry_name, MAX_SOURCE_BYTES, {})
    return Found(path, note, refusal)


def container_runner(problem_limits: object) -> Runner:
    """The local sandbox as strong as this container allows: bubblewrap if it starts here, else without it."""
    runner = LocalRunner()
    if runner.bwrap is None:
        return LocalRunner(use_bwrap=False, warm=False)
    try:
        runner.ensure_ready(problem_limits)  # type: ignore[arg-type]
        return runner
    except SandboxUnavailable:
        runner.close()  # bubblewrap is installed but user namespaces are refused (as in most containers)
        return LocalRunner(use_bwrap=False, warm=False)


def grade_upload(folder: Path, problem: str, problems_dirs: list[Path] | None = None,
                 runner: Runner | None = None) -> tuple[Scorecard, Found]:
    """Grade the upload in ``folder``: its scorecard (never an exception for what the student sent) and the file."""
    loaded = PackRegistry(problems_dirs).load(problem)
    found = find_submission(folder, loaded.entry_name)
    if found.path is None:
        if found.refusal:
            return refused_submission_scorecard(loaded, folder.name, found.refusal), found
        return missing_file_scorecard(loaded, folder.name, found.note), found
    active = runner or container_runner(loaded.problem.limits)
    try:
        return grade(found.path, problem, active, problems_dirs=problems_dirs), found
    finally:
        if runner is None:
            active.close()

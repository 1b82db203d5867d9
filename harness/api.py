"""The Python API: what the CLI calls, and what a Python user calls."""

from __future__ import annotations

import traceback
from datetime import datetime, timezone
from pathlib import Path

from runners.base import ResourceUsage, Runner, RunnerReport, create_runner

from .catalog import Catalog, LoadedProblem
from .engine import grade_submission, load_reference
from .models import ItemResult, ProblemRef, Scorecard, SubmissionRef
from .models.problem import Limits


def _internal_error(loaded: LoadedProblem, submission: Path, runner_name: str, error: BaseException) -> Scorecard:
    """A scorecard that says the harness failed: the candidate loses nothing they can be blamed for."""
    now = datetime.now(timezone.utc)
    try:
        import hashlib

        digest = hashlib.sha256(submission.read_bytes()).hexdigest()
    except OSError:
        digest = ""
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    items = [
        ItemResult(id=item.id, title=item.title, status="error", points=0.0, max_points=item.points,
                   visibility=item.visibility, feedback="Not graded: the grader itself failed.",
                   details={})
        for item in loaded.rubric.items
    ]
    return Scorecard(
        problem=ProblemRef(id=loaded.problem.id, version=loaded.problem.version),
        submission=SubmissionRef(path=str(submission), sha256=digest),
        status="internal_error",
        message=f"The grader failed ({detail}); this is not your fault. Please report it.",
        score=0.0,
        max_score=loaded.rubric.max_score,
        items=items,
        resources=ResourceUsage(wall_s=0.0),
        runner=RunnerReport(name=runner_name),
        started_at=now,
        finished_at=now,
    )


def grade(
    submission: str | Path,
    problem: str | Path = "mhsa",
    runner: str | Runner = "local",
    *,
    problems_dirs: list[Path] | None = None,
    seed: int | None = None,
    limits: Limits | None = None,
) -> Scorecard:
    """Grade one submission file against a problem (by id or path) and return its scorecard.

    Raises :class:`harness.catalog.ProblemFileError` for an unknown or invalid problem, ``FileNotFoundError`` for
    a missing submission; anything that goes wrong after that becomes a scorecard (``internal_error`` at worst).
    """
    path = Path(submission)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such submission file")
    loaded = Catalog(problems_dirs).load(problem)
    reference = load_reference(loaded.problem.reference, loaded.problem_path)
    owned = isinstance(runner, str)
    active = create_runner(runner) if isinstance(runner, str) else runner
    try:
        return grade_submission(path, loaded.problem, loaded.rubric, reference, active, seed=seed, limits=limits)
    except Exception as exc:  # noqa: BLE001 - a harness bug must still produce a scorecard
        return _internal_error(loaded, path, active.name, exc)
    finally:
        if owned:
            active.close()

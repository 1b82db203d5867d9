"""Grade a batch in parallel worker processes, journaling each scorecard as it completes.

Workers are separate (spawned, not forked) harness processes, each grading one submission at a time with its own
runner; the sandboxes are the runner's business. A worker that dies takes no result with it that was journaled,
its submission gets an ``internal_error`` scorecard, and the pool is restarted for the rest. The summary files are
written whatever happens, from the scorecards on disk.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..api import grade, internal_error_scorecard, missing_file_scorecard
from ..catalog import Catalog
from ..models import Scorecard
from ..models.problem import Limits
from ..reporters import render_json
from .inputs import Submission, discover_submissions
from .journal import Journal
from .regrade import start_regrade, write_regrade_report
from .report import grades_csv, summary

Progress = Callable[[str, Scorecard, int, int], None]


class BatchExistsError(Exception):
    """The output directory already holds a batch and --resume was not given."""


@dataclass
class BatchResult:
    """What a batch run did."""

    total: int
    graded_now: int
    already_done: int
    failures: int
    wall_s: float
    out_dir: Path
    statuses: dict[str, str] = field(default_factory=dict)
    regrade: dict[str, Any] | None = None
    """Whose scores changed since the previous grading, when this batch was (or finishes) a regrade."""


@dataclass(frozen=True)
class _Task:
    student: str
    path: str
    problem: str
    runner: str
    problems_dirs: tuple[str, ...]
    limits_json: str | None


def _grade_task(task: _Task) -> str:
    """In a worker: grade one submission, return its scorecard as JSON (plain text crosses the process boundary)."""
    limits = Limits.model_validate_json(task.limits_json) if task.limits_json else None
    card = grade(Path(task.path), task.problem, task.runner, problems_dirs=[Path(d) for d in task.problems_dirs],
                 limits=limits)
    return card.model_dump_json()


def grade_batch(
    source: Path,
    problem: str,
    out_dir: Path,
    *,
    workers: int = 2,
    runner: str = "local",
    resume: bool = False,
    regrade: bool = False,
    problems_dirs: list[Path] | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Grade every submission found in ``source`` into ``out_dir``; see the module docstring."""
    started = time.monotonic()
    catalog = Catalog(problems_dirs)
    loaded = catalog.load(problem)
    journal_exists = (out_dir / "journal.jsonl").exists()
    if regrade:
        if not journal_exists:
            raise BatchExistsError(f"{out_dir}: holds no batch to regrade")
        start_regrade(out_dir)  # keeps the old scorecards; a crash mid-regrade is finished with --resume
    elif journal_exists and not resume:
        raise BatchExistsError(f"{out_dir}: already holds a batch; pass --resume to finish it, --regrade to grade it "
                               "again, or use a new directory")
    journal = Journal(out_dir)
    with tempfile.TemporaryDirectory(prefix="harness-batch-") as work:
        submissions = discover_submissions(source, loaded.problem.interface.class_name, Path(work))
        done = journal.completed()
        pending = [s for s in submissions if s.student not in done]
        failures = 0
        statuses: dict[str, str] = {}
        count = len(submissions) - len(pending)

        def finish(submission: Submission, card: Scorecard) -> None:
            nonlocal count, failures
            journal.record(submission.student, card, render_json(card))
            count += 1
            statuses[submission.student] = card.status
            failures += card.status == "internal_error"
            if progress is not None:
                progress(submission.student, card, count, len(submissions))

        try:
            for submission in [s for s in pending if s.path is None]:
                finish(submission, missing_file_scorecard(loaded, submission.student, submission.note))
            runnable = [s for s in pending if s.path is not None]
            if workers <= 1 or len(runnable) <= 1:
                for submission in runnable:
                    finish(submission, _grade_in_process(submission, problem, runner, problems_dirs, limits, loaded))
            else:
                _grade_in_pool(runnable, problem, runner, problems_dirs, limits, loaded, workers, finish)
        finally:
            _write_reports(journal, loaded.rubric, submissions, out_dir, problem=loaded.problem.id,
                           version=loaded.problem.version, wall_s=time.monotonic() - started)
        regrade_report = write_regrade_report(out_dir)
        return BatchResult(total=len(submissions), graded_now=len(pending), already_done=len(done),
                           failures=failures, wall_s=time.monotonic() - started, out_dir=out_dir, statuses=statuses,
                           regrade=regrade_report)


def _grade_in_process(submission: Submission, problem: str, runner: str, problems_dirs: list[Path] | None,
                      limits: Limits | None, loaded: object) -> Scorecard:
    assert submission.path is not None
    try:
        return grade(submission.path, problem, runner, problems_dirs=problems_dirs, limits=limits)
    except Exception as exc:  # noqa: BLE001 - one submission never sinks the batch
        return internal_error_scorecard(loaded, submission.path, runner, exc)  # type: ignore[arg-type]


def _grade_in_pool(runnable: list[Submission], problem: str, runner: str, problems_dirs: list[Path] | None,
                   limits: Limits | None, loaded: object, workers: int,
                   finish: Callable[[Submission, Scorecard], None]) -> None:
    queue = list(runnable)
    context = multiprocessing.get_context("spawn")  # never fork a process that may have run torch ops
    while queue:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures: dict[Future[str], Submission] = {}
            broken = False
            while (queue or futures) and not broken:
                while queue and len(futures) < 2 * workers:
                    submission = queue.pop(0)
                    assert submission.path is not None
                    task = _Task(submission.student, str(submission.path), problem, runner,
                                 tuple(str(d) for d in problems_dirs or []),
                                 limits.model_dump_json() if limits else None)
                    futures[pool.submit(_grade_task, task)] = submission
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    submission = futures.pop(future)
                    assert submission.path is not None
                    try:
                        card = Scorecard.model_validate_json(future.result())
                    except BrokenProcessPool as exc:
                        broken = True
                        card = internal_error_scorecard(loaded, submission.path, runner, exc)  # type: ignore[arg-type]
                    except Exception as exc:  # noqa: BLE001
                        card = internal_error_scorecard(loaded, submission.path, runner, exc)  # type: ignore[arg-type]
                    finish(submission, card)
            if broken:  # the others in flight were lost with the pool: grade them again in a fresh one
                queue = [futures[f] for f in futures] + queue


def _write_reports(journal: Journal, rubric: object, submissions: list[Submission], out_dir: Path,
                   **extra: object) -> None:
    cards = {}
    for submission in submissions:
        try:
            cards[submission.student] = journal.load(submission.student)
        except (OSError, ValueError):
            continue
    write_atomically(out_dir / "grades.csv", grades_csv(rubric, cards))  # type: ignore[arg-type]
    extra_data = {**extra, "pending": len(submissions) - len(cards)}
    write_atomically(out_dir / "summary.json", summary(rubric, cards, extra_data))  # type: ignore[arg-type]

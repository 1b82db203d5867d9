"""Grade a batch, journaling each scorecard as it completes.

The grading runs on an executor (``executors.py``): local worker processes by default, each grading one submission
at a time with the runner it keeps for its lifetime (the warm local runner forks every sandbox from one zygote per
worker), or the tasks of a Ray cluster. Results come back to this process, which alone writes the journal. A task
that fails gives its submission an ``internal_error`` scorecard, and the first such scorecard stops the batch
(:class:`BatchStopped`): a fault of the harness is never a student's zero, and would repeat for every submission
after it. The summary files are written whatever happens, from the scorecards on disk.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_atomically
from .._submission_size import MAX_SUBMISSION_BYTES
from ..api import internal_error_scorecard, missing_file_scorecard, refused_submission_scorecard
from ..models import Scorecard
from ..models.problem import Limits
from ..packs.registry import PackRegistry
from ..reporters import render_json
from ..submission_source import NOTEBOOK_SUFFIX, SOURCE_SUFFIXES, SOURCES_DIR, is_notebook
from .executors import GradeTask, create_executor, scorecard_of
from .inputs import Submission, discover_submissions
from .journal import Journal
from .regrade import start_regrade, write_regrade_report
from .report import grades_csv, summary

Progress = Callable[[str, Scorecard, int, int], None]


class BatchExistsError(Exception):
    """The output directory already holds a batch and --resume was not given."""


STOPPED_NAME = "stopped.json"


class BatchStopped(Exception):
    """A submission's grading failed by the harness's fault, so the batch stopped rather than grade a class as zeros.

    The failing submission is not journaled (``--resume`` grades it again after the fix); its ``internal_error``
    scorecard is kept in ``OUT/stopped.json`` for the diagnosis.
    """

    def __init__(self, student: str, scorecard: Scorecard, graded: int, total: int) -> None:
        super().__init__(f"batch stopped at {student!r}, a fault of the grader, not of the submission: "
                         f"{scorecard.message} ({graded} of {total} submissions are graded and journaled; after the "
                         "fix, run the same command with --resume to grade the rest)")
        self.student = student
        self.scorecard = scorecard


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


def grade_batch(
    source: Path,
    problem: str,
    out_dir: Path,
    *,
    workers: int = 2,
    runner: str = "local",
    executor: str = "process",
    executor_options: dict[str, Any] | None = None,
    resume: bool = False,
    regrade: bool = False,
    problems_dirs: list[Path] | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    max_file_bytes: int = MAX_SUBMISSION_BYTES,
) -> BatchResult:
    """Grade every submission found in ``source`` into ``out_dir``; see the module docstring.

    A student's file over ``max_file_bytes``, a link, or files that cannot be read give that student a
    ``compile_error`` scorecard that says why; they never stop the batch.
    """
    started = time.monotonic()
    loaded = PackRegistry(problems_dirs).load(problem)
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
        submissions = discover_submissions(source, loaded.entry_name, Path(work), max_file_bytes)
        journal.start()
        done = journal.completed()
        pending = [s for s in submissions if s.student not in done]
        failures = 0
        statuses: dict[str, str] = {}
        count = len(submissions) - len(pending)

        def finish(submission: Submission, card: Scorecard) -> None:
            nonlocal count, failures
            if card.status == "internal_error":
                # Whatever broke (the sandbox, the machine, the grader) would break the next submission too.
                failures += 1
                write_atomically(out_dir / STOPPED_NAME, render_json(card))
                raise BatchStopped(submission.student, card, count, len(submissions))
            keep_source(out_dir, submission, max_file_bytes)
            journal.record(submission.student, card, render_json(card))
            count += 1
            statuses[submission.student] = card.status
            if progress is not None:
                progress(submission.student, card, count, len(submissions))

        by_student = {s.student: s for s in pending}

        def finish_task(task: GradeTask, outcome: str | BaseException) -> None:
            submission = by_student[task.student]
            card = scorecard_of(outcome)
            if isinstance(card, BaseException):
                assert submission.path is not None
                card = internal_error_scorecard(loaded, submission.path, runner, card)
            finish(submission, card)

        (out_dir / STOPPED_NAME).unlink(missing_ok=True)  # what stopped a previous run is being retried now
        try:
            for submission in [s for s in pending if s.path is None]:
                if submission.refusal:
                    finish(submission, refused_submission_scorecard(loaded, submission.student, submission.refusal))
                else:
                    finish(submission, missing_file_scorecard(loaded, submission.student, submission.note))
            tasks = [GradeTask(s.student, str(s.path), problem, runner, tuple(str(d) for d in problems_dirs or []),
                               limits.model_dump_json() if limits else None, max_bytes=max_file_bytes)
                     for s in pending if s.path is not None]
            if tasks:
                create_executor(executor, workers=workers, **(executor_options or {})).run(tasks, finish_task)
        finally:
            _write_reports(journal, loaded.rubric, submissions, out_dir, problem=loaded.problem.id,
                           version=loaded.problem.version, wall_s=time.monotonic() - started)
        regrade_report = write_regrade_report(out_dir)
        return BatchResult(total=len(submissions), graded_now=len(pending), already_done=len(done),
                           failures=failures, wall_s=time.monotonic() - started, out_dir=out_dir, statuses=statuses,
                           regrade=regrade_report)


def keep_source(out_dir: Path, submission: Submission, max_bytes: int) -> None:
    """Copy the file graded into ``OUT/sources/<student>.py|.ipynb``, for the HTML and similarity reports.

    The copy is made from the file the batch graded (already checked: no link, within the cap); a student with no
    file to grade keeps none, and a copy of another suffix from an earlier run is removed.
    """
    folder = out_dir / SOURCES_DIR
    suffix = NOTEBOOK_SUFFIX if submission.path is not None and is_notebook(submission.path) else ".py"
    for stale in SOURCE_SUFFIXES:
        if stale != suffix or submission.path is None:
            (folder / f"{submission.student}{stale}").unlink(missing_ok=True)
    if submission.path is None:
        return
    try:
        with open(submission.path, "rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError:
        return  # the scorecard already says what was wrong with the file; the reports then show no source
    if len(data) <= max_bytes:
        write_atomically(folder / f"{submission.student}{suffix}", data)


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

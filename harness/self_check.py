"""A student's self-check: the visible items on the visible configurations, correctness only, fast.

The pack is narrowed before anything runs (:meth:`~harness.packs.pack.Pack.self_check_view`): hidden
configurations are never constructed, hidden and later-released items never evaluated, the benchmark never timed.
So nothing the check says can come from what the student should not see, and the run is a fraction of a grading.
The report leaves out the seed, the items' details and the diagnoses' evidence, and says what the full grading adds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runners.base import Runner, create_runner

from .api import grade_with_pack, internal_error_scorecard
from .batch.executors import GradeTask, create_executor
from .engine.checks import NO_BENCHMARK
from .models import Diagnosis, ItemResult, Scorecard
from .models.self_check import SelfCheck, UncheckedItem
from .packs.pack import Pack
from .packs.registry import PackRegistry


def self_check(submission: str | Path, problem: str | Path, runner: str | Runner = "local", *,
               problems_dirs: list[Path] | None = None) -> SelfCheck:
    """Check one file against a problem's visible items; raises as :func:`harness.grade` does for bad arguments.

    Raises :class:`~harness.packs.pack.SelfCheckUnavailable` for a problem whose binding configuration is hidden.
    """
    path = Path(submission)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such submission file")
    return self_check_with_pack(PackRegistry(problems_dirs).load(problem), path, runner)


SELF_CHECK_LIMITS = {"probe_s": 5.0, "wall_s": 20.0}
"""Tighter time limits than a grading's (never looser than the problem's): a self-check is for quick answers, and a
file that loops forever should say so in seconds."""


def self_check_with_pack(full: Pack, path: Path, runner: str | Runner) -> SelfCheck:
    """:func:`self_check` with the problem already loaded (a batch of checks loads it once)."""
    started = time.monotonic()
    view = full.self_check_view()
    limits = view.problem.limits
    tighter = {name: min(getattr(limits, name), cap) for name, cap in SELF_CHECK_LIMITS.items()}
    card = grade_with_pack(view, path, runner, limits=limits.model_copy(update=tighter))
    return _report(card, full, view, time.monotonic() - started)


def check_many(paths: list[Path], problem: str | Path, runner_name: str = "local", *, workers: int = 1,
               problems_dirs: list[Path] | None = None,
               progress: Callable[[SelfCheck], None] | None = None) -> list[SelfCheck]:
    """Self-check several files, results in the order given.

    With one worker, in this process with one runner (its warm sandbox reused); with more, on local worker processes
    that each keep their own runner, as a batch grades.
    """
    full = PackRegistry(problems_dirs).load(problem)  # a bad problem is a usage error before any work starts
    full.self_check_view()
    if workers <= 1 or len(paths) <= 1:
        runner = create_runner(runner_name)
        try:
            reports = []
            for path in paths:
                reports.append(self_check_with_pack(full, path, runner))
                if progress is not None:
                    progress(reports[-1])
            return reports
        finally:
            runner.close()
    tasks = [GradeTask(str(index), str(path), str(problem), runner_name, tuple(str(d) for d in problems_dirs or []),
                       None, self_check=True) for index, path in enumerate(paths)]
    results: dict[int, SelfCheck] = {}

    def finish(task: GradeTask, outcome: str | BaseException) -> None:
        if isinstance(outcome, BaseException):
            card = internal_error_scorecard(full, Path(task.path), runner_name, outcome)
            results[int(task.student)] = _report(card, full, full.self_check_view(), 0.0)
        else:
            results[int(task.student)] = SelfCheck.model_validate_json(outcome)
        if progress is not None:
            progress(results[int(task.student)])

    create_executor("process", workers=min(workers, len(paths))).run(tasks, finish)
    return [results[index] for index in range(len(paths))]


def _left_to_full_grading(item: ItemResult) -> bool:
    """Whether the check skipped the item only because a self-check runs no benchmark.

    A skip for any other reason (a module that never produced an output) would happen in the full grading too, so
    that item counts as checked.
    """
    return item.status == "skipped" and item.feedback.startswith(NO_BENCHMARK)


def _report(card: Scorecard, full: Pack, view: Pack, wall_s: float) -> SelfCheck:
    checked = [item.model_copy(update={"details": {}}) for item in card.items if not _left_to_full_grading(item)]
    unchecked = [UncheckedItem(id=item.id, title=item.title, max_points=item.max_points)
                 for item in card.items if _left_to_full_grading(item)]
    shown = {item.id for item in view.rubric.items}
    diagnoses = [Diagnosis(id=d.id, message=d.message, items=[i for i in d.items if i in shown])
                 for d in card.diagnoses if not d.items or any(i in shown for i in d.items)]
    return SelfCheck(
        problem=card.problem, submission=card.submission, status=card.status, message=card.message,
        score=round(sum(item.points for item in checked), 4), max_score=sum(item.max_points for item in checked),
        items=checked, diagnoses=diagnoses, not_checked=unchecked, full_grading_adds=_additions(full, view, unchecked),
        full_max_score=full.rubric.max_score, logs=card.logs, wall_s=round(wall_s, 3))


def _additions(full: Pack, view: Pack, unchecked: list[UncheckedItem]) -> list[str]:
    """What the full grading does that this check did not, without a word about what is hidden in it."""
    adds = []
    if unchecked:
        adds.append("It decides " + ", ".join(f"{u.title} ({u.max_points:g} points)" for u in unchecked) + ".")
    if full.problem.benchmark is not None:
        adds.append("It times your code and measures its memory against the reference at a larger size.")
    hidden_points = full.rubric.max_score - view.rubric.max_score
    if hidden_points > 0:
        adds.append(f"It grades further items, worth {hidden_points:g} of its {full.rubric.max_score:g} points, that "
                    "are not shown before grading.")
    if len(full.problem.configs) > len(view.problem.configs):
        adds.append("It runs your code on more configurations than the ones checked here.")
    adds.append("It draws new secret parameter values and inputs, so a file tuned to this check gains nothing.")
    return adds

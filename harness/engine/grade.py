"""Grade one submission: static checks, the sandboxed run, trusted analysis, item checks, the scorecard."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path

from runners.base import Limits, ResourceUsage, Runner, RunnerReport, RunResult, startup_fault

from ..models import ItemResult, Problem, ProblemRef, Rubric, RubricItem, Scorecard, SubmissionRef
from .analysis import Evidence, analyse
from .benchmark import MEMORY_PROBE, probe_memory_mb, reference_memory_mb, reference_timer
from .checks import ITEM_CHECKS, CheckContext, ItemOutcome, check_structural_item
from .diagnosis import Search
from .plan import build_plan
from .reference import ReferenceSolution
from .report import build_diagnoses
from .static import analyse_source
from .status import decide_status


def score_item(item: RubricItem, outcome: ItemOutcome) -> ItemResult:
    """The item's result: points for its status, and the rubric's hint after feedback that did not pass."""
    fraction = {"passed": 1.0, "partial": outcome.fraction}.get(outcome.status, 0.0)
    feedback = outcome.feedback
    if outcome.status not in ("passed", "skipped") and item.hint:
        feedback = f"{feedback} Hint: {item.hint}"
    return ItemResult(
        id=item.id,
        title=item.title,
        status=outcome.status,
        points=round(item.points * max(0.0, min(1.0, fraction)), 4),
        max_points=item.points,
        visibility=item.visibility,
        feedback=feedback,
        details=outcome.details,
    )


def _evaluate(item: RubricItem, context: CheckContext) -> ItemOutcome:
    check = ITEM_CHECKS.get(item.id)
    if check is not None:
        return check(context)
    if item.id in context.evidence.reference.structural_items:
        return check_structural_item(item.id, context)
    return ItemOutcome("skipped", "Not checked by this version of the grader; no points are awarded for it.")


def syntax_error_run(runner: Runner, limits: Limits) -> RunResult:
    """The run of a file that does not parse: nothing was run."""
    return RunResult(outcome="completed", reason="not run: the file does not parse",
                     resources=ResourceUsage(wall_s=0.0),
                     runner=RunnerReport(name=runner.name, limits=limits, enforced={}))


def grade_submission(
    submission: Path,
    problem: Problem,
    rubric: Rubric,
    reference: ReferenceSolution,
    runner: Runner,
    *,
    seed: int | None = None,
    limits: Limits | None = None,
    device: str | None = None,
) -> Scorecard:
    """Grade ``submission``; every outcome of the candidate's code becomes a scorecard, never an exception."""
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    seed = secrets.randbits(62) if seed is None else seed
    limits = limits or problem.limits
    device = device or problem.device
    source_bytes = submission.read_bytes()
    # The bytes, not a decoded copy: the scan reads them with Python's own rules (coding cookie, BOM), refusing what
    # it cannot vouch for as the candidate's compile error.
    static = analyse_source(source_bytes, str(submission), problem.banned_callables)
    timer = reference_timer(problem, reference, seed, device) if static.syntax_error is None else None
    plan = build_plan(problem, submission, seed, limits, timer, device)
    if static.syntax_error is not None:
        run = syntax_error_run(runner, limits)
        evidence = Evidence(problem=problem, reference=reference, run=run, load=None, report=None, configs=[],
                            search=Search())
    else:
        runner.ensure_ready(limits, device)
        run = runner.run(plan.job)
        fault = startup_fault(run, runner.name)
        if fault is not None:  # nothing of the candidate's had been loaded: the harness's fault, never a zero
            run.outcome, run.reason = "sandbox_error", fault
        memory_probe = run.probe_results.get(MEMORY_PROBE)
        measured = memory_probe is not None and probe_memory_mb(memory_probe, device) is not None
        reference_memory = reference_memory_mb(problem, reference, runner, device) if measured else None
        evidence = analyse(problem, reference, plan, run, reference_memory)
    context = CheckContext(evidence=evidence, static=static)
    items = [score_item(item, _evaluate(item, context)) for item in rubric.items]
    if static.syntax_error is not None:
        error = static.syntax_error
        status, message = "compile_error", f"Syntax error at line {error['line']}: {error['message']}."
    else:
        status, message = decide_status(evidence)
    return Scorecard(
        problem=ProblemRef(id=problem.id, version=problem.version),
        submission=SubmissionRef(path=str(submission), sha256=hashlib.sha256(source_bytes).hexdigest()),
        status=status,
        message=message,
        score=round(sum(item.points for item in items), 4),
        max_score=rubric.max_score,
        items=items,
        diagnoses=build_diagnoses(evidence, static),
        resources=run.resources,
        logs=run.output,
        runner=run.runner,
        grading_s=round(time.monotonic() - started, 3),
        seed=seed,
        started_at=started_at,
        finished_at=datetime.now(timezone.utc),
    )

"""Grade one submission against a pack's problem: static scan, sandboxed calls, diagnosis, checks, scorecard."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runners.base import Limits, Runner, not_the_candidates_fault, startup_fault

from ..engine.checks import ItemOutcome, describe_error
from ..engine.grade import score_item, syntax_error_run
from ..engine.static import analyse_source
from ..models import Diagnosis, ProblemRef, RubricItem, Scorecard, SubmissionRef, SubmissionStatus
from .benchmark import attach_timer
from .checks import LIBRARY
from .evidence import PackEvidence, collect, diagnose
from .pack import SpecPack
from .plan import build_pack_plan

MISTAKE_FREE = "mistake_free"


def _check_of(item: RubricItem, evidence: PackEvidence) -> tuple[Any, dict[str, Any]]:
    name = item.check or item.id
    parameters = dict(item.with_)
    function = evidence.reference.checks.get(name) or LIBRARY.get(name)
    if function is None and any(item.id in m.items for m in evidence.reference.mistakes):
        name, function = MISTAKE_FREE, LIBRARY[MISTAKE_FREE]
    if name == MISTAKE_FREE:
        parameters.setdefault("item", item.id)
    return function, parameters


def _evaluate(item: RubricItem, evidence: PackEvidence) -> ItemOutcome:
    function, parameters = _check_of(item, evidence)
    if function is None:
        return ItemOutcome("skipped", "Not checked by this version of the grader; no points are awarded for it.")
    outcome: ItemOutcome = function(evidence, **parameters)
    return outcome


def _name_mistakes(evidence: PackEvidence, outcomes: dict[str, ItemOutcome]) -> list[str]:
    """The flags of the diagnosis, then the mistakes named by the items' verdicts."""
    named = sorted(evidence.diagnosis.flags or ())
    interface = outcomes.get("interface")
    if interface is not None and interface.status != "passed":
        return named  # a mistake is named only in code that meets the interface
    for mistake in evidence.reference.mistakes:
        if mistake.named_when is None:
            continue
        failed = all(outcomes.get(i) is not None and outcomes[i].status == "failed"
                     and outcomes[i].details.get("verified", True) for i in mistake.named_when.get("failed", ()))
        passed = all(outcomes.get(i) is not None and outcomes[i].status == "passed"
                     for i in mistake.named_when.get("passed", ()))
        if failed and passed:
            named.append(mistake.id)
    return named


def _status(evidence: PackEvidence) -> tuple[SubmissionStatus, str]:
    run, entry = evidence.run, evidence.problem.entry
    if run.outcome == "sandbox_error":
        return "internal_error", not_the_candidates_fault(run.reason)
    if run.outcome == "timeout":
        return "timeout", f"Your code was stopped: {run.reason}. Look for an infinite loop or very slow code."
    if run.outcome == "memory_limit":
        return "memory_limit", f"Your code was stopped: {run.reason}. Look for tensors that grow without bound."
    load = evidence.load
    if load is not None and not load.ok:
        return "compile_error", f"Your file could not be imported: {describe_error(load.error)}."
    facts = evidence.entry.facts if evidence.entry is not None and evidence.entry.ok else {}
    if load is not None and not facts.get("found"):
        return "interface_error", f"Your file defines no {entry.name}."
    for config in evidence.configs:
        if config.construct is not None and not config.construct.ok:
            return "interface_error", (f"{entry.name} could not be constructed for {config.label}: "
                                       f"{describe_error(config.construct.error)}.")
    errors = [call.error for config in evidence.configs for call in config.calls.values()
              if call.result is not None and not call.ok]
    errors += [error for config in evidence.configs for error in config.step_errors if error]
    if errors:
        return "runtime_error", f"Your code raised an exception: {describe_error(errors[0])}."
    if run.outcome == "crashed":
        return "runtime_error", f"Your code ended the run abnormally: {run.reason}."
    return "graded", "Graded."


def _diagnoses(evidence: PackEvidence) -> list[Diagnosis]:
    found = []
    diagnosis = evidence.diagnosis
    shared: dict[str, Any] = {"reference_evaluations": diagnosis.evaluations}
    if diagnosis.binding is not None and hasattr(diagnosis.binding, "describe"):
        shared["binding"] = diagnosis.binding.describe()
    for mistake_id in diagnosis.named:
        mistake = evidence.reference.mistake(mistake_id)
        found.append(Diagnosis(id=mistake.id, message=mistake.message, items=list(mistake.items),
                               evidence=shared if mistake.is_flag else {"from_items": dict(mistake.named_when or {})}))
    return found


def grade_pack_submission(submission: Path, pack: SpecPack, runner: Runner, *, seed: int | None = None,
                          limits: Limits | None = None, device: str | None = None,
                          benchmark: bool = True) -> Scorecard:
    """Grade ``submission``; whatever the candidate's code does becomes a scorecard, never an exception."""
    started_at, started = datetime.now(timezone.utc), time.monotonic()
    problem, rubric, reference = pack.problem, pack.rubric, pack.reference
    seed = secrets.randbits(62) if seed is None else seed
    limits = limits or problem.limits
    source = submission.read_bytes()
    static = analyse_source(source, str(submission), problem.banned)
    plan = build_pack_plan(problem, submission, seed, limits, device or "cpu", benchmark=benchmark)
    if static.syntax_error is not None:
        run = syntax_error_run(runner, limits)
    else:
        attach_timer(problem, reference.solution, plan)
        runner.ensure_ready(limits, device or "cpu")
        run = runner.run(plan.job)
        fault = startup_fault(run, runner.name)
        if fault is not None:
            run.outcome, run.reason = "sandbox_error", fault
    evidence = collect(problem, rubric, reference, plan, run, static)
    evidence.diagnosis = diagnose(evidence)
    evidence.diagnosis.named = sorted(evidence.diagnosis.flags or ())
    outcomes = {item.id: _evaluate(item, evidence) for item in rubric.items}
    evidence.diagnosis.named = _name_mistakes(evidence, outcomes)
    for item in rubric.items:  # the items a named mistake decides, now that every mistake is named
        if _check_of(item, evidence)[0] is LIBRARY[MISTAKE_FREE]:
            outcomes[item.id] = _evaluate(item, evidence)
    items = [score_item(item, outcomes[item.id]) for item in rubric.items]
    if static.syntax_error is not None:
        error = static.syntax_error
        status, message = "compile_error", f"Syntax error at line {error['line']}: {error['message']}."
    else:
        status, message = _status(evidence)
    return Scorecard(
        problem=ProblemRef(id=problem.id, version=problem.version),
        submission=SubmissionRef(path=str(submission), sha256=hashlib.sha256(source).hexdigest()),
        status=status, message=message, score=round(sum(i.points for i in items), 4), max_score=rubric.max_score,
        items=items, diagnoses=_diagnoses(evidence), resources=run.resources, logs=run.output, runner=run.runner,
        grading_s=round(time.monotonic() - started, 3), seed=seed, started_at=started_at,
        finished_at=datetime.now(timezone.utc))

"""The submission's status: how grading ended, decided from the run's outcome and the probes' errors."""

from __future__ import annotations

from runners.base import not_the_candidates_fault

from ..models import SubmissionStatus
from .analysis import Evidence
from .checks import describe_error
from .plan import describe_probe


def _memory_error(error: dict | None) -> bool:
    if not error:
        return False
    message = str(error.get("message", "")).lower()
    return error.get("type") == "MemoryError" or "can't allocate memory" in message or "out of memory" in message


def decide_status(evidence: Evidence) -> tuple[SubmissionStatus, str]:
    """The worst thing that happened, with a one-line message for the candidate."""
    run = evidence.run
    class_name = evidence.problem.interface.class_name
    step = describe_probe(run.interrupted_probe)
    in_benchmark = (run.interrupted_probe or "").startswith("bench")
    if run.outcome == "sandbox_error":
        return "internal_error", not_the_candidates_fault(run.reason)
    if run.outcome == "timeout" and not in_benchmark:
        return "timeout", (f"Your code was stopped while {step}: {run.reason}. "
                           "Look for an infinite loop or very slow code.")
    if run.outcome == "memory_limit":
        return "memory_limit", (f"Your code was stopped while {step}: {run.reason}. "
                                "Look for tensors that grow without bound.")
    load = evidence.load
    if load is not None and not load.ok:
        return "compile_error", f"Your file could not be imported: {describe_error(load.error)}."
    if load is not None and not load.facts.get("is_module"):
        if not load.facts.get("found"):
            return "interface_error", f"Your file defines no class named {class_name}."
        return "interface_error", f"{class_name} is not a subclass of torch.nn.Module."
    for config in evidence.configs:
        if config.construct_error:
            return "interface_error", (f"{class_name} could not be constructed for {config.label}: "
                                       f"{describe_error(config.construct_error)}.")
        if config.output_facts and "output_type" not in config.output_facts and not config.forward_error:
            return "interface_error", "forward(x) did not return a tensor."
    errors = [c.forward_error or c.backward_error for c in evidence.configs if c.forward_error or c.backward_error]
    if any(_memory_error(error) for error in errors):
        return "memory_limit", "Your code ran out of memory."
    if errors:
        return "runtime_error", f"Your code raised an exception: {describe_error(errors[0])}."
    if run.outcome == "crashed" and not in_benchmark:
        return "runtime_error", f"Your code ended the run abnormally while {step}: {run.reason}."
    return "graded", "Graded."

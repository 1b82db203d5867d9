"""One check per rubric item, registered by the item's id.

A check reads the trusted evidence and returns an :class:`ItemOutcome`; it never raises for anything the candidate
did. An item with no registered check is reported as skipped (0 points), never as passed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..models import ItemStatus
from .analysis import ConfigEvidence, Evidence
from .benchmark import MEMORY_PROBE
from .reference import words
from .static import StaticFindings

NO_BENCHMARK = "This problem defines no benchmark."
"""The feedback of an item that needs the benchmark where the problem (or a self-check's view of it) has none."""


@dataclass
class ItemOutcome:
    """The verdict on one item, before points are attached."""

    status: ItemStatus
    feedback: str
    fraction: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    """What a check may read."""

    evidence: Evidence
    static: StaticFindings

    @property
    def configs(self) -> list[ConfigEvidence]:
        """Every configuration's evidence, in plan order."""
        return self.evidence.configs


Check = Callable[[CheckContext], ItemOutcome]
ITEM_CHECKS: dict[str, Check] = {}


def item_check(item_id: str) -> Callable[[Check], Check]:
    """Register the check that grades rubric items with this id."""

    def register(function: Check) -> Check:
        ITEM_CHECKS[item_id] = function
        return function

    return register


def describe_error(error: dict[str, Any] | None) -> str:
    """``RuntimeError: message (line 23: `code`)`` from an error the agent reported."""
    if not error:
        return "an unknown error"
    text = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    where = error.get("where") or []
    if where:
        last = where[-1]
        text += f" (raised at line {last['line']} of your file, in {last['function']}: `{last['code']}`)"
    elif error.get("line"):
        text += f" (line {error['line']}: `{error.get('code', '')}`)"
    return text


def _interrupted(ctx: CheckContext) -> str:
    run = ctx.evidence.run
    if run.outcome == "completed":
        return ""
    return f" The run ended early ({run.reason}), so only what was verified before that counts."


def _verified_fraction(passed: int, total: int) -> tuple[ItemStatus, float]:
    if total and passed == total:
        return "passed", 1.0
    if passed:
        return "partial", passed / total
    return "failed", 0.0


def _not_run(ctx: CheckContext, what: str) -> ItemOutcome:
    return ItemOutcome("failed", f"Could not check {what}: your module never produced an output." + _interrupted(ctx))


@item_check("interface")
def check_interface(ctx: CheckContext) -> ItemOutcome:
    """The class exists, is an nn.Module, constructs for every configuration, and forward returns a tensor."""
    interface = ctx.evidence.problem.interface
    if ctx.static.syntax_error is not None:
        error = ctx.static.syntax_error
        return ItemOutcome("failed", f"Your file has a syntax error at line {error['line']}: {error['message']}.",
                           details={"syntax_error": error})
    load = ctx.evidence.load
    if load is None:
        return ItemOutcome("failed", "Your file was never loaded." + _interrupted(ctx))
    if not load.ok:
        return ItemOutcome("failed", f"Your file could not be imported: {describe_error(load.error)}.",
                           details={"error": load.error})
    if not load.facts.get("found"):
        defined = ", ".join(load.facts.get("top_level_names", [])) or "nothing"
        return ItemOutcome("failed", f"No class named {interface.class_name} at the top level of your file "
                           f"(it defines: {defined}).")
    if not load.facts.get("is_module"):
        return ItemOutcome("failed", f"{interface.class_name} must be a subclass of torch.nn.Module.")
    reached = ctx.evidence.reached()
    failures = [c for c in reached if c.construct_error]
    if failures:
        first = failures[0]
        args = ", ".join(interface.constructor_args)
        return ItemOutcome(
            "failed",
            f"{interface.class_name}({args}) failed for {first.label}: {describe_error(first.construct_error)}.",
            details={"failed_configs": [c.config.name for c in failures]},
        )
    bad_outputs = [c for c in reached if c.output_facts and "output_type" not in c.output_facts]
    if bad_outputs:
        facts = bad_outputs[0].output_facts
        kind = facts.get("first_element_kind") or facts.get("output_kind")
        return ItemOutcome("failed", f"forward(x) must return a torch.Tensor (or a tuple starting with one); "
                           f"yours returned {kind}.", details={"output": facts})
    tuples = [c for c in reached if c.output_facts.get("output_kind") == "tuple"]
    if tuples and not interface.allow_tuple_output:
        return ItemOutcome("failed", "forward(x) must return a tensor, not a tuple.")
    if not reached:
        return ItemOutcome("failed", "Your module was never constructed." + _interrupted(ctx))
    total = len(ctx.configs)
    note = "" if len(reached) == total else f" (verified on {len(reached)} of {total} configurations)"
    return ItemOutcome("passed", f"{interface.class_name} loads, constructs and is callable{note}.", 1.0)


@item_check("output_shape")
def check_output_shape(ctx: CheckContext) -> ItemOutcome:
    """Every configuration's output has the input's shape."""
    with_output = [c for c in ctx.configs if c.output is not None]
    if not with_output:
        return _not_run(ctx, "the output shape")
    wrong = [c for c in with_output if not c.shape_ok]
    missing = [c for c in ctx.configs if c.output is None]
    passed = len(with_output) - len(wrong)
    status, fraction = _verified_fraction(passed, len(ctx.configs))
    details: dict[str, Any] = {"wrong_shape": {}, "no_output": [c.config.name for c in missing]}
    messages = []
    for evidence in wrong:
        assert evidence.output is not None
        got, want = tuple(evidence.output.shape), evidence.expected_shape
        if not evidence.config.hidden:
            details["wrong_shape"][evidence.config.name] = {"expected": list(want), "got": list(got)}
        hint = ""
        if len(got) == 3 and got == (want[1], want[0], want[2]):
            hint = " It looks batch-first: return (seq_len, batch, embed_dim), the layout of the input."
        shown = f"expected {want}, got {got}" if not evidence.config.hidden else "wrong shape"
        messages.append(f"For {evidence.label}: {shown}.{hint}")
    for evidence in missing:
        reason = describe_error(evidence.forward_error) if evidence.forward_error else "not reached"
        messages.append(f"For {evidence.label}: no output ({reason}).")
    if status == "passed":
        return ItemOutcome(status, "The output has the shape of the input in every configuration.", 1.0)
    return ItemOutcome(status, " ".join(messages[:4]) + _interrupted(ctx), fraction, details)


def _config_errors(configs: list[ConfigEvidence], attribute: str) -> dict[str, Any]:
    return {c.config.name: getattr(c, attribute).evidence() for c in configs if getattr(c, attribute) is not None}


def _search_details(ctx: CheckContext) -> dict[str, Any]:
    search = ctx.evidence.search
    details: dict[str, Any] = {
        "search_config": search.config,
        "readings_tried": search.tried,
        "search_seconds": round(search.seconds, 3),
    }
    if search.match is not None:
        details["binding"] = search.match.binding.describe()
        details["mistakes"] = list(search.match.mistakes)
    if search.closest is not None:
        details["closest_correct"] = search.closest.evidence()
    return details


def _unmapped_reason(ctx: CheckContext) -> str | None:
    """Why no reading was searched or found, or None when the behaviour leaves the question open."""
    if not any(c.shape_ok for c in ctx.configs):
        if not any(c.output is not None for c in ctx.configs):
            return "your module never produced an output" + _interrupted(ctx)
        return "your output never has the expected shape"
    if ctx.evidence.nondeterministic():
        return "your output changes from one call to the next on the same input"
    behaviours = [c.behaviour for c in ctx.configs if c.behaviour is not None]
    # Said in words here, not by pointing at the diagnoses: not every behaviour has a diagnosis of its own.
    seen = []
    if any(b.batch_independent is False for b in behaviours):
        seen.append("changing one batch element changed the outputs of the others")
    if any(b.mixes_positions is False for b in behaviours):
        seen.append("changing one position left the outputs at the other positions unchanged")
    if any(b.permutation_equivariant is False for b in behaviours):
        seen.append("permuting the positions of the input did not permute the output the same way")
    if seen:
        return (f"your module's behaviour is not that of {words(ctx.evidence.reference, 'computation')} ("
                + "; ".join(seen) + ")")
    return None


def _mistake_lines(ctx: CheckContext, mistakes: tuple[str, ...]) -> str:
    catalogue = ctx.evidence.reference.mistakes
    return " ".join(catalogue[m].message for m in mistakes if m in catalogue)


@item_check("matches_reference")
def check_matches_reference(ctx: CheckContext) -> ItemOutcome:
    """The output equals the reference's under the candidate's own weights, in every configuration."""
    search = ctx.evidence.search
    total = len(ctx.configs)
    details = _search_details(ctx)
    if search.match is None:
        reason = _unmapped_reason(ctx)
        closest = details.get("closest_correct", {}).get("relative_error", "n/a")
        if reason is not None:
            return ItemOutcome("failed", f"Your output cannot equal the reference's: {reason}.", details=details)
        if search.closest is not None:
            return ItemOutcome(
                "failed",
                f"Your output does not match the reference under any reading of your parameters "
                f"({search.tried} tried; the closest has relative error {closest}), nor any combination of the "
                f"known mistakes. {words(ctx.evidence.reference, 'check_advice')}",
                details=details)
        return ItemOutcome(
            "skipped",
            f"Could not map your parameters to {words(ctx.evidence.reference, 'roles')}, so your output could not be "
            "compared with "
            "the reference; it was graded on behaviour only and is flagged for review by a person.",
            details=details)
    mistakes = search.match.mistakes
    if mistakes:
        differs = f" (relative error {search.closest.relative_error:.3g})" if search.closest else ""
        return ItemOutcome(
            "failed",
            f"Your output differs from the reference{differs}. It is reproduced exactly (relative error "
            f"{search.match.comparison.relative_error:.2g}) by the reference with these mistakes: "
            f"{', '.join(mistakes)}. {_mistake_lines(ctx, mistakes)}",
            details=details)
    matched = [c for c in ctx.configs if c.correct]
    mismatched = [c for c in ctx.configs if not c.correct]
    status, fraction = _verified_fraction(len(matched), total)
    details["errors"] = _config_errors([c for c in ctx.configs if not c.config.hidden], "match")
    details["mismatched"] = [c.config.name for c in mismatched]
    if status == "passed":
        return ItemOutcome(status, f"Your output matches the reference in all {total} configurations.", 1.0,
                           details)
    lines = []
    for evidence in mismatched[:4]:
        if evidence.match is not None:
            worst = evidence.match
            if evidence.backward_match is not None and not evidence.backward_match.matches:
                worst = evidence.backward_match
            lines.append(f"{evidence.label}: max abs error {worst.max_abs_error:.3g}, "
                         f"relative error {worst.relative_error:.3g}")
        elif evidence.output is None:
            reason = describe_error(evidence.forward_error) if evidence.forward_error else "not reached"
            lines.append(f"{evidence.label}: no output ({reason})")
        else:
            lines.append(f"{evidence.label}: output of the wrong shape")
    return ItemOutcome(
        status,
        f"Your output matches the reference in {len(matched)} of {total} configurations; it differs for "
        + "; ".join(lines) + "." + _interrupted(ctx),
        fraction,
        details,
    )


def check_structural_item(item_id: str, ctx: CheckContext) -> ItemOutcome:
    """An item decided by the diagnosis.

    Failed if a diagnosed mistake violates it, passed if the output is explained without such a mistake; without
    a diagnosis only the layout item can be decided, by behaviour.
    """
    reference = ctx.evidence.reference
    match = ctx.evidence.search.match
    if match is not None:
        violating = [m for m in match.mistakes if item_id in reference.mistakes[m].items]
        if violating:
            return ItemOutcome("failed", _mistake_lines(ctx, tuple(violating)),
                               details={"mistakes": violating, "binding": match.binding.describe()})
        others = [m for m in match.mistakes if m not in violating]
        note = f" (your output is explained by other mistakes: {', '.join(others)})" if others else ""
        return ItemOutcome("passed", f"Verified against the reference{note}.", 1.0)
    reason = _unmapped_reason(ctx)
    if item_id == getattr(reference, "layout_item", None) and not ctx.evidence.nondeterministic():
        behaviours = [(c, c.behaviour) for c in ctx.configs if c.behaviour and c.behaviour.sequence_first is not None]
        if behaviours:
            bad = [(c, b) for c, b in behaviours if not b.sequence_first]
            if not bad:
                return ItemOutcome("passed", "Checked on behaviour: batch elements stay independent and positions "
                                   "of a sequence are mixed.", 1.0)
            config, behaviour = bad[0]
            problems = []
            if not behaviour.batch_independent:
                problems.append("changing one batch element changed the outputs of the others")
            if not behaviour.mixes_positions:
                problems.append("changing one position did not change the outputs at the other positions")
            layout = words(reference, "layout_mistake")
            advice = reference.mistakes[layout].message if layout in reference.mistakes else ""
            return ItemOutcome("failed", f"For {config.label}: " + " and ".join(problems) + ". " + advice,
                               details={"behaviour": {c.config.name: vars(b) for c, b in behaviours}})
    decided = ctx.evidence.isolated.get(item_id)
    if decided is not None:
        return ItemOutcome(decided.status, decided.feedback, 1.0 if decided.status == "passed" else 0.0,
                           details={"isolated": True})
    why = reason or "no reading of your parameters reproduces your output"
    if ctx.evidence.isolated:
        why += ", and this part could not be checked on its own"
    return ItemOutcome("skipped", f"Could not be diagnosed: {why}.")


@item_check("gradients")
def check_gradients(ctx: CheckContext) -> ItemOutcome:
    """Input and parameter gradients equal the reference's under the same weights."""
    match = ctx.evidence.search.match
    if match is None:
        if _unmapped_reason(ctx) is None and ctx.evidence.search.closest is None:
            return ItemOutcome("skipped", "Could not map your parameters to the reference's, so gradients could "
                               "not be compared (flagged for review by a person).")
        return ItemOutcome("failed", "Gradients could not be compared: your forward pass does not match the "
                           "reference under any reading of your parameters (see matches_reference).")
    if match.mistakes:
        return ItemOutcome("failed", "Your gradients cannot match the reference's because your forward pass does "
                           f"not ({', '.join(match.mistakes)}); fix the forward pass first.")
    total = len(ctx.configs)
    good, problems = 0, []
    details: dict[str, Any] = {}
    for evidence in ctx.configs:
        if evidence.backward_error:
            problems.append(f"{evidence.label}: backward failed: {describe_error(evidence.backward_error)}")
            continue
        if evidence.gradient_problem:
            problems.append(f"{evidence.label}: {evidence.gradient_problem}")
            continue
        if evidence.grad_input is None and not evidence.grad_params:
            continue
        wrong = {name: cmp for name, cmp in evidence.grad_params.items() if not cmp.matches}
        input_ok = evidence.grad_input is not None and evidence.grad_input.matches
        if input_ok and not wrong:
            good += 1
            continue
        parts = []
        if not input_ok and evidence.grad_input is not None:
            parts.append(f"d/dx relative error {evidence.grad_input.relative_error:.3g}")
        for name, cmp in list(wrong.items())[:4]:
            parts.append(f"d/d{name}: {cmp.reason or f'relative error {cmp.relative_error:.3g}'}")
        problems.append(f"{evidence.label}: " + ", ".join(parts))
        if not evidence.config.hidden:
            details[evidence.config.name] = {
                "input": evidence.grad_input.evidence() if evidence.grad_input else None,
                "parameters": {name: cmp.evidence() for name, cmp in evidence.grad_params.items()},
            }
    status, fraction = _verified_fraction(good, total)
    if status == "passed":
        return ItemOutcome(status, "Input and parameter gradients match the reference in every configuration.",
                           1.0)
    if not problems:
        problems.append("no gradients were computed")
    return ItemOutcome(
        status,
        f"Gradients match in {good} of {total} configurations. " + "; ".join(problems[:3]) + "."
        + _interrupted(ctx),
        fraction,
        details,
    )


@item_check("deterministic")
def check_deterministic(ctx: CheckContext) -> ItemOutcome:
    """Two forward calls on the same input in eval mode agree."""
    compared = [c for c in ctx.configs if c.determinism is not None]
    if not compared:
        return _not_run(ctx, "determinism")
    differing = [c for c in compared if not c.determinism.matches]  # type: ignore[union-attr]
    if differing:
        first = differing[0]
        assert first.determinism is not None
        cause = ctx.evidence.reference.mistakes[words(ctx.evidence.reference, "dropout_mistake")].message \
            if ctx.evidence.dropout_left_on else "Layers or random numbers created inside forward do this."
        return ItemOutcome(
            "failed",
            f"Calling forward twice on the same input gave different outputs ({first.label}: max difference "
            f"{first.determinism.max_abs_error:.3g}). {cause}",
            details={"differing": [c.config.name for c in differing]},
        )
    if len(compared) < len(ctx.configs):
        return ItemOutcome("passed", f"Deterministic in the {len(compared)} configurations that ran.", 1.0)
    return ItemOutcome("passed", "Repeated calls give identical outputs.", 1.0)


@item_check("from_scratch")
def check_from_scratch(ctx: CheckContext) -> ItemOutcome:
    """No banned callable in the source, and none reached at run time."""
    uses = ctx.static.banned_uses
    report = ctx.evidence.report
    calls = {name: count for name, count in (report.facts.get("banned_calls", {}) if report and report.ok
                                              else {}).items() if count}
    if uses or calls:
        parts = [f"line {use['line']}: `{use['code']}` uses {use['callable']}" for use in uses[:3]]
        parts += [f"{name} was called {count} times" for name, count in calls.items()]
        builtin = words(ctx.evidence.reference, "builtin")
        return ItemOutcome("failed", f"The task asks for this written without {builtin}, but " + "; ".join(parts)
                           + ".", details={"source": uses, "runtime_calls": calls})
    hidden = ctx.static.unverifiable
    if hidden:
        parts = [f"line {use['line']}: `{use['code']}` ({use['reason']})" for use in hidden[:3]]
        return ItemOutcome("failed", "What your code calls cannot be verified: " + "; ".join(parts) + ". Call "
                           "torch functions directly by name.", details={"unverifiable": hidden})
    if report is None or not report.ok or not any(c.output is not None for c in ctx.configs):
        return ItemOutcome("failed", "Not verified: your module never completed a forward pass, so we cannot "
                           f"confirm that it avoids {words(ctx.evidence.reference, 'builtin')}." + _interrupted(ctx))
    ran = [c for c in ctx.configs if c.output is not None]
    note = "" if len(ran) == len(ctx.configs) else \
        f" (verified on the {len(ran)} of {len(ctx.configs)} configurations that ran)"
    return ItemOutcome("passed", f"No use of {words(ctx.evidence.reference, 'builtin')}{note}.", 1.0)


def _benchmark_not_run(ctx: CheckContext, what: str) -> ItemOutcome | None:
    bench = ctx.evidence.benchmark
    if ctx.evidence.problem.benchmark is None:
        return ItemOutcome("skipped", NO_BENCHMARK)
    if bench is None:
        return ItemOutcome("failed", "Not measured: your module never reached the benchmark." + _interrupted(ctx))
    run = ctx.evidence.run
    if bench.timed_out and run.outcome == "timeout":
        spec = ctx.evidence.problem.benchmark
        return ItemOutcome("failed", f"A single forward call at the benchmark size ({_sizes(spec.sizes)}) did not "
                           f"finish within its time budget: {run.reason}.", details={"probe": bench.timed_out})
    if bench.failure:
        return ItemOutcome("failed", f"Not measured: {bench.failure}.")
    if bench.timed_out:
        return ItemOutcome("failed", f"The run ended while measuring {what}: {run.reason}.")
    if bench.unverified:
        return ItemOutcome("skipped", f"Not measured: {bench.unverified}; a person should look at it.")
    return None


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sizes.items())


@item_check("performance")
def check_performance(ctx: CheckContext) -> ItemOutcome:
    """The typical (lower-quartile) forward time at the benchmark size is within the factor of the reference's."""
    problem = ctx.evidence.problem
    stopped = _benchmark_not_run(ctx, "the speed")
    if stopped is not None:
        return stopped
    bench = ctx.evidence.benchmark
    assert bench is not None and problem.benchmark is not None
    spec = problem.benchmark
    if bench.ratio is None:
        return ItemOutcome("failed", "Not measured: your module never reached the benchmark." + _interrupted(ctx))
    candidate_typical = bench.typical(bench.candidate_times)
    reference_typical = bench.typical(bench.reference_times)
    details = {
        "sizes": spec.sizes,
        "candidate_s": round(candidate_typical, 5),
        "reference_s": round(reference_typical, 5),
        "candidate_median_s": round(statistics.median(bench.candidate_times), 5),
        "reference_median_s": round(statistics.median(bench.reference_times), 5),
        "ratio": round(bench.ratio, 2),
        "allowed_ratio": spec.max_time_ratio,
        "candidate_spread": round(bench.spread(bench.candidate_times), 3),
        "reference_spread": round(bench.spread(bench.reference_times), 3),
        "calls": len(bench.candidate_times),
        "outputs_verified": bench.checked_checksums,
        "clock": bench.clock,
    }
    if bench.checksum_mismatch:
        return ItemOutcome("failed", "The outputs of your timed calls do not match what the same calls return "
                           "when checked: timing only counts for real computations.", details=details)
    clock = "CPU time" if bench.clock == "cpu" else "time"
    measured = (f"{clock} {candidate_typical * 1000:.1f} ms per forward (lower quartile of "
                f"{len(bench.candidate_times)} calls) at {_sizes(spec.sizes)}, "
                f"{bench.ratio:.2f}x the reference's {reference_typical * 1000:.1f} ms")
    if bench.ratio <= spec.max_time_ratio:
        return ItemOutcome("passed", f"Fast enough: {measured} (allowed {spec.max_time_ratio:g}x).", 1.0, details)
    return ItemOutcome("failed", f"Too slow: {measured}; at most {spec.max_time_ratio:g}x is allowed.", details=details)


# Peak-memory figures of a few MiB are dominated by allocator granularity; below this floor a difference is noise.
MEMORY_FLOOR_MB = 8.0


@item_check("memory")
def check_memory(ctx: CheckContext) -> ItemOutcome:
    """The peak memory of one forward at the benchmark size is within the problem's factor of the reference's."""
    problem = ctx.evidence.problem
    stopped = _benchmark_not_run(ctx, "the memory")
    if stopped is not None:
        return stopped
    bench = ctx.evidence.benchmark
    assert bench is not None and problem.benchmark is not None
    spec = problem.benchmark
    if bench.candidate_memory_mb is None or bench.reference_memory_mb is None:
        if ctx.evidence.run.probe_results.get(MEMORY_PROBE) is None:
            return ItemOutcome("failed", "Not measured: your module never reached the benchmark."
                               + _interrupted(ctx))
        return ItemOutcome("skipped", "Peak memory cannot be measured with this runner on this machine "
                           "(it needs a cgroup memory controller); no points are awarded for it.")
    allowed = spec.max_memory_ratio * max(bench.reference_memory_mb, MEMORY_FLOOR_MB)
    details = {"sizes": spec.sizes, "candidate_peak_mb": bench.candidate_memory_mb,
               "reference_peak_mb": bench.reference_memory_mb, "allowed_mb": round(allowed, 1),
               "measured_by": bench.memory_source}
    measured = (f"peak {bench.candidate_memory_mb:.1f} MiB during one forward at {_sizes(spec.sizes)}, against "
                f"{bench.reference_memory_mb:.1f} MiB for the reference")
    if bench.candidate_memory_mb <= allowed:
        return ItemOutcome("passed", f"Memory is fine: {measured}.", 1.0, details)
    return ItemOutcome("failed", f"Uses too much memory: {measured} (allowed {allowed:.0f} MiB).", details=details)

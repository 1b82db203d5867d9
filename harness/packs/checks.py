"""The library of generic checks for pack problems, registered by name.

A rubric item names its check (``check:``, default: the item's id) and parameters (``with:``). Names resolve to
the pack's own checks first, then to these. A check reads the trusted evidence and returns an ``ItemOutcome``; it
never raises for anything the candidate did, and words nothing specific to one problem: what a mistake means is
the pack's sentence.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import torch

from ..engine.checks import ItemOutcome, describe_error
from ..engine.compare import Comparison, compare
from ..kit import Choice, Defined
from .compare import LawTest, compare_value
from .evidence import CallResult, ConfigEvidence, PackEvidence, candidate_dtype

PackCheckFunction = Callable[..., ItemOutcome]
UNVERIFIED: dict[str, Any] = {"verified": False}
"""The details of a failed item that had nothing to observe: it fails, but names no mistake."""
LIBRARY: dict[str, PackCheckFunction] = {}


def library_check(name: str) -> Callable[[PackCheckFunction], PackCheckFunction]:
    """Register a library check."""

    def register(function: PackCheckFunction) -> PackCheckFunction:
        LIBRARY[name] = function
        return function

    return register


def _interrupted(ev: PackEvidence) -> str:
    run = ev.run
    return "" if run.outcome == "completed" else f" The run ended early ({run.reason}); only what was verified " \
                                                  "before that counts."


def _fraction(passed: int, total: int, feedback_pass: str, feedback_fail: str,
              details: dict[str, Any] | None = None) -> ItemOutcome:
    if total and passed == total:
        return ItemOutcome("passed", feedback_pass, 1.0, details or {})
    if passed:
        return ItemOutcome("partial", feedback_fail, passed / total, details or {})
    return ItemOutcome("failed", feedback_fail, 0.0, details or {})


def _entry_words(ev: PackEvidence) -> str:
    entry = ev.problem.entry
    return {"function": f"a function {entry.name}", "module": f"a torch.nn.Module class {entry.name}",
            "object": f"a class {entry.name}"}[entry.kind]


def _configs(ev: PackEvidence, names: list[str] | None) -> list[ConfigEvidence]:
    return [config for config in ev.configs if names is None or config.name in names]


def _selected(ev: PackEvidence, config: ConfigEvidence, calls: list[str] | None) -> list[CallResult]:
    return [c for name, c in config.calls.items() if calls is None or name in calls]


def _signature_error(error: dict[str, Any] | None) -> bool:
    """A TypeError raised before any line of the candidate's ran: the call did not fit the signature."""
    return bool(error) and error.get("type") == "TypeError" and not error.get("where")  # type: ignore[union-attr]


@library_check("interface")
def interface(ev: PackEvidence) -> ItemOutcome:
    """The entry exists at top level with the declared kind and methods, constructs, and accepts the calls."""
    entry = ev.problem.entry
    if ev.static.syntax_error is not None:
        error = ev.static.syntax_error
        return ItemOutcome("failed", f"Your file has a syntax error at line {error['line']}: {error['message']}.")
    load = ev.load
    if load is None:
        return ItemOutcome("failed", "Your file was never loaded." + _interrupted(ev))
    if not load.ok:
        return ItemOutcome("failed", f"Your file could not be imported: {describe_error(load.error)}.")
    facts = ev.entry.facts if ev.entry is not None and ev.entry.ok else {}
    if not facts.get("found"):
        defined = ", ".join(load.facts.get("top_level_names", [])) or "nothing"
        return ItemOutcome("failed", f"The task asks for {_entry_words(ev)} at the top level of your file; none "
                           f"is defined (your file defines: {defined}).")
    wrong_kind = {"function": facts.get("is_class") or not facts.get("is_callable"),
                  "module": not facts.get("is_module"), "object": not facts.get("is_class")}[entry.kind]
    if wrong_kind:
        return ItemOutcome("failed", f"{entry.name} must be {_entry_words(ev)}.")
    missing = [name for name, present in facts.get("methods", {}).items() if not present]
    if missing:
        return ItemOutcome("failed", f"{entry.name} has no method {', '.join(missing)}.")
    for config in ev.configs:
        if config.construct is not None and not config.construct.ok:
            return ItemOutcome("failed", f"Constructing {entry.name} failed for {config.label}: "
                               f"{describe_error(config.construct.error)}.")
        for call in config.calls.values():
            if call.result is not None and not call.ok and _signature_error(call.error):
                return ItemOutcome("failed", f"Calling {entry.name} as the task specifies failed for {config.label}: "
                                   f"{describe_error(call.error)}.")
        if config.step_errors and _signature_error(config.step_errors[0]):
            return ItemOutcome("failed", f"Calling {entry.name}'s methods as specified failed for {config.label}: "
                               f"{describe_error(config.step_errors[0])}.")
    signature = facts.get("signature", "")
    return ItemOutcome("passed", f"{entry.name}{signature} is defined and can be called as specified.", 1.0)


def _dtype_ok(rule: str | None, config: ConfigEvidence, description: dict[str, Any]) -> bool:
    if rule is None:
        return True
    dtype = str(description.get("dtype", ""))
    if rule == "float":
        return dtype in ("float16", "bfloat16", "float32", "float64")
    if rule.startswith("like "):
        source = config.plan.inputs.get(rule.removeprefix("like "))
        return source is None or dtype == str(source.dtype).removeprefix("torch.")
    return dtype == rule


@library_check("output_spec")
def output_spec(ev: PackEvidence, calls: list[str] | None = None) -> ItemOutcome:
    """Every checked call returns what the problem declares: kind, shape and dtype."""
    checked = passed = 0
    problems: list[str] = []
    for config in ev.configs:
        for call in _selected(ev, config, calls):
            spec = call.plan.spec.output
            if spec is None or call.result is None:
                continue
            checked += 1
            if not call.ok:
                problems.append(f"{config.label}: no output ({describe_error(call.error)})")
                continue
            description = call.description
            if description.get("kind") == "tuple" and spec.tuple_ok and description.get("items"):
                description = description["items"][0]
            if description.get("kind") != "tensor" or not isinstance(call.value, torch.Tensor):
                kind = description.get("type") or description.get("kind")
                problems.append(f"{config.label}: returned {kind}, not a tensor")
                continue
            shape = tuple(description.get("shape", []))
            if spec.like is not None and spec.like in config.plan.inputs:
                wanted = tuple(config.plan.inputs[spec.like].shape)
            elif spec.tensor is not None:
                from .values import shape_of

                wanted = shape_of(spec.tensor, config.plan.values)
            else:
                wanted = shape
            rule = spec.dtype or (f"like {spec.like}" if spec.like else None)
            if shape != wanted:
                shown = "the wrong shape" if config.plan.config.hidden else f"shape {list(shape)}, expected " \
                                                                            f"{list(wanted)}"
                problems.append(f"{config.label}: {shown}")
            elif not _dtype_ok(rule, config, description):
                problems.append(f"{config.label}: dtype {description.get('dtype')}, expected {rule}")
            else:
                passed += 1
    if not checked:
        return ItemOutcome("failed", "Not verified: no call returned." + _interrupted(ev))
    return _fraction(passed, checked, "Every call returns a value of the specified shape and dtype.",
                     "The output is not as specified: " + "; ".join(problems[:3]) + "." + _interrupted(ev))


def _shown(config: ConfigEvidence, text: str) -> str:
    """What feedback may say about a configuration: for a hidden one, nothing its figures or shapes could reveal."""
    if not config.plan.config.hidden:
        return text
    return "differs from the reference (the details of a hidden configuration are not shown)"


def _comparison_words(result: Comparison | LawTest) -> str:
    if isinstance(result, LawTest):
        return f"{result.off_support} elements are neither value the law allows" if not result.support_ok else \
            f"counts {result.counts} where about {result.expected} were expected"
    if result.reason:
        return result.reason
    return f"max abs error {result.max_abs_error:.3g}, relative error {result.relative_error:.3g}"


def _named_flags(ev: PackEvidence) -> list[str]:
    return [m for m in ev.diagnosis.named if ev.reference.mistake(m).is_flag]


def _mistake_sentences(ev: PackEvidence, ids: list[str]) -> str:
    return " ".join(ev.reference.mistake(m).message for m in ids)


@library_check("matches_reference")
def matches_reference(ev: PackEvidence, calls: list[str] | None = None, steps: int | None = None,
                      configs: list[str] | None = None) -> ItemOutcome:
    """The checked calls (or the trajectory's first ``steps``) equal the correct reference, per configuration."""
    total = passed = 0
    problems: list[str] = []
    details: dict[str, Any] = {}
    for config in _configs(ev, configs):
        if config.plan.trajectory is not None:
            total += 1
            verdict = _trajectory_match(ev, config, steps)
            if verdict is True:
                passed += 1
            else:
                problems.append(f"{config.label}: {_shown(config, str(verdict))}")
            continue
        selected = [c for c in _selected(ev, config, calls) if c.plan.spec.compare == "reference"]
        if not selected:
            continue
        total += 1
        binding = ev.diagnosis.bindings.get(config.name, ev.diagnosis.binding)
        bad = None
        for call in selected:
            if not call.ok:
                reason = describe_error(call.error) if call.result is not None else "not reached"
                bad = f"no output ({reason})"
                break
            result = _correct_comparison(ev, config, call, binding)
            if not result.matches:
                bad = _comparison_words(result)
                if not config.plan.config.hidden:
                    details.setdefault("errors", {})[f"{config.name}/{call.plan.spec.name}"] = (
                        result.evidence())
                break
        if bad is None:
            passed += 1
        else:
            problems.append(f"{config.label}: {_shown(config, bad)}")
    if not total:
        return ItemOutcome("failed", "Not verified: nothing was compared." + _interrupted(ev))
    named = ev.diagnosis.named
    explained = ""
    if named and passed < total:
        explained = f" Your output is reproduced by the reference with these mistakes: {', '.join(named)}. " \
                    + _mistake_sentences(ev, named)
    what = "output" if steps is None else f"state after {steps} step{'s' if steps != 1 else ''}"
    failing = (f"Your {what} differs from the reference in {total - passed} of {total} configurations: "
               + "; ".join(problems[:3]) + "." + explained + _interrupted(ev))
    if explained:  # a named mistake is wrong wherever it shows: the configurations it happens to spare earn nothing
        passed = 0
    return _fraction(passed, total, f"Your {what} matches the reference in all {total} configurations.", failing,
                     details)


def _correct_comparison(ev: PackEvidence, config: ConfigEvidence, call: CallResult,
                        binding: Any) -> Comparison | LawTest:
    readings = [binding] if binding is not None or ev.reference.binder is None else []
    if not readings and ev.problem.entry.kind == "module":
        return Comparison(False, float("inf"), float("inf"), "your parameters could not be read as the reference's")
    try:
        expected = ev.expected(config, call.plan.spec.name, frozenset(), readings[0] if readings else None)
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        return Comparison(False, float("inf"), float("inf"), f"your parameters do not fit the reference ({exc})")
    alpha = ev.problem.alpha / max(1, len(ev.problem.calls) * len(ev.problem.configs) * 2)
    return compare_value(call.value, expected, config.tolerance(ev.problem), alpha, finite_pattern=True)


def _trajectory_match(ev: PackEvidence, config: ConfigEvidence, steps: int | None) -> bool | str:
    from .evidence import _expected_trajectory

    trajectory = config.plan.trajectory
    assert trajectory is not None
    wanted = len(trajectory.step_ids) if steps is None else min(steps, len(trajectory.step_ids))
    if len(config.states) < wanted:
        error = next((e for e in config.step_errors if e), None)
        reason = describe_error(error) if error else "not reached"
        return f"step {len(config.states) + 1} did not complete ({reason})"
    expected = _expected_trajectory(ev, config, frozenset())
    if expected is None:
        return "the reference has no trajectory"
    from .evidence import compare_state

    for index in range(wanted):
        for name, value in expected.states[index].items():
            result = compare_state(ev, config, config.states[index][name], value, name, index)
            if not result.matches:
                return f"parameter {name} differs after step {index + 1} ({_comparison_words(result)})"
    return True


@library_check("mistake_free")
def mistake_free(ev: PackEvidence, item: str = "", fallback: dict[str, Any] | None = None) -> ItemOutcome:
    """Failed when a named mistake violates the item; passed when the outputs are explained without one.

    With no explanation, ``fallback`` (a check and its parameters) decides from evidence that needs no name.
    """
    named = ev.diagnosis.named
    violating = [m for m in named if item in ev.reference.mistake(m).items]
    if violating:
        return ItemOutcome("failed", _mistake_sentences(ev, violating), details={"mistakes": violating})
    if ev.diagnosis.flags is not None:
        others = [m for m in named if m not in violating]
        note = f" (your output is explained by other mistakes: {', '.join(others)})" if others else ""
        return ItemOutcome("passed", f"Verified against the reference{note}.", 1.0)
    if not any(c.ok for config in ev.configs for c in config.calls.values()) and not any(
            config.states for config in ev.configs):
        return ItemOutcome("failed", "Not verified: no call returned." + _interrupted(ev))
    if fallback is not None:
        check = ev.reference.checks.get(fallback["check"]) or LIBRARY[fallback["check"]]
        return check(ev, **fallback.get("with", {}))
    return ItemOutcome("skipped", "Could not be decided: your outputs are not reproduced by the reference with any "
                       "combination of the known mistakes, so this part could not be checked on its own.")


def _reference_gradients(ev: PackEvidence, config: ConfigEvidence, call: CallResult,
                         binding: Any) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None:
    """Input and parameter gradients of the correct reference under the call's upstream gradient."""
    grad = call.plan.spec.grad
    upstream = call.plan.upstream
    if grad is None or upstream is None:
        return None
    inputs = {k: (v.double().requires_grad_(k in grad.wrt) if v.is_floating_point() else v)
              for k, v in config.plan.inputs.items()}
    params = None
    if config.params is not None and binding is not None:
        params = {k: v.clone().requires_grad_(True) for k, v in config.params.items()}
    weights = binding.weights_from(params) if params is not None else None
    with torch.enable_grad():
        output = ev.reference.compute(call.plan.spec.name, inputs, config.plan.values, weights, frozenset())
        if isinstance(output, Defined):
            mask = output.mask
            while mask.dim() < output.value.dim():
                mask = mask.unsqueeze(-1)
            upstream = upstream.double() * mask.expand_as(output.value)
            output = output.value
        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            return None
        sources = [inputs[k] for k in grad.wrt] + (list(params.values()) if params and grad.parameters else [])
        values = torch.autograd.grad(output, sources, upstream.double().reshape(output.shape), allow_unused=True)
    input_grads = {k: v for k, v in zip(grad.wrt, values[:len(grad.wrt)], strict=True) if v is not None}
    param_grads = {}
    if params and grad.parameters:
        for name, value in zip(params, values[len(grad.wrt):], strict=True):
            param_grads[name] = value if value is not None else torch.zeros_like(params[name])
    return input_grads, param_grads


@library_check("gradients")
def gradients(ev: PackEvidence, calls: list[str] | None = None, configs: list[str] | None = None) -> ItemOutcome:
    """Input (and parameter) gradients equal the correct reference's, in configurations whose output does."""
    total = passed = 0
    problems: list[str] = []
    tolerance = ev.problem.gradient_tolerance
    for config in _configs(ev, configs):
        selected = [c for c in _selected(ev, config, calls) if c.plan.spec.grad is not None]
        if not selected:
            continue
        total += 1
        if config.name not in ev.diagnosis.correct_configs:
            problems.append(f"{config.label}: the output itself differs from the reference")
            continue
        binding = ev.diagnosis.bindings.get(config.name)
        bad = None
        for call in selected:
            facts = call.result.facts if call.result is not None else {}
            if facts.get("grad_problem"):
                bad = {"no_graph": "the output is not connected to the inputs by autograd (no gradient flows)",
                       "shape": "the output's shape does not take the upstream gradient"}.get(
                    facts["grad_problem"], "no tensor output to differentiate")
                break
            reference = _reference_gradients(ev, config, call, binding)
            if reference is None:
                continue
            input_grads, param_grads = reference
            for name, expected in input_grads.items():
                got = call.grads.get(name)
                if got is None:
                    bad = f"no gradient reached {name}"
                    break
                result = compare(got, expected, config.plan.config.compare or tolerance)
                if not result.matches:
                    bad = f"d/d{name}: {_comparison_words(result)}"
                    break
            if bad is None and binding is not None:
                for name in sorted(binding.parameter_names()):
                    wanted = param_grads.get(name)
                    got = call.grad_params.get(name)
                    if wanted is None:
                        continue
                    if got is None:
                        bad = f"no gradient reached parameter {name}"
                        break
                    result = compare(got, wanted, tolerance)
                    if not result.matches:
                        bad = f"d/d{name}: {_comparison_words(result)}"
                        break
            if bad is not None:
                break
        if bad is None:
            passed += 1
        else:
            problems.append(f"{config.label}: {_shown(config, bad)}")
    if not total:
        return ItemOutcome("failed", "Not verified: no gradient was computed." + _interrupted(ev))
    if passed < total and any(ev.reference.mistake(m).is_flag for m in ev.diagnosis.named):
        passed = 0  # the forward pass has a named mistake: fix it first
    return _fraction(passed, total, "Gradients match the reference in every configuration.",
                     f"Gradients match in {passed} of {total} configurations: " + "; ".join(problems[:3]) + "."
                     + _interrupted(ev))


@library_check("no_banned_calls")
def no_banned_calls(ev: PackEvidence) -> ItemOutcome:
    """No banned callable in the source, and none reached at run time."""
    uses = ev.static.banned_uses
    report = ev.last_report()
    calls = {name: count for name, count in (report.facts.get("banned_calls", {}) if report and report.ok
                                              else {}).items() if count}
    if uses or calls:
        parts = [f"line {use['line']}: `{use['code']}` uses {use['callable']}" for use in uses[:3]]
        parts += [f"{name} was called {count} times" for name, count in calls.items()]
        return ItemOutcome("failed", "The task asks for this to be written without the built-in, but "
                           + "; ".join(parts) + ".", details={"source": uses, "runtime_calls": calls})
    hidden = ev.static.unverifiable
    if hidden:
        parts = [f"line {use['line']}: `{use['code']}` ({use['reason']})" for use in hidden[:3]]
        return ItemOutcome("failed", "What your code calls cannot be verified: " + "; ".join(parts) + ". Call "
                           "torch functions directly by name.", details={"unverifiable": hidden})
    ran = any(c.ok for config in ev.configs for c in config.calls.values()) or any(
        config.states for config in ev.configs)
    if report is None or not report.ok or not ran:
        return ItemOutcome("failed", "Not verified: your code never completed a call, so we cannot confirm that it "
                           "avoids the banned built-ins." + _interrupted(ev))
    return ItemOutcome("passed", "No banned built-in used.", 1.0)


def _law_results(ev: PackEvidence, calls: list[str] | None) -> list[tuple[ConfigEvidence, CallResult, Any]]:
    found: list[tuple[ConfigEvidence, CallResult, Any]] = []
    for config in ev.configs:
        for call in _selected(ev, config, calls):
            if not call.ok or call.plan.spec.compare != "reference":
                found.append((config, call, None))
                continue
            expected = ev.expected(config, call.plan.spec.name, frozenset(), None)
            if isinstance(expected, Choice):
                alpha = ev.problem.alpha / max(1, len(ev.problem.calls) * len(ev.problem.configs) * 2)
                found.append((config, call, compare_value(call.value, expected, config.tolerance(ev.problem),
                                                          alpha)))
    return found


@library_check("law")
def law(ev: PackEvidence, calls: list[str] | None = None, part: str = "both",
        alternative: str | None = None) -> ItemOutcome:
    """A stochastic output follows the reference's law: its support (``support``), its rates (``rate``), or both.

    ``alternative`` restricts the rate test to one alternative (the dropped elements' rate can be judged even when
    the kept ones have the wrong values).
    """
    results = _law_results(ev, calls)
    if not results:
        return ItemOutcome("failed", "Not verified: no random output was produced." + _interrupted(ev))
    passed, problems = 0, []
    details: dict[str, Any] = {}
    for config, call, result in results:
        if result is None:
            problems.append(f"{config.label}: no output ({describe_error(call.error)})")
            continue
        if not isinstance(result, LawTest):
            problems.append(f"{config.label}: {_shown(config, _comparison_words(result))}")
            continue
        rate_ok = result.rates_ok if alternative is None else result.rate_of(alternative)
        ok = {"support": result.support_ok, "rate": rate_ok}.get(part, result.matches)
        if ok:
            passed += 1
            continue
        if not config.plan.config.hidden:
            details[f"{config.name}/{call.plan.spec.name}"] = result.evidence()
        if part == "rate" and alternative is None and not result.support_ok:
            problems.append(f"{config.label}: {result.off_support} of {result.total} elements are neither value the "
                            "law allows, so the rates cannot be judged")
        elif part == "rate":
            expected = {k: round(v) for k, v in result.expected.items()}
            problems.append(f"{config.label}: counts {result.counts} of {result.total} elements, where about "
                            f"{expected} were expected")
        else:
            problems.append(f"{config.label}: {result.off_support} of {result.total} elements are neither value the "
                            "law allows")
    if passed < len(results) and _named_flags(ev):
        passed = 0  # a named mistake is wrong wherever it shows
    return _fraction(passed, len(results), "The random output follows the specified law in every configuration "
                     f"(every test at a false-failure rate below {ev.problem.alpha:g} per grading).",
                     "The random output does not follow the specified law: " + "; ".join(problems[:3]) + "."
                     + _interrupted(ev), details)


def _outputs_equal(a: CallResult, b: CallResult) -> bool | None:
    if not a.ok or not b.ok or not isinstance(a.value, torch.Tensor) or not isinstance(b.value, torch.Tensor):
        return None
    return tuple(a.value.shape) == tuple(b.value.shape) and bool(torch.equal(a.value, b.value))


@library_check("reproducible")
def reproducible(ev: PackEvidence, same: list[str] | None = None, differ: list[str] | None = None) -> ItemOutcome:
    """Calls made after the same seed agree (``same``), and calls after different seeds do not (``differ``)."""
    total = passed = 0
    problems = []
    for config in ev.configs:
        pairs = []
        if same and all(n in config.calls for n in same):
            pairs.append((config.calls[same[0]], config.calls[same[1]], True))
        if differ and all(n in config.calls for n in differ):
            pairs.append((config.calls[differ[0]], config.calls[differ[1]], False))
        if not pairs:
            continue
        if _degenerate(config):
            continue
        total += 1
        verdicts = [(_outputs_equal(a, b), want) for a, b, want in pairs]
        if any(equal is None for equal, _ in verdicts):
            problems.append(f"{config.label}: a call did not return a tensor")
        elif all(equal == want for equal, want in verdicts):
            passed += 1
        elif any(want and not equal for equal, want in verdicts):
            problems.append(f"{config.label}: two calls made right after the same torch.manual_seed gave different "
                            "outputs")
        else:
            problems.append(f"{config.label}: calls made after different seeds gave the same output")
    if not total or all("did not return" in problem for problem in problems) and not passed:
        return ItemOutcome("failed", "Not verified: no call returned a tensor." + _interrupted(ev),
                           details=UNVERIFIED)
    return _fraction(passed, total, "The randomness comes from torch's global generator: a seed replays a call.",
                     "; ".join(problems[:2]) + "." + _interrupted(ev))


def _degenerate(config: ConfigEvidence) -> bool:
    """A configuration whose law leaves no randomness (a probability of 0), where agreement says nothing."""
    return bool(config.plan.config.values.get("deterministic"))


@library_check("varies")
def varies(ev: PackEvidence, calls: list[str] | None = None) -> ItemOutcome:
    """Two successive calls (no reseeding between them) give different outputs."""
    total = passed = 0
    problems = []
    for config in ev.configs:
        if not calls or not all(n in config.calls for n in calls) or _degenerate(config):
            continue
        total += 1
        equal = _outputs_equal(config.calls[calls[0]], config.calls[calls[1]])
        if equal is None:
            problems.append(f"{config.label}: a call did not return a tensor")
        elif equal:
            problems.append(f"{config.label}: two successive calls gave identical outputs")
        else:
            passed += 1
    if not total or all("did not return" in problem for problem in problems) and not passed:
        return ItemOutcome("failed", "Not verified: no call returned a tensor." + _interrupted(ev),
                           details=UNVERIFIED)
    return _fraction(passed, total, "Every call draws fresh randomness.",
                     "; ".join(problems[:2]) + " (the randomness is not fresh on each call)." + _interrupted(ev))


@library_check("initial_parameters")
def initial_parameters(ev: PackEvidence, **expected: dict[str, Any]) -> ItemOutcome:
    """Named parameters exist, with the declared shapes and initial fill values."""
    config = next((c for c in ev.configs if c.construct is not None), None)
    if config is None or config.construct is None or not config.construct.ok:
        return ItemOutcome("failed", "Not verified: your module was never constructed." + _interrupted(ev),
                           details=UNVERIFIED)
    from .values import shape_of

    problems = []
    for name, spec in expected.items():
        value = config.initial_params.get(name)
        if value is None:
            problems.append(f"no learnable parameter named {name}")
            continue
        shape = shape_of(list(spec.get("shape", [])), config.plan.values)
        if tuple(value.shape) != shape:
            problems.append(f"{name} has shape {list(value.shape)}, expected {list(shape)}")
        elif "fill" in spec and not bool(torch.all(value == float(spec["fill"]))):
            problems.append(f"{name} is not initialised to {spec['fill']:g}")
    if problems:
        return ItemOutcome("failed", "Your parameters are not as specified: " + "; ".join(problems) + ".")
    return ItemOutcome("passed", "The parameters have the specified names, shapes and initial values.", 1.0)


@library_check("performance")
def performance(ev: PackEvidence, bench: Any = None) -> ItemOutcome:
    """The median time of the timed call is within the problem's factor of the reference's."""
    from .benchmark import bench_outcome

    return bench_outcome(ev)


def candidate_float(config: ConfigEvidence) -> torch.dtype:
    """Re-exported for packs' checks: the dtype the candidate computed in."""
    return candidate_dtype(config)


def median(values: list[float]) -> float:
    """The median (for packs' checks)."""
    return statistics.median(values)


def _property_output(ev: PackEvidence, probe_id: str, call: CallResult) -> Any:
    from .evidence import decode

    result = ev.probe(probe_id)
    if result is None or not result.ok:
        return None
    value = decode(result.facts.get("output", {}), result.tensors)
    spec = call.plan.spec.output
    if spec is not None and spec.tuple_ok and isinstance(value, tuple) and value:
        value = value[0]
    return value if isinstance(value, torch.Tensor) else None


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float32 rounding (a candidate's outputs compared with its own)."""
    if a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    scale = max(1.0, float(b.double().abs().max()))
    return bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-5 * scale))


def _relation_holds(kind: str, axis: int, base: torch.Tensor, changed: torch.Tensor, positions: Any,
                    permutation: Any) -> bool:
    axis = axis % base.dim()
    if base.shape != changed.shape:
        return False
    if kind in ("independent", "mixes"):
        others = torch.arange(1, base.shape[axis])
        untouched = _same(changed.index_select(axis, others), base.index_select(axis, others))
        return untouched if kind == "independent" else not untouched
    if kind == "causal":
        keep = torch.nonzero(positions).flatten()
        return _same(changed.index_select(axis, keep), base.index_select(axis, keep))
    if kind == "ignores":
        mask = positions
        while mask.dim() < base.dim():
            mask = mask.unsqueeze(-1)
        mask = mask.expand_as(base)
        return _same(changed[mask], base[mask])
    expected = base.index_select(axis, permutation) if kind == "equivariant" else base
    return _same(changed, expected)


_PROPERTY_WORDS = {
    "independent": "changing one slice of {input} along axis {axis} changed the outputs of the others",
    "mixes": "changing one slice of {input} along axis {axis} did not change the outputs of the others",
    "causal": "changing {input} at later positions changed the outputs at earlier ones",
    "ignores": "changing {input} where {where} is True changed the outputs elsewhere",
    "equivariant": "permuting {input} along axis {axis} did not permute the output the same way",
    "invariant": "permuting {input} along axis {axis} changed the output",
}


@library_check("property")
def property_check(ev: PackEvidence, name: str = "") -> ItemOutcome:
    """A declared property of the candidate's own outputs holds in every configuration it was probed in."""
    held, problems, probed = 0, [], 0
    for config in ev.configs:
        for prop in config.plan.properties:
            if prop.spec.name != name:
                continue
            base = config.calls.get(prop.call)
            if base is None or not base.ok or not isinstance(base.value, torch.Tensor):
                continue
            changed = _property_output(ev, prop.probe_id, base)
            if changed is None:
                continue
            probed += 1
            if _relation_holds(prop.spec.kind, prop.spec.axis, base.value, changed, prop.positions,
                               prop.permutation):
                held += 1
            else:
                spec = prop.spec
                problems.append(f"for {config.label}, " + _PROPERTY_WORDS[spec.kind].format(
                    input=spec.input, axis=spec.axis, where=spec.where))
    if not probed:
        return ItemOutcome("failed", "Not verified: the property could not be probed (no output)."
                           + _interrupted(ev), details=UNVERIFIED)
    if held == probed:
        return ItemOutcome("passed", "Checked on behaviour (no reading of your parameters was needed).", 1.0)
    return ItemOutcome("failed", "Checked on behaviour: " + "; ".join(problems[:2]) + ".")

"""The trusted evidence of a pack grading: decoded outputs, the host's parameter values, and the diagnosis.

Outputs are rebuilt from the agent's (checked) description and tensors. A module's parameter values are the
host's own regeneration from the seed it chose, never values the sandbox reports. The diagnosis searches readings
of the parameters and mistake flags for the reference variant that explains every configuration's outputs.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from runners.base import ProbeResult, RunResult

from ..engine.analysis import last_report
from ..engine.compare import Comparison
from ..engine.parameters import chosen_values, declared_parameters
from ..engine.static import StaticFindings
from ..kit import Flags, Reference, Trajectory
from ..models import Rubric, Tolerance
from .compare import NOTHING_DEFINED, LawTest, compare_value
from .plan import CallPlan, ConfigPlan, PackPlan
from .spec import PackProblem

MAX_EVALUATIONS = 4000
"""Reference evaluations the diagnosis may spend (readings times variants), bounding the host's work."""


@dataclass
class Opaque:
    """A returned object the host does not rebuild (its type name only)."""

    type_name: str


def decode(description: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The host's copy of a returned value, from the checked description."""
    if not isinstance(description, dict):
        return Opaque("unknown")
    kind = description.get("kind")
    if kind == "tensor":
        tensor = tensors.get(str(description.get("name")))
        return tensor if tensor is not None else Opaque("missing tensor")
    if kind == "value":
        value = description.get("value")
        if isinstance(value, str) and value in ("nan", "inf", "-inf"):
            return float(value)
        return value
    if kind == "tuple":
        return tuple(decode(item, tensors) for item in description.get("items", []))
    return Opaque(str(description.get("type", "object")))


@dataclass
class CallResult:
    """What one call returned, as the host believes it."""

    plan: CallPlan
    result: ProbeResult | None
    value: Any = None
    """The graded value: the output, or a tuple's first element where the problem accepts a tuple."""
    raw: Any = None
    description: dict[str, Any] = field(default_factory=dict)
    grads: dict[str, torch.Tensor] = field(default_factory=dict)
    """Input name -> gradient."""
    grad_params: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The call returned."""
        return self.result is not None and self.result.ok

    @property
    def error(self) -> dict[str, Any] | None:
        """What it raised."""
        return self.result.error if self.result is not None else None


@dataclass
class ConfigEvidence:
    """One configuration's evidence."""

    plan: ConfigPlan
    calls: dict[str, CallResult] = field(default_factory=dict)
    construct: ProbeResult | None = None
    params: dict[str, torch.Tensor] | None = None
    """The host's values of the candidate's parameters (float64), when the declaration was usable."""
    initial_params: dict[str, torch.Tensor] = field(default_factory=dict)
    """The parameter values the constructor made, as the sandbox reported them (for initialisation checks)."""
    states: list[dict[str, torch.Tensor]] = field(default_factory=list)
    """A trajectory's observed parameter values after each step that completed."""
    grads_none_after: dict[str, bool] | None = None
    step_errors: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The configuration's name."""
        return self.plan.config.name

    @property
    def label(self) -> str:
        """How feedback names it (a hidden one by its name only)."""
        config = self.plan.config
        if config.hidden:
            return f"hidden configuration '{config.name}'"
        shown = ", ".join(f"{key}={value}" for key, value in config.values.items())
        return f"'{config.name}' ({shown})"

    def tolerance(self, problem: PackProblem) -> Tolerance:
        """The output tolerance of the configuration."""
        return self.plan.config.compare or problem.tolerance


@dataclass
class Diagnosis:
    """The reference variant that explains the outputs, if one was found."""

    flags: Flags | None = None
    binding: Any = None
    bindings: dict[str, Any] = field(default_factory=dict)
    """Per configuration, the reading of the parameters used."""
    correct_configs: set[str] = field(default_factory=set)
    """Configurations whose compared outputs equal the correct reference's."""
    comparisons: dict[str, dict[str, Comparison | LawTest]] = field(default_factory=dict)
    """Per configuration and call, the comparison with the correct reference."""
    evaluations: int = 0
    seconds: float = 0.0
    named: list[str] = field(default_factory=list)
    """Catalogued mistakes named (the flags, and those named by the checks' results)."""


@dataclass
class PackEvidence:
    """Everything the checks read."""

    problem: PackProblem
    rubric: Rubric
    reference: Reference
    plan: PackPlan
    run: RunResult
    static: StaticFindings
    configs: list[ConfigEvidence] = field(default_factory=list)
    diagnosis: Diagnosis = field(default_factory=Diagnosis)

    def probe(self, probe_id: str | None) -> ProbeResult | None:
        """The result of a probe, if it was answered."""
        return self.run.probe_results.get(probe_id) if probe_id else None

    def last_report(self) -> ProbeResult | None:
        """The last answered report of banned calls: the final one, or the one after the last configuration run."""
        return last_report(self.plan.job, self.run)

    @property
    def load(self) -> ProbeResult | None:
        """The import of the file."""
        return self.probe("load")

    @property
    def entry(self) -> ProbeResult | None:
        """The description of the entry."""
        return self.probe("entry")

    def expected(self, config: ConfigEvidence, call: str, flags: Flags, binding: Any,
                 dtype: torch.dtype | None = None) -> Any:
        """The reference's output of a call in a configuration under ``flags`` (None when it cannot be computed)."""
        plan = next(c for c in config.plan.calls if c.spec.name == call)
        inputs = dict(config.plan.inputs)
        weights = None
        if binding is not None and config.params is not None:
            weights = binding.weights_from(config.params)
        if dtype is not None:
            inputs = {k: v.to(dtype) if v.is_floating_point() else v for k, v in inputs.items()}
            if isinstance(weights, dict):
                weights = {k: v.to(dtype) for k, v in weights.items()}
        else:
            inputs = {k: v.double() if v.is_floating_point() else v for k, v in inputs.items()}
        del plan
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a mistaken variant may divide by zero: that is its answer
            return self.reference.compute(call, inputs, config.plan.values, weights, flags)


def candidate_dtype(config: ConfigEvidence) -> torch.dtype:
    """The dtype of the configuration's floating inputs (float32 unless the problem draws float64)."""
    for value in config.plan.inputs.values():
        if value.is_floating_point():
            return value.dtype
    return torch.float32


def collect(problem: PackProblem, rubric: Rubric, reference: Reference, plan: PackPlan, run: RunResult,
            static: StaticFindings) -> PackEvidence:
    """Decode every answered probe into evidence."""
    evidence = PackEvidence(problem=problem, rubric=rubric, reference=reference, plan=plan, run=run, static=static)
    for config_plan in plan.configs:
        config = ConfigEvidence(plan=config_plan, construct=evidence.probe(config_plan.new_id))
        initial = evidence.probe(config_plan.initial_id)
        if initial is not None and initial.ok:
            config.initial_params = {name.removeprefix("param/"): value for name, value in initial.tensors.items()}
        randomized = evidence.probe(config_plan.randomize_id)
        if config.construct is not None and config.construct.ok and randomized is not None and randomized.ok:
            declared = declared_parameters(config.construct.facts)
            if declared is not None and config_plan.weight_seed is not None:
                config.params = chosen_values(declared, config_plan.weight_seed)
        for call in config_plan.calls:
            result = evidence.probe(call.probe_id)
            entry = CallResult(plan=call, result=result)
            if result is not None and result.ok:
                entry.description = result.facts.get("output", {})
                entry.raw = decode(entry.description, result.tensors)
                entry.value = entry.raw
                if call.spec.output is not None and call.spec.output.tuple_ok and isinstance(entry.raw, tuple) \
                        and entry.raw:
                    entry.value = entry.raw[0]
                keys = {_key(call, name): name for name in (call.spec.grad.wrt if call.spec.grad else [])}
                for tensor_name, tensor in result.tensors.items():
                    if tensor_name.startswith("grad/"):
                        key = tensor_name.removeprefix("grad/")
                        entry.grads[keys.get(key, key)] = tensor
                    elif tensor_name.startswith("grad_param/"):
                        entry.grad_params[tensor_name.removeprefix("grad_param/")] = tensor
            config.calls[call.spec.name] = entry
        if config_plan.trajectory is not None:
            _collect_trajectory(evidence, config)
        evidence.configs.append(config)
    return evidence


def _key(call: CallPlan, name: str) -> str:
    for index, reference in enumerate(call.spec.args):
        if reference == name:
            return str(index)
    for key, reference in call.spec.kwargs.items():
        if reference == name:
            return key
    return name


def _collect_trajectory(evidence: PackEvidence, config: ConfigEvidence) -> None:
    trajectory = config.plan.trajectory
    assert trajectory is not None
    for step_id, observe_id in zip(trajectory.step_ids, trajectory.observe_ids, strict=True):
        step, observed = evidence.probe(step_id), evidence.probe(observe_id)
        if step is None or not step.ok or observed is None or not observed.ok:
            config.step_errors.append(step.error if step is not None else None)
            break
        state = {name.removeprefix("param/"): tensor for name, tensor in observed.tensors.items()}
        if set(state) != set(trajectory.initial):
            break
        config.states.append(state)
    after = evidence.probe(trajectory.after_observe_id)
    after_call = evidence.probe(trajectory.after_id)
    if after is not None and after.ok and after_call is not None and after_call.ok:
        config.grads_none_after = dict(after.facts.get("grad_none", {}))


# ------------------------------------------------------------------------------------------------- diagnosis


def _compared_calls(problem: PackProblem, config: ConfigEvidence) -> list[CallResult]:
    return [call for call in config.calls.values() if call.plan.spec.compare == "reference" and call.ok]


def _explains(evidence: PackEvidence, config: ConfigEvidence, flags: Flags, binding: Any,
              record: dict[str, Comparison | LawTest] | None = None) -> bool:
    """Whether the variant reproduces every compared output (and trajectory) of the configuration."""
    problem, reference = evidence.problem, evidence.reference
    tolerance = config.tolerance(problem)
    faithful = reference.faithful(flags)
    dtype = candidate_dtype(config) if faithful else None
    calls = _compared_calls(problem, config)
    alpha = problem.alpha / max(1, _law_tests(evidence))
    if config.plan.trajectory is not None:
        if not config.states:
            return False
        expected = _expected_trajectory(evidence, config, flags)
        if expected is None:
            return False
        results = [compare_state(evidence, config, state[name], expected.states[index][name], name, index)
                   for index, state in enumerate(config.states) for name in state]
        ok = all(result.matches for result in results)
        if record is not None and results:
            record["trajectory"] = next((r for r in results if not r.matches), results[-1])
        if not ok:
            return False
    elif not calls:
        return False
    compared = 0
    for call in calls:
        try:
            expected = evidence.expected(config, call.plan.spec.name, flags, binding, dtype)
        except (RuntimeError, ValueError, IndexError, TypeError):  # a reading that cannot compute (shapes)
            return False
        result = compare_value(call.value, expected, tolerance, alpha, finite_pattern=True)
        if record is not None:
            record[call.plan.spec.name] = result
        if not result.matches:
            return False
        compared += not (isinstance(result, Comparison) and result.reason == NOTHING_DEFINED)
    # A variant that leaves nothing defined explains nothing.
    return compared > 0 or config.plan.trajectory is not None


def compare_state(evidence: PackEvidence, config: ConfigEvidence, actual: torch.Tensor, expected: torch.Tensor,
                  name: str, step: int = 0) -> Comparison | LawTest:
    """One parameter after a step against the reference's: its value, or its displacement from the start.

    Displacements are judged with a floor for the rounding of the candidate's parameters: each step stores them in
    their own dtype, so an update smaller than that dtype's resolution at the parameter's size is not the
    candidate's error.
    """
    spec, trajectory = evidence.problem.trajectory, config.plan.trajectory
    tolerance = config.tolerance(evidence.problem)
    if spec is None or trajectory is None or spec.compare != "updates":
        return compare_value(actual, expected, tolerance)
    start = trajectory.initial[name].double()
    if tuple(actual.shape) != tuple(start.shape) or not torch.isfinite(actual).all():
        return compare_value(actual, expected, tolerance)
    resolution = torch.finfo(trajectory.initial[name].dtype).eps
    got, want = actual.double() - start, expected.double() - start
    floor = (step + 2) * resolution * torch.maximum(start.abs(), expected.double().abs()) + tolerance.atol
    error = (got - want).abs()
    max_abs = float(error.max()) if error.numel() else 0.0
    norm = float(want.norm())
    relative = float(error.norm()) / norm if norm > 0 else (0.0 if max_abs == 0 else float("inf"))
    close = bool((error <= tolerance.rtol * want.abs() + floor).all())
    within = float(error.norm()) <= tolerance.max_relative_error * norm + float(floor.norm())
    return Comparison(close and within, max_abs, relative)


def _law_tests(evidence: PackEvidence) -> int:
    """How many statistical tests one grading makes at most (alpha is split across them)."""
    stochastic = [call for call in evidence.problem.calls if call.mode == "train" or call.seed is not None]
    return max(1, len(stochastic) * len(evidence.problem.configs) * 2)


def _expected_trajectory(evidence: PackEvidence, config: ConfigEvidence, flags: Flags) -> Trajectory | None:
    trajectory, reference = config.plan.trajectory, evidence.reference
    if trajectory is None or reference.trajectory is None:
        return None
    initial = {name: value.double() for name, value in trajectory.initial.items()}
    grads = [{name: (value.double() if value is not None else None) for name, value in step.items()}
             for step in trajectory.grads]
    return reference.trajectory(initial, grads, config.plan.values, flags)


def _readings(evidence: PackEvidence, config: ConfigEvidence) -> list[Any]:
    binder = evidence.reference.binder
    if binder is None or evidence.problem.entry.kind != "module":
        return [None]
    if config.params is None:
        return []
    readings = []
    for binding in binder.bindings(config.params, config.plan.values):
        readings.append(binding)
        if len(readings) >= MAX_EVALUATIONS:
            break
    return readings


def _transfer(evidence: PackEvidence, binding: Any, config: ConfigEvidence) -> Any:
    binder = evidence.reference.binder
    if binding is None or binder is None:
        return None
    if config.params is None:
        return None
    return binder.transfer(binding, config.params, config.plan.values)


MAX_READINGS_PER_CONFIG = 256
"""Readings of one configuration's parameters tried against the correct reference."""
MAX_MISTAKE_READINGS = 64
"""Readings combined with the mistake variants (best-first by names and declaration order)."""


def _correct_reading(evidence: PackEvidence, config: ConfigEvidence, diagnosis: Diagnosis, hint: Any,
                     record: dict[str, Comparison | LawTest]) -> Any:
    """A reading under which the correct reference explains the configuration: the hint's transfer first."""
    tried: list[Any] = []
    moved = _transfer(evidence, hint, config) if hint is not None else None
    if moved is not None:
        tried.append(moved)
    tried.extend(_readings(evidence, config)[:MAX_READINGS_PER_CONFIG])
    for binding in tried:
        diagnosis.evaluations += 1
        attempt: dict[str, Comparison | LawTest] = {}
        if _explains(evidence, config, frozenset(), binding, attempt):
            record.clear()
            record.update(attempt)
            return binding, True
        if not record:
            record.update(attempt)
    return (tried[0] if tried else None), False


def diagnose(evidence: PackEvidence) -> Diagnosis:
    """Find the reference variant (a reading and a set of mistake flags) that explains every configuration."""
    started = time.monotonic()
    diagnosis = Diagnosis()
    with_outputs = [c for c in evidence.configs if _compared_calls(evidence.problem, c) or c.states]
    hint = None
    for config in with_outputs:  # each configuration on its own, under the correct reference
        record: dict[str, Comparison | LawTest] = {}
        binding, correct = _correct_reading(evidence, config, diagnosis, hint, record)
        diagnosis.comparisons[config.name] = record
        if binding is not None:
            diagnosis.bindings[config.name] = binding
        if correct:
            diagnosis.correct_configs.add(config.name)
            hint = hint or binding
    if not with_outputs:
        diagnosis.seconds = time.monotonic() - started
        return diagnosis
    first = with_outputs[0]
    variants = evidence.reference.variants(evidence.problem.max_combined)
    readings = _readings(evidence, first)[:MAX_MISTAKE_READINGS]
    budget = diagnosis.evaluations + MAX_EVALUATIONS
    for binding in readings:
        for flags in variants:
            if diagnosis.evaluations >= budget:
                break
            diagnosis.evaluations += 1
            if not _explains(evidence, first, flags, binding):
                continue
            moved = {c.name: _transfer(evidence, binding, c) if binding is not None else None
                     for c in with_outputs[1:]}
            if all(_explains(evidence, c, flags, moved[c.name]) for c in with_outputs[1:]):
                diagnosis.flags, diagnosis.binding = flags, binding
                diagnosis.bindings.update({first.name: binding, **{k: v for k, v in moved.items() if v is not None}})
                break
        if diagnosis.flags is not None:
            break
    diagnosis.seconds = time.monotonic() - started
    return diagnosis

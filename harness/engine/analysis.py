"""Turn a run's raw probe results into trusted evidence: bindings, comparisons, gradients, determinism.

Everything here runs in the harness's process, on plain tensors that came back through safetensors. The reference
runs in float64 under the candidate's own (harness-randomised) weights.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from runners.base import ProbeResult, RunResult

from ..models import ConfigSpec, Problem, Tolerance
from .compare import Comparison, compare
from .plan import LOAD, REPORT, Plan, probe_id
from .reference import ReferenceSolution

DETERMINISM_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-6, max_relative_error=1e-6)


@dataclass
class ConfigEvidence:
    """What one configuration showed."""

    config: ConfigSpec
    reached: bool = False
    construct_error: dict[str, Any] | None = None
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    forward_error: dict[str, Any] | None = None
    output_facts: dict[str, Any] = field(default_factory=dict)
    output: torch.Tensor | None = None
    expected_shape: tuple[int, ...] = ()
    binding: Any = None
    match: Comparison | None = None
    backward_match: Comparison | None = None
    determinism: Comparison | None = None
    input_mutated: bool = False
    backward_error: dict[str, Any] | None = None
    gradient_problem: str | None = None
    grad_input: Comparison | None = None
    grad_params: dict[str, Comparison] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How feedback names this configuration (hidden ones keep their sizes secret)."""
        if self.config.hidden:
            return f"hidden configuration '{self.config.name}'"
        sizes = ", ".join(f"{key}={value}" for key, value in self.config.sizes.items())
        return f"'{self.config.name}' ({sizes})"

    @property
    def shape_ok(self) -> bool:
        """True when an output came back with the input's shape."""
        return self.output is not None and tuple(self.output.shape) == self.expected_shape


@dataclass
class BindingSearch:
    """How the candidate's parameters were mapped to the reference's."""

    binding: Any = None
    config: str | None = None
    tried: int = 0
    closest: Comparison | None = None
    seconds: float = 0.0


@dataclass
class Evidence:
    """Everything the checks may use."""

    problem: Problem
    run: RunResult
    load: ProbeResult | None
    report: ProbeResult | None
    configs: list[ConfigEvidence]
    search: BindingSearch

    def reached(self) -> list[ConfigEvidence]:
        """Configurations whose probes ran before the run ended."""
        return [c for c in self.configs if c.reached]


def _float64_params(result: ProbeResult | None, order: list[str]) -> dict[str, torch.Tensor]:
    if result is None or not result.ok:
        return {}
    values = {key.removeprefix("param/"): value for key, value in result.tensors.items()}
    ordered = {name: values[name].double() for name in order if name in values}
    ordered.update({name: value.double() for name, value in values.items() if name not in ordered})
    return ordered


def _first_error(result: ProbeResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return None if result.ok else (result.error or {"type": "Error", "message": "unknown failure"})


def _collect(problem: Problem, plan: Plan, run: RunResult) -> list[ConfigEvidence]:
    results = run.probe_results
    collected = []
    for name, inputs in plan.inputs.items():
        evidence = ConfigEvidence(config=inputs.config, expected_shape=tuple(inputs.x.shape))
        construct = results.get(probe_id("construct", name))
        evidence.reached = construct is not None
        evidence.construct_error = _first_error(construct)
        order = [p["name"] for p in (construct.facts.get("parameters", []) if construct and construct.ok else [])]
        evidence.params = _float64_params(results.get(probe_id("randomize", name)), order)
        first = results.get(probe_id("forward", name, "first"))
        if first is not None:
            evidence.forward_error = _first_error(first)
            evidence.output_facts = dict(first.facts)
            evidence.output = first.tensors.get("output")
            after = first.tensors.get("input_after")
            evidence.input_mutated = after is not None and not torch.equal(after, inputs.x)
        again = results.get(probe_id("forward", name, "again"))
        again_output = again.tensors.get("output") if again is not None else None
        if evidence.output is not None and again_output is not None:
            evidence.determinism = compare(again_output, evidence.output, DETERMINISM_TOLERANCE)
        collected.append(evidence)
    return collected


def _search_binding(reference: ReferenceSolution, problem: Problem, plan: Plan,
                    configs: list[ConfigEvidence]) -> BindingSearch:
    """Find a reading of the candidate's parameters under which the reference reproduces its output."""
    search = BindingSearch()
    started = time.monotonic()
    for evidence in configs:  # the binding configuration comes first in the plan
        if not evidence.shape_ok or not evidence.params or evidence.output is None:
            continue
        x = plan.inputs[evidence.config.name].x.double()
        for binding in reference.bindings(evidence.params, evidence.config.sizes):
            search.tried += 1
            try:
                expected = reference.forward(evidence.params, binding, x, evidence.config.sizes)
            except (RuntimeError, IndexError, ValueError):
                continue
            comparison = compare(evidence.output, expected, problem.tolerance)
            if search.closest is None or comparison.relative_error < search.closest.relative_error:
                search.closest = comparison
            if comparison.matches:
                search.binding, search.config = binding, evidence.config.name
                break
        break  # search on one configuration only; the others must agree with its binding
    search.seconds = time.monotonic() - started
    return search


def _transferable(binding: Any, params: Mapping[str, torch.Tensor]) -> bool:
    return binding is not None and binding.parameter_names() <= set(params)


def _check_gradients(reference: ReferenceSolution, problem: Problem, evidence: ConfigEvidence,
                     backward: ProbeResult, inputs: Any) -> None:
    if not backward.ok:
        evidence.backward_error = _first_error(backward)
        return
    facts = backward.facts
    output = backward.tensors.get("output")
    if output is None:
        return
    x = inputs.x_grad.double().requires_grad_(True)
    params = {name: value.clone().requires_grad_(True) for name, value in evidence.params.items()}
    try:
        expected = reference.forward(params, evidence.binding, x, evidence.config.sizes)
    except (RuntimeError, IndexError, ValueError):
        return
    evidence.backward_match = compare(output, expected.detach(), problem.tolerance)
    if facts.get("no_graph"):
        evidence.gradient_problem = "your output is not connected to the autograd graph (requires_grad is False)"
        return
    expected.backward(inputs.upstream.double())
    grad_input = backward.tensors.get("grad_input")
    if grad_input is None:
        evidence.gradient_problem = "no gradient reached your input x"
    else:
        assert x.grad is not None
        evidence.grad_input = compare(grad_input, x.grad, problem.gradient_tolerance)
    for name in sorted(evidence.binding.parameter_names()):
        got = backward.tensors.get(f"grad_param/{name}")
        want = params[name].grad
        if want is None:
            continue
        if got is None:
            evidence.grad_params[name] = Comparison(False, float("inf"), float("inf"), "no gradient")
        else:
            evidence.grad_params[name] = compare(got, want, problem.gradient_tolerance)


def analyse(problem: Problem, reference: ReferenceSolution, plan: Plan, run: RunResult) -> Evidence:
    """Compare every configuration's outputs and gradients with the reference under the bound weights."""
    configs = _collect(problem, plan, run)
    search = _search_binding(reference, problem, plan, configs)
    for evidence in configs:
        if not _transferable(search.binding, evidence.params) or not evidence.shape_ok:
            continue
        evidence.binding = search.binding
        x = plan.inputs[evidence.config.name].x.double()
        try:
            expected = reference.forward(evidence.params, search.binding, x, evidence.config.sizes)
        except (RuntimeError, IndexError, ValueError):
            continue
        assert evidence.output is not None
        evidence.match = compare(evidence.output, expected, problem.tolerance)
        backward = run.probe_results.get(probe_id("backward", evidence.config.name))
        if backward is not None:
            _check_gradients(reference, problem, evidence, backward, plan.inputs[evidence.config.name])
    for evidence in configs:
        backward = run.probe_results.get(probe_id("backward", evidence.config.name))
        if backward is not None and not backward.ok and evidence.backward_error is None:
            evidence.backward_error = _first_error(backward)
    return Evidence(problem=problem, run=run, load=run.probe_results.get(LOAD),
                    report=run.probe_results.get(REPORT), configs=configs, search=search)

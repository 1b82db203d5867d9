"""Turn a run's raw probe results into trusted evidence: diagnosis, comparisons, gradients, behaviour.

Everything here runs in the harness's process, on plain tensors that came back through safetensors. The reference
runs in float64 under the candidate's own (harness-randomised) weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from runners.base import Job, ProbeResult, RunResult

from ..models import ConfigSpec, Problem, Tolerance
from .behaviour import Behaviour, observe
from .benchmark import BenchmarkResult, collect_benchmark
from .compare import Comparison, compare
from .diagnosis import Match, Search, rebind, search
from .parameters import chosen_values, declared_parameters
from .plan import LOAD, WITHOUT_DROPOUT, ConfigInputs, Plan, probe_id
from .reference import ReferenceSolution, words

DETERMINISM_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-6, max_relative_error=1e-6)
VARIATION_TAGS = ("batch_perturbed", "position_perturbed", "permuted")


@dataclass
class ConfigEvidence:
    """What one configuration showed."""

    config: ConfigSpec
    inputs: ConfigInputs
    reached: bool = False
    construct_error: dict[str, Any] | None = None
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    forward_error: dict[str, Any] | None = None
    output_facts: dict[str, Any] = field(default_factory=dict)
    output: torch.Tensor | None = None
    backward_output: torch.Tensor | None = None
    binding: Any = None
    match: Comparison | None = None
    """The candidate's output against the correct reference (under the bound weights)."""
    backward_match: Comparison | None = None
    variant_match: Comparison | None = None
    """The candidate's output against the diagnosed mistaken variant, when a mistake was diagnosed."""
    determinism: Comparison | None = None
    input_mutated: bool = False
    backward_error: dict[str, Any] | None = None
    gradient_problem: str | None = None
    grad_input: Comparison | None = None
    grad_params: dict[str, Comparison] = field(default_factory=dict)
    behaviour: Behaviour | None = None
    without_dropout: torch.Tensor | None = None
    """The output of the same input with torch's dropout switched off (binding configuration only)."""

    @property
    def label(self) -> str:
        """How feedback names this configuration (hidden ones keep their sizes secret)."""
        if self.config.hidden:
            return f"hidden configuration '{self.config.name}'"
        sizes = ", ".join(f"{key}={value}" for key, value in self.config.sizes.items())
        return f"'{self.config.name}' ({sizes})"

    @property
    def expected_shape(self) -> tuple[int, ...]:
        """The input's shape, which the output must have."""
        return tuple(self.inputs.x.shape)

    @property
    def shape_ok(self) -> bool:
        """True when an output came back with the input's shape."""
        return self.output is not None and tuple(self.output.shape) == self.expected_shape

    @property
    def correct(self) -> bool:
        """Output (on both inputs) equals the correct reference's."""
        return (self.match is not None and self.match.matches
                and (self.backward_match is None or self.backward_match.matches))


@dataclass
class Evidence:
    """Everything the checks may use."""

    problem: Problem
    reference: ReferenceSolution
    run: RunResult
    load: ProbeResult | None
    report: ProbeResult | None
    configs: list[ConfigEvidence]
    search: Search
    benchmark: BenchmarkResult | None = None
    isolated: dict[str, Any] = field(default_factory=dict)
    """Items decided part by part when nothing explains the whole output (item id -> decision with ``status`` and
    ``feedback``), from the reference's ``isolate`` where it has one."""

    @property
    def match(self) -> Match | None:
        """The diagnosed reading and variant, if any reproduces the candidate."""
        return self.search.match

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Mistakes diagnosed from the candidate's outputs."""
        return self.search.match.mistakes if self.search.match else ()

    def reached(self) -> list[ConfigEvidence]:
        """Configurations whose probes ran before the run ended."""
        return [c for c in self.configs if c.reached]

    @property
    def dropout_left_on(self) -> bool:
        """The randomness of the output is explained by dropout active in eval mode (see ``_diagnose``)."""
        return words(self.reference, "dropout_mistake") in self.mistakes

    def nondeterministic(self) -> list[ConfigEvidence]:
        """Configurations whose two identical calls disagreed."""
        return [c for c in self.configs if c.determinism is not None and not c.determinism.matches]


def host_chosen_params(plan: Plan, results: dict[str, ProbeResult], instance_probes: tuple[str, str],
                       ) -> dict[str, torch.Tensor]:
    """The float64 values the host had the agent set on one instance, in declaration order (see ``parameters.py``).

    ``instance_probes`` are the ids of the instance's construct and randomize probes; nothing is returned unless both
    were answered, and never a value the sandbox reported.
    """
    construct, randomize = (results.get(identifier) for identifier in instance_probes)
    if construct is None or not construct.ok or randomize is None or not randomize.ok:
        return {}
    declared = declared_parameters(construct.facts)
    seed = next((p.params.get("seed") for p in plan.job.probes if p.id == instance_probes[1]), None)
    if declared is None or seed is None:
        return {}
    return chosen_values(declared, int(seed))


def _error(result: ProbeResult | None) -> dict[str, Any] | None:
    if result is None or result.ok:
        return None
    return result.error or {"type": "Error", "message": "unknown failure"}


def _collect(problem: Problem, plan: Plan, run: RunResult) -> list[ConfigEvidence]:
    results = run.probe_results
    collected = []
    for name, inputs in plan.inputs.items():
        evidence = ConfigEvidence(config=inputs.config, inputs=inputs)
        construct = results.get(probe_id("construct", name))
        evidence.reached = construct is not None
        evidence.construct_error = _error(construct)
        evidence.params = host_chosen_params(plan, results, (probe_id("construct", name), probe_id("randomize", name)))
        first = results.get(probe_id("forward", name, "first"))
        if first is not None:
            evidence.forward_error = _error(first)
            evidence.output_facts = dict(first.facts)
            evidence.output = first.tensors.get("output")
            after = first.tensors.get("input_after")
            evidence.input_mutated = after is not None and not torch.equal(after, inputs.x)
        quiet = results.get(probe_id("forward", name, WITHOUT_DROPOUT))
        evidence.without_dropout = quiet.tensors.get("output") if quiet is not None else None
        again = results.get(probe_id("forward", name, "again"))
        again_output = again.tensors.get("output") if again is not None else None
        if evidence.output is not None and again_output is not None:
            evidence.determinism = compare(again_output, evidence.output, DETERMINISM_TOLERANCE)
        backward = results.get(probe_id("backward", name))
        if backward is not None:
            evidence.backward_error = _error(backward)
            evidence.backward_output = backward.tensors.get("output")
        if inputs.variations and evidence.shape_ok and problem.interface.sequence_axis is not None:
            assert evidence.output is not None and problem.interface.batch_axis is not None
            outputs = {}
            for tag in VARIATION_TAGS:
                result = results.get(probe_id("forward", name, tag))
                outputs[tag] = result.tensors.get("output") if result is not None else None
            evidence.behaviour = observe(evidence.output, outputs, inputs.permutation,
                                         problem.interface.sequence_axis, problem.interface.batch_axis)
        collected.append(evidence)
    return collected


def _samples(evidence: ConfigEvidence) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(float64 input, candidate output) pairs of one instance: the first forward and the backward's forward."""
    assert evidence.output is not None
    samples = [(evidence.inputs.x.double(), evidence.output)]
    if evidence.backward_output is not None and evidence.backward_output.shape == evidence.output.shape:
        samples.append((evidence.inputs.x_grad.double(), evidence.backward_output))
    return samples


def _diagnose(reference: ReferenceSolution, problem: Problem, configs: list[ConfigEvidence]) -> Search:
    """Search on the first configuration (the binding one comes first) that gave a usable, deterministic output.

    An output that is random only through dropout left on in eval mode is explained from the call made with
    dropout switched off, and the dropout mistake is added to whatever that explanation names.
    """
    for evidence in configs:
        if not (evidence.shape_ok and evidence.params):
            continue
        if evidence.determinism is None or evidence.determinism.matches:
            found = search(reference, evidence.params, evidence.config.sizes, _samples(evidence), problem.tolerance)
            found.config = evidence.config.name
            return found
        dropout_mistake = words(reference, "dropout_mistake")
        quiet = evidence.without_dropout
        if dropout_mistake in reference.mistakes and quiet is not None \
                and tuple(quiet.shape) == evidence.expected_shape:
            found = search(reference, evidence.params, evidence.config.sizes, [(evidence.inputs.x.double(), quiet)],
                           problem.tolerance)
            found.config = evidence.config.name
            if found.match is not None:
                found.match.extra_mistakes = (dropout_mistake,)
                return found
    return Search()


def _check_gradients(reference: ReferenceSolution, problem: Problem, evidence: ConfigEvidence,
                     backward: ProbeResult, variant: Any) -> None:
    facts = backward.facts
    if backward.tensors.get("output") is None:
        return
    inputs = evidence.inputs
    x = inputs.x_grad.double().requires_grad_(True)
    params = {name: value.clone().requires_grad_(True) for name, value in evidence.params.items()}
    try:
        expected = reference.forward(params, evidence.binding, x, evidence.config.sizes, variant)
    except (RuntimeError, IndexError, ValueError):
        return
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


def _compare_config(reference: ReferenceSolution, problem: Problem, run: RunResult, match: Match,
                    evidence: ConfigEvidence) -> None:
    """Apply the diagnosed reading to one configuration: output vs the variant, vs the reference, gradients."""
    if not evidence.shape_ok or not evidence.params:
        return
    samples = _samples(evidence)
    bound = rebind(reference, match, evidence.params, evidence.config.sizes, samples, problem.tolerance)
    if bound is None:
        return
    evidence.binding, comparisons = bound
    correct_variant = reference.variants()[0]
    if match.mistakes:
        evidence.variant_match = next((c for c in comparisons if not c.matches), comparisons[0])
        if not match.binding.mistakes:  # same weights, correct computation: how far the output is from it
            expected = reference.forward(evidence.params, evidence.binding, samples[0][0], evidence.config.sizes,
                                         correct_variant)
            evidence.match = compare(samples[0][1], expected, problem.tolerance)
        return
    # The matched variant is the correct computation here, so rebind's comparisons are those with the reference.
    evidence.match = comparisons[0]
    evidence.backward_match = comparisons[1] if len(comparisons) > 1 else None
    backward = run.probe_results.get(probe_id("backward", evidence.config.name))
    if backward is not None and backward.ok:
        _check_gradients(reference, problem, evidence, backward, correct_variant)


def last_report(job: Job, run: RunResult) -> ProbeResult | None:
    """The last answered report of banned calls: the final one, or the one after the last configuration completed."""
    answered = [run.probe_results[probe.id] for probe in job.probes
                if probe.kind == "report" and probe.id in run.probe_results and run.probe_results[probe.id].ok]
    return answered[-1] if answered else None


def analyse(problem: Problem, reference: ReferenceSolution, plan: Plan, run: RunResult,
            reference_memory_mb: float | None = None) -> Evidence:
    """Diagnose the candidate's computation, compare every configuration with the reference, read the benchmark."""
    configs = _collect(problem, plan, run)
    found = _diagnose(reference, problem, configs)
    if found.match is not None:
        for evidence in configs:
            _compare_config(reference, problem, run, found.match, evidence)
    bench_params = host_chosen_params(plan, run.probe_results, ("construct:bench", "randomize:bench"))
    benchmark = collect_benchmark(problem, reference, plan.job.probes, run.probe_results, run.interrupted_probe,
                                  plan.timer, reference_memory_mb, found.match,
                                  {name: value.float() for name, value in bench_params.items()}, plan.job.device)
    return Evidence(problem=problem, reference=reference, run=run, load=run.probe_results.get(LOAD),
                    report=last_report(plan.job, run), configs=configs, search=found, benchmark=benchmark,
                    isolated=_isolate(reference, configs) if found.match is None else {})


def _isolate(reference: ReferenceSolution, configs: list[ConfigEvidence]) -> dict[str, Any]:
    """The reference's part-by-part decisions on the first deterministic configuration that allows any."""
    isolate = getattr(reference, "isolate", None)
    if isolate is None:
        return {}
    for evidence in configs:
        deterministic = evidence.determinism is None or evidence.determinism.matches
        if evidence.shape_ok and evidence.params and deterministic:
            assert evidence.output is not None
            decided = isolate(evidence.params, evidence.config.sizes, evidence.inputs.x.double(), evidence.output)
            if decided:
                return dict(decided)
    return {}

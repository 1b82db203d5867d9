"""The probe plan of one grading run: which configurations, which inputs, in which order.

Inputs are drawn from a secret per-run seed on the trusted side and kept here; the candidate only ever receives
copies, so it cannot change what the reference sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from runners.base import Job, Limits, Probe

from ..models import ConfigSpec, Problem
from .benchmark import ReferenceTimer, benchmark_probes

LOAD = "load"
REPORT = "report"
WITHOUT_DROPOUT = "without_dropout"
"""Tag of the forward made with torch's dropout switched off (binding configuration only)."""


def probe_id(kind: str, config: str, tag: str = "") -> str:
    """Stable probe ids: ``forward:typical:first``."""
    return f"{kind}:{config}:{tag}" if tag else f"{kind}:{config}"


def describe_probe(identifier: str | None) -> str:
    """Say in words which step a probe id stands for (``forward:small:first`` -> ``forward on 'small'``)."""
    if not identifier:
        return "an unknown step"
    words = {"startup": "start-up (importing torch)", "shutdown": "shutdown", LOAD: "importing your file",
             REPORT: "the final report"}
    if identifier.startswith("bench"):
        return "timing your forward at the benchmark size"
    if identifier in words:
        return words[identifier]
    kind, _, rest = identifier.partition(":")
    config = rest.split(":")[0]
    verbs = {"report": "reporting the calls made through", "construct": "constructing",
             "randomize": "setting the weights of", "forward": "calling forward on", "backward": "calling backward on"}
    return f"{verbs.get(kind, kind)} configuration '{config}'"


@dataclass
class ConfigInputs:
    """The trusted copies of what one configuration's probes receive."""

    config: ConfigSpec
    x: torch.Tensor
    x_grad: torch.Tensor
    upstream: torch.Tensor
    variations: dict[str, torch.Tensor] = field(default_factory=dict)
    """Behavioural probes' inputs, by tag: ``batch_perturbed``, ``position_perturbed``, ``permuted``."""
    permutation: torch.Tensor | None = None
    """The sequence permutation used for ``permuted``."""


@dataclass
class Plan:
    """A job for the runner plus the trusted copies of its inputs."""

    job: Job
    seed: int
    inputs: dict[str, ConfigInputs] = field(default_factory=dict)
    timer: ReferenceTimer | None = None
    """Times the reference interleaved with the candidate's benchmark calls."""


def _shape(problem: Problem, config: ConfigSpec) -> tuple[int, ...]:
    return tuple(config.sizes[name] for name in problem.interface.input_shape)


def build_plan(problem: Problem, submission: Path, seed: int, limits: Limits | None = None,
               timer: ReferenceTimer | None = None, device: str = "cpu") -> Plan:
    """Plan every probe, in order.

    Load; per configuration construct, randomise, forward twice, backward (and behavioural forwards on the first
    ones) and a report of the banned calls so far; the final report; then the benchmark, last, so that a slow
    submission keeps everything verified before it.
    """
    generator = torch.Generator().manual_seed(seed)

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float32)

    probes = [Probe(LOAD, "load", {"class_name": problem.interface.class_name})]
    plan = Plan(job=Job(submission=submission, probes=probes, limits=limits or problem.limits,
                        banned_callables=list(problem.banned_callables), device=device), seed=seed)
    # The binding configuration first, hidden ones after every visible one: from the first hidden probe on, the
    # candidate's output is withheld to the end of the run, so visible configurations keep theirs.
    ordered = sorted(problem.configs, key=lambda c: (c.name != problem.binding_config, c.hidden))
    behavioural = _behavioural_configs(problem, ordered)
    for config in ordered:
        shape = _shape(problem, config)
        inputs = ConfigInputs(config=config, x=draw(shape), x_grad=draw(shape), upstream=draw(shape))
        plan.inputs[config.name] = inputs
        instance = config.name
        args = [config.sizes[name] for name in problem.interface.constructor_args]
        construct_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        weight_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        first_probe = len(probes)
        probes += [
            Probe(probe_id("construct", config.name), "construct",
                  {"instance": instance, "args": args, "seed": construct_seed, "materialize": list(shape)}),
            Probe(probe_id("randomize", config.name), "randomize", {"instance": instance, "seed": weight_seed}),
            Probe(probe_id("forward", config.name, "first"), "forward", {"instance": instance, "input": "x"},
                  {"x": inputs.x.clone()}),
            Probe(probe_id("forward", config.name, "again"), "forward", {"instance": instance, "input": "x"},
                  {"x": inputs.x.clone()}),
            Probe(probe_id("backward", config.name), "backward",
                  {"instance": instance, "input": "x", "grad": "g"},
                  {"x": inputs.x_grad.clone(), "g": inputs.upstream.clone()}),
        ]
        if config.name == problem.binding_config:
            # The same input once more with torch's dropout switched off: tells dropout left on in eval mode apart
            # from other randomness, and gives the diagnosis an output to explain.
            probes.append(Probe(probe_id("forward", config.name, WITHOUT_DROPOUT), "forward",
                                {"instance": instance, "input": "x", "dropout": "off"}, {"x": inputs.x.clone()}))
        if config.name in behavioural:
            _add_variations(problem, inputs, generator)
            probes += [Probe(probe_id("forward", config.name, tag), "forward", {"instance": instance, "input": "x"},
                             {"x": value.clone()}) for tag, value in inputs.variations.items()]
        # A report after every configuration: a run that ends early (a slow submission out of its probe budget)
        # still says which banned callables the configurations it completed reached.
        probes.append(Probe(probe_id(REPORT, config.name), "report"))
        for probe in probes[first_probe:]:
            probe.withhold_output = config.hidden
    probes.append(Probe(REPORT, "report"))
    if problem.benchmark is not None:
        plan.timer = timer
        budget = plan.job.limits.probe_s
        if timer is not None:
            allowed = timer.estimate() * problem.benchmark.max_time_ratio
            budget = min(budget, max(2.0, 10 * allowed))
        probes += benchmark_probes(problem, problem.benchmark, timer, seed ^ 0x5EED, budget)
    return plan


BEHAVIOURAL_CONFIGS = 2


def _behavioural_configs(problem: Problem, ordered: list[ConfigSpec]) -> set[str]:
    """The first configurations with more than one position and batch element, if the problem names its axes."""
    interface = problem.interface
    if interface.sequence_axis is None or interface.batch_axis is None:
        return set()
    seq_name = interface.input_shape[interface.sequence_axis]
    batch_name = interface.input_shape[interface.batch_axis]
    eligible = [c.name for c in ordered if c.sizes[seq_name] > 1 and c.sizes[batch_name] > 1]
    return set(eligible[:BEHAVIOURAL_CONFIGS])


def _add_variations(problem: Problem, inputs: ConfigInputs, generator: torch.Generator) -> None:
    """Inputs that differ from ``x`` in one batch element, in one position, or by a permutation of positions."""
    seq_axis, batch_axis = problem.interface.sequence_axis, problem.interface.batch_axis
    assert seq_axis is not None and batch_axis is not None
    x = inputs.x
    noise = torch.randn(x.shape, generator=generator)
    batch_perturbed = x.clone()
    batch_perturbed.select(batch_axis, 0).add_(noise.select(batch_axis, 0))
    position_perturbed = x.clone()
    position_perturbed.select(seq_axis, 0).add_(noise.select(seq_axis, 0))
    permutation = torch.randperm(x.shape[seq_axis], generator=generator)
    if torch.equal(permutation, torch.arange(len(permutation))):
        permutation = permutation.roll(1)
    inputs.permutation = permutation
    inputs.variations = {
        "batch_perturbed": batch_perturbed,
        "position_perturbed": position_perturbed,
        "permuted": x.index_select(seq_axis, permutation),
    }

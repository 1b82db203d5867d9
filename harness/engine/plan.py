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

LOAD = "load"
REPORT = "report"


def probe_id(kind: str, config: str, tag: str = "") -> str:
    """Stable probe ids: ``forward:typical:first``."""
    return f"{kind}:{config}:{tag}" if tag else f"{kind}:{config}"


def describe_probe(identifier: str | None) -> str:
    """Say in words which step a probe id stands for (``forward:small:first`` -> ``forward on 'small'``)."""
    if not identifier:
        return "an unknown step"
    words = {"startup": "start-up (importing torch)", "shutdown": "shutdown", LOAD: "importing your file",
             REPORT: "the final report"}
    if identifier in words:
        return words[identifier]
    kind, _, rest = identifier.partition(":")
    config = rest.split(":")[0]
    verbs = {"construct": "constructing", "randomize": "setting the weights of", "forward": "calling forward on",
             "backward": "calling backward on"}
    return f"{verbs.get(kind, kind)} configuration '{config}'"


@dataclass
class ConfigInputs:
    """The trusted copies of what one configuration's probes receive."""

    config: ConfigSpec
    x: torch.Tensor
    x_grad: torch.Tensor
    upstream: torch.Tensor


@dataclass
class Plan:
    """A job for the runner plus the trusted copies of its inputs."""

    job: Job
    seed: int
    inputs: dict[str, ConfigInputs] = field(default_factory=dict)


def _shape(problem: Problem, config: ConfigSpec) -> tuple[int, ...]:
    return tuple(config.sizes[name] for name in problem.interface.input_shape)


def build_plan(problem: Problem, submission: Path, seed: int, limits: Limits | None = None) -> Plan:
    """Plan every probe: load, then per configuration construct, randomise, forward twice, backward; then report."""
    generator = torch.Generator().manual_seed(seed)

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float32)

    probes = [Probe(LOAD, "load", {"class_name": problem.interface.class_name})]
    plan = Plan(job=Job(submission=submission, probes=probes, limits=limits or problem.limits,
                        banned_callables=list(problem.banned_callables)), seed=seed)
    ordered = sorted(problem.configs, key=lambda c: c.name != problem.binding_config)
    for config in ordered:
        shape = _shape(problem, config)
        inputs = ConfigInputs(config=config, x=draw(shape), x_grad=draw(shape), upstream=draw(shape))
        plan.inputs[config.name] = inputs
        instance = config.name
        args = [config.sizes[name] for name in problem.interface.constructor_args]
        construct_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        weight_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        probes += [
            Probe(probe_id("construct", config.name), "construct",
                  {"instance": instance, "args": args, "seed": construct_seed}),
            Probe(probe_id("randomize", config.name), "randomize", {"instance": instance, "seed": weight_seed}),
            Probe(probe_id("forward", config.name, "first"), "forward", {"instance": instance, "input": "x"},
                  {"x": inputs.x.clone()}),
            Probe(probe_id("forward", config.name, "again"), "forward", {"instance": instance, "input": "x"},
                  {"x": inputs.x.clone()}),
            Probe(probe_id("backward", config.name), "backward",
                  {"instance": instance, "input": "x", "grad": "g"},
                  {"x": inputs.x_grad.clone(), "g": inputs.upstream.clone()}),
        ]
    probes.append(Probe(REPORT, "report"))
    return plan

"""The probes of one grading of a pack's problem, with the trusted copies of everything they send.

Every value is drawn on the host from seeds derived from the run's seed (the scorecard records it, so a grading
replays exactly); the candidate receives copies. Per configuration: construct (modules and objects), set the
parameters (modules), then the calls, or the trajectory's steps; then the report of banned calls; the benchmark last.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from runners.agent.draws import draw_tensor
from runners.base import Job, Limits, Probe

from .spec import CallSpec, ConfigSpec, PackProblem
from .values import draw_input, draw_spec, resolve, shape_of

LOAD, ENTRY, REPORT = "load", "entry", "report"


def derive_seed(seed: int, *labels: object) -> int:
    """A seed for one purpose, derived from the run's seed (stable across processes and versions)."""
    text = ":".join([str(seed), *(str(label) for label in labels)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:7], "big")


@dataclass
class CallPlan:
    """One call in one configuration: what it received and the upstream gradient it was given."""

    spec: CallSpec
    probe_id: str
    args: list[Any]
    kwargs: dict[str, Any]
    seed: int | None
    upstream: torch.Tensor | None = None


@dataclass
class TrajectoryPlan:
    """The host's initial parameter values and every step's gradients (None: no gradient at that step)."""

    initial: dict[str, torch.Tensor]
    grads: list[dict[str, torch.Tensor | None]]
    step_ids: list[str]
    observe_ids: list[str]
    after_id: str | None
    after_observe_id: str | None


@dataclass
class PropertyPlan:
    """One property probe: the transformed input, and what the relation compares."""

    spec: Any
    probe_id: str
    call: str
    positions: torch.Tensor | None = None
    """The positions of the output that must stay unchanged (``causal``, ``ignores``), as a bool mask."""
    permutation: torch.Tensor | None = None


@dataclass
class ConfigPlan:
    """One configuration's trusted inputs and probes."""

    config: ConfigSpec
    values: dict[str, Any]
    inputs: dict[str, torch.Tensor]
    calls: list[CallPlan] = field(default_factory=list)
    new_id: str | None = None
    initial_id: str | None = None
    randomize_id: str | None = None
    weight_seed: int | None = None
    trajectory: TrajectoryPlan | None = None
    properties: list[PropertyPlan] = field(default_factory=list)


@dataclass
class BenchPlan:
    """The timed calls: their probe ids and the draw specs the agent draws each input from."""

    probe_ids: list[str]
    draws: list[dict[str, dict[str, Any]]]
    values: dict[str, Any]
    new_id: str | None
    randomize_id: str | None
    weight_seed: int | None


@dataclass
class PackPlan:
    """The job, and the trusted side of every probe."""

    job: Job
    seed: int
    configs: list[ConfigPlan]
    bench: BenchPlan | None = None
    timer: Any = None
    """The reference's timer of the benchmark, when one is attached."""


def _wire(reference: Any, inputs: dict[str, torch.Tensor], values: dict[str, Any], tensors: dict[str, torch.Tensor],
          prefix: str, param_names: list[str]) -> Any:
    """The agent's form of an argument: sent tensors by name, JSON values, the host parameters by name."""
    if isinstance(reference, dict) and "params" in reference:
        return {"plist": param_names}
    if isinstance(reference, dict) and "tuple" in reference:
        return {"tuple": [_wire(item, inputs, values, tensors, f"{prefix}.{i}", param_names)
                          for i, item in enumerate(reference["tuple"])]}
    value = resolve(reference, inputs, values)
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.clone()
        return {"t": prefix}
    return {"v": value}


def _upstream(problem: PackProblem, call: CallSpec, inputs: dict[str, torch.Tensor], values: dict[str, Any],
              seed: int) -> torch.Tensor | None:
    output = call.output
    if call.grad is None or output is None:
        return None
    if output.like is not None:
        shape = tuple(inputs[output.like].shape)
    elif output.tensor is not None:
        shape = shape_of(output.tensor, values)
    else:
        return None
    return draw_tensor({"shape": list(shape), "dtype": "float32", "law": "normal", "seed": seed})


def build_pack_plan(problem: PackProblem, submission: Path, seed: int, limits: Limits | None = None,
                    device: str = "cpu", benchmark: bool = True) -> PackPlan:
    """Every probe of the grading, in order; hidden configurations after the visible ones."""
    entry = problem.entry
    probes = [Probe(LOAD, "load", {"class_name": entry.name}),
              Probe(ENTRY, "entry", {"name": entry.name, "methods": list(entry.methods)})]
    job = Job(submission=submission, probes=probes, limits=limits or problem.limits,
              banned_callables=list(problem.banned), device=device)
    plan = PackPlan(job=job, seed=seed, configs=[])
    ordered = [problem.configs[0], *sorted(problem.configs[1:], key=lambda c: c.hidden)]
    probed: dict[str, int] = {}
    for config in ordered:
        values = dict(config.values)
        inputs = {name: draw_input(spec, values, derive_seed(seed, config.name, "input", name),
                                   config.shapes.get(name))
                  for name, spec in problem.inputs.items()}
        config_plan = ConfigPlan(config=config, values=values, inputs=inputs)
        first = len(probes)
        param_names: list[str] = []
        if problem.trajectory is not None:
            config_plan.trajectory = _trajectory_plan(problem, config, values, seed)
            param_names = list(config_plan.trajectory.initial)
        if entry.kind != "function":
            probes.extend(_construct_probes(problem, config_plan, seed, param_names))
        if config_plan.trajectory is not None:
            probes.extend(_trajectory_probes(problem, config_plan))
        for call in problem.calls_in(config.name):
            tensors: dict[str, torch.Tensor] = {}
            args = [_wire(ref, inputs, values, tensors, f"a{i}", param_names) for i, ref in enumerate(call.args)]
            kwargs = {key: _wire(ref, inputs, values, tensors, f"k_{key}", param_names)
                      for key, ref in call.kwargs.items()}
            call_seed = None if call.seed is None else derive_seed(seed, config.name, "seed", call.seed)
            probe_id = f"call:{config.name}:{call.name}"
            planned = CallPlan(spec=call, probe_id=probe_id, args=[resolve(r, inputs, values) for r in call.args]
                               if not _has_params(call.args) else [], kwargs={}, seed=call_seed)
            planned.kwargs = {key: resolve(ref, inputs, values) for key, ref in call.kwargs.items()
                              if not _has_params([ref])}
            params: dict[str, Any] = {"target": _target(problem, call, config.name), "args": args, "kwargs": kwargs,
                                      "seed": call_seed, "mode": call.mode}
            if call.grad is not None:
                planned.upstream = _upstream(problem, call, inputs, values, derive_seed(seed, config.name, "up",
                                                                                          call.name))
                if planned.upstream is not None:
                    tensors["upstream"] = planned.upstream.clone()
                    wrt = [_argument_key(call, name) for name in call.grad.wrt]
                    params["grad"] = {"wrt": [key for key in wrt if key is not None], "upstream": "upstream"}
            probes.append(Probe(probe_id, "call", params, tensors))
            config_plan.calls.append(planned)
        probes.extend(_property_probes(problem, config_plan, seed, probed, param_names))
        # A report after every configuration: a run cut short still says what the configurations it completed called.
        probes.append(Probe(f"{REPORT}:{config.name}", "report"))
        for probe in probes[first:]:
            probe.withhold_output = config.hidden
        plan.configs.append(config_plan)
    probes.append(Probe(REPORT, "report"))
    if benchmark and problem.benchmark is not None:
        plan.bench = _bench_probes(problem, plan, probes)
    return plan


def _transformed(prop: Any, inputs: dict[str, torch.Tensor], seed: int,
                 config: str) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None] | None:
    """The transformed input, the output positions that must not change, and the permutation (if any)."""
    x = inputs[prop.input]
    axis = prop.axis % x.dim()
    size = x.shape[axis]
    if size < 2:
        return None
    noise = draw_tensor({"shape": list(x.shape), "dtype": str(x.dtype).removeprefix("torch."), "law": "normal",
                         "seed": derive_seed(seed, config, "property", prop.name)})
    index = torch.arange(size).reshape([size if d == axis else 1 for d in range(x.dim())])
    if prop.kind in ("independent", "mixes"):
        changed = (index == 0).expand_as(x)
        return torch.where(changed, x + noise, x), None, None
    if prop.kind == "causal":
        start = size // 2
        changed = (index >= start).expand_as(x)
        keep = torch.arange(size) < start
        return torch.where(changed, x + noise, x), keep, None
    if prop.kind == "ignores":
        mask = inputs[str(prop.where)]
        if not mask.any() or mask.all():
            return None
        expanded = mask.reshape(*mask.shape, *([1] * (x.dim() - mask.dim()))).expand_as(x)
        return torch.where(expanded, x + noise, x), ~mask, None
    generator = torch.Generator().manual_seed(derive_seed(seed, config, "permutation", prop.name))
    permutation = torch.randperm(size, generator=generator)
    if torch.equal(permutation, torch.arange(size)):
        permutation = permutation.roll(1)
    return x.index_select(axis, permutation), None, permutation


def _property_probes(problem: PackProblem, plan: ConfigPlan, seed: int, probed: dict[str, int],
                     param_names: list[str]) -> list[Probe]:
    """A call per property on the transformed input, in the first configurations where the axis has two positions."""
    probes = []
    calls = {call.name: call for call in problem.calls_in(plan.config.name)}
    for prop in problem.properties:
        call = calls.get(prop.call)
        if call is None or probed.get(prop.name, 0) >= prop.configs:
            continue
        transformed = _transformed(prop, plan.inputs, seed, plan.config.name)
        if transformed is None:
            continue
        probed[prop.name] = probed.get(prop.name, 0) + 1
        value, positions, permutation = transformed
        inputs = {**plan.inputs, prop.input: value}
        tensors: dict[str, torch.Tensor] = {}
        args = [_wire(ref, inputs, plan.values, tensors, f"a{i}", param_names) for i, ref in enumerate(call.args)]
        kwargs = {key: _wire(ref, inputs, plan.values, tensors, f"k_{key}", param_names)
                  for key, ref in call.kwargs.items()}
        probe_id = f"property:{plan.config.name}:{prop.name}"
        call_seed = None if call.seed is None else derive_seed(seed, plan.config.name, "seed", call.seed)
        probes.append(Probe(probe_id, "call", {"target": _target(problem, call, plan.config.name), "args": args,
                                               "kwargs": kwargs, "seed": call_seed, "mode": call.mode}, tensors))
        plan.properties.append(PropertyPlan(spec=prop, probe_id=probe_id, call=call.name, positions=positions,
                                            permutation=permutation))
    return probes


def _has_params(references: list[Any]) -> bool:
    return any(isinstance(ref, dict) and "params" in ref for ref in references)


def _argument_key(call: CallSpec, name: str) -> str | None:
    """How the agent names an input among a call's arguments: its position, or its keyword."""
    for index, reference in enumerate(call.args):
        if reference == name:
            return str(index)
    for key, reference in call.kwargs.items():
        if reference == name:
            return key
    return None


def _target(problem: PackProblem, call: CallSpec, instance: str) -> dict[str, Any]:
    if problem.entry.kind == "function":
        return {"function": problem.entry.name}
    return {"instance": instance, "method": call.method}


def _construct_probes(problem: PackProblem, plan: ConfigPlan, seed: int, param_names: list[str]) -> list[Probe]:
    config = plan.config
    construct = problem.construct_in(config.name)
    tensors: dict[str, torch.Tensor] = {}
    if construct is None:
        return []
    args = [_wire(ref, plan.inputs, plan.values, tensors, f"c{i}", param_names) for i, ref in enumerate(construct.args)]
    kwargs = {key: _wire(ref, plan.inputs, plan.values, tensors, f"ck_{key}", param_names)
              for key, ref in construct.kwargs.items()}
    if plan.trajectory is not None:
        for name, value in plan.trajectory.initial.items():
            tensors[f"param/{name}"] = value.clone()
    plan.new_id = f"new:{config.name}"
    probes = [Probe(plan.new_id, "new", {"instance": config.name, "class": problem.entry.name, "args": args,
                                          "kwargs": kwargs, "params": param_names,
                                          "seed": derive_seed(seed, config.name, "construct")}, tensors)]
    if problem.entry.kind == "module":
        plan.initial_id = f"initial:{config.name}"
        probes.append(Probe(plan.initial_id, "observe", {"instance": config.name}))
        plan.randomize_id = f"randomize:{config.name}"
        plan.weight_seed = derive_seed(seed, config.name, "weights") % (2**31 - 1)
        probes.append(Probe(plan.randomize_id, "randomize", {"instance": config.name, "seed": plan.weight_seed}))
    return probes


def _trajectory_plan(problem: PackProblem, config: ConfigSpec, values: dict[str, Any], seed: int) -> TrajectoryPlan:
    spec = problem.trajectory
    assert spec is not None
    steps = spec.steps if isinstance(spec.steps, int) else int(values[spec.steps])
    initial = {name: draw_tensor({"shape": list(shape_of(dims, values)), "dtype": "float32", "law": "normal",
                                  "seed": derive_seed(seed, config.name, "param", name)})
               for name, dims in spec.params.items()}
    generator = torch.Generator().manual_seed(derive_seed(seed, config.name, "missing"))
    grads: list[dict[str, torch.Tensor | None]] = []
    for step in range(steps):
        this: dict[str, torch.Tensor | None] = {}
        for index, (name, value) in enumerate(initial.items()):
            missing = step > 0 and index > 0 and float(torch.rand((), generator=generator)) < spec.missing
            this[name] = None if missing else draw_tensor(
                {"shape": list(value.shape), "dtype": "float32", "law": "normal",
                 "std": float(values[spec.grad_std]) if isinstance(spec.grad_std, str) else spec.grad_std,
                 "seed": derive_seed(seed, config.name, "grad", step, name)})
        grads.append(this)
    name = config.name
    return TrajectoryPlan(initial=initial, grads=grads,
                          step_ids=[f"step:{name}:{i}" for i in range(steps)],
                          observe_ids=[f"observe:{name}:{i}" for i in range(steps)],
                          after_id=f"after:{name}" if spec.after else None,
                          after_observe_id=f"observe:{name}:after" if spec.after else None)


def _trajectory_probes(problem: PackProblem, plan: ConfigPlan) -> list[Probe]:
    spec, trajectory = problem.trajectory, plan.trajectory
    assert spec is not None and trajectory is not None
    probes = []
    instance = plan.config.name
    for step, grads in enumerate(trajectory.grads):
        tensors = {f"g/{name}": value.clone() for name, value in grads.items() if value is not None}
        probes.append(Probe(f"grads:{instance}:{step}", "set_grads",
                            {"grads": {name: (f"g/{name}" if value is not None else None)
                                       for name, value in grads.items()}}, tensors))
        probes.append(Probe(trajectory.step_ids[step], "call",
                            {"target": {"instance": instance, "method": spec.step}, "args": [], "kwargs": {},
                             "seed": None, "mode": None}))
        probes.append(Probe(trajectory.observe_ids[step], "observe", {}))
    if spec.after and trajectory.after_id and trajectory.after_observe_id:
        probes.append(Probe(trajectory.after_id, "call", {"target": {"instance": instance, "method": spec.after},
                                                          "args": [], "kwargs": {}, "seed": None, "mode": None}))
        probes.append(Probe(trajectory.after_observe_id, "observe", {}))
    return probes


BENCH = "bench"


def _bench_probes(problem: PackProblem, plan: PackPlan, probes: list[Probe]) -> BenchPlan:
    spec = problem.benchmark
    assert spec is not None
    call = next(c for c in problem.calls if c.name == spec.call)
    values = dict(spec.values)
    bench = BenchPlan(probe_ids=[], draws=[], values=values, new_id=None, randomize_id=None, weight_seed=None)
    if problem.entry.kind != "function":
        construct = problem.construct_in(problem.configs[0].name)
        assert construct is not None
        tensors: dict[str, torch.Tensor] = {}
        args = [_wire(ref, {}, values, tensors, f"c{i}", []) for i, ref in enumerate(construct.args)]
        kwargs = {key: _wire(ref, {}, values, tensors, f"ck_{key}", []) for key, ref in construct.kwargs.items()}
        bench.new_id = f"new:{BENCH}"
        probes.append(Probe(bench.new_id, "new", {"instance": BENCH, "class": problem.entry.name, "args": args,
                                                   "kwargs": kwargs, "params": [],
                                                   "seed": derive_seed(plan.seed, BENCH, "construct")}, tensors))
        if problem.entry.kind == "module":
            bench.randomize_id = f"randomize:{BENCH}"
            bench.weight_seed = derive_seed(plan.seed, BENCH, "weights") % (2**31 - 1)
            probes.append(Probe(bench.randomize_id, "randomize", {"instance": BENCH, "seed": bench.weight_seed}))
    for index in range(spec.warmup + spec.repeats):
        draws: dict[str, dict[str, Any]] = {
            name: draw_spec(input_spec, values, derive_seed(plan.seed, BENCH, index, name), spec.shapes.get(name))
            for name, input_spec in problem.inputs.items()}

        def argument(reference: Any, draws: dict[str, dict[str, Any]] = draws) -> Any:
            if isinstance(reference, str) and reference in draws:
                return {"d": draws[reference]}
            return {"v": resolve(reference, {}, values)}

        probe_id = f"{BENCH}:{index}" if index >= spec.warmup else f"{BENCH}:warmup:{index}"
        probes.append(Probe(probe_id, "call", {"target": _target(problem, call, BENCH),
                                               "args": [argument(ref) for ref in call.args],
                                               "kwargs": {k: argument(ref) for k, ref in call.kwargs.items()},
                                               "seed": derive_seed(plan.seed, BENCH, "seed", index),
                                               "mode": call.mode, "checksum": True}))
        if index >= spec.warmup:
            bench.probe_ids.append(probe_id)
            bench.draws.append(draws)
    return bench

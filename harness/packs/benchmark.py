"""The performance item of a pack problem: the candidate timed from outside, the reference interleaved.

Each timed call's inputs are drawn by the agent from host-chosen specs, so the host knows them without sending
them; the reply is only a checksum of the output, which the host verifies against the reference's output on the
same inputs (under the diagnosed variant and the host's own parameter values), so only real computations count.
The reference is the pack's ``solution.py``, run in this process on one thread right before each candidate call.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from runners.agent.draws import draw_tensor
from runners.agent.probes import output_checksum

from ..engine.benchmark import single_thread
from ..engine.checks import NO_BENCHMARK, ItemOutcome
from ..engine.parameters import chosen_values, declared_parameters
from ..kit import Defined
from .plan import PackPlan
from .spec import PackProblem
from .values import resolve

_SOLUTIONS: dict[Path, Any] = {}


def load_solution(path: Path) -> Any:
    """The pack's solution module, imported once per process (trusted code)."""
    if path not in _SOLUTIONS:
        spec = importlib.util.spec_from_file_location(f"harness_pack_solution_{path.parent.name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SOLUTIONS[path] = module
    return _SOLUTIONS[path]


class ReferenceTimer:
    """Times the solution on each timed call's inputs, right before the candidate's call."""

    def __init__(self, problem: PackProblem, solution: Path, plan: PackPlan) -> None:
        self.problem, self.plan = problem, plan
        module = load_solution(solution)
        entry = getattr(module, problem.entry.name)
        spec = problem.benchmark
        assert spec is not None
        self.call = next(c for c in problem.calls if c.name == spec.call)
        self.values = dict(spec.values)
        if problem.entry.kind == "function":
            self.target = entry
        else:
            construct = problem.construct_in(problem.configs[0].name)
            assert construct is not None
            args = [resolve(ref, {}, self.values) for ref in construct.args]
            kwargs = {k: resolve(ref, {}, self.values) for k, ref in construct.kwargs.items()}
            instance = entry(*args, **kwargs)
            if isinstance(instance, torch.nn.Module):
                instance.eval()
            self.target = instance if self.call.method is None else getattr(instance, self.call.method)
        self.times: list[float] = []
        self.drawn: dict[str, dict[str, torch.Tensor]] = {}
        """Each timed call's inputs as drawn here, kept for verifying the candidate's checksums."""

    def _inputs(self, draws: dict[str, dict[str, Any]]) -> dict[str, torch.Tensor]:
        inputs = {name: draw_tensor(spec) for name, spec in draws.items()}
        self.drawn[_key(draws)] = inputs
        return inputs

    def hook(self, draws: dict[str, dict[str, Any]]) -> Any:
        """A runner hook timing the reference on these draws (input drawing included, as the agent does)."""

        def timed() -> None:
            with single_thread(), torch.no_grad():
                started = time.perf_counter()
                inputs = self._inputs(draws)
                args = [resolve(ref, inputs, self.values) for ref in self.call.args]
                kwargs = {k: resolve(ref, inputs, self.values) for k, ref in self.call.kwargs.items()}
                self.target(*args, **kwargs)
                self.times.append(time.perf_counter() - started)

        return timed


def _key(draws: dict[str, dict[str, Any]]) -> str:
    return repr(sorted((name, spec["seed"]) for name, spec in draws.items()))


def attach_timer(problem: PackProblem, solution: Path, plan: PackPlan) -> ReferenceTimer | None:
    """Hook the reference's timing onto the timed probes."""
    if plan.bench is None:
        return None
    timer = ReferenceTimer(problem, solution, plan)
    by_id = {probe.id: probe for probe in plan.job.probes}
    for probe_id, draws in zip(plan.bench.probe_ids, plan.bench.draws, strict=True):
        by_id[probe_id].before = timer.hook(draws)
    plan.timer = timer
    return timer


def _expected_checksum(ev: Any, draws: dict[str, dict[str, Any]]) -> float | None:
    """The checksum the reference's output on these draws has, under the diagnosed variant."""
    problem: PackProblem = ev.problem
    bench = ev.plan.bench
    values = bench.values
    timer = getattr(ev.plan, "timer", None)
    inputs = timer.drawn.get(_key(draws)) if timer is not None else None
    if inputs is None:
        inputs = {name: draw_tensor(spec) for name, spec in draws.items()}
    weights = None
    if problem.entry.kind == "module":
        new = ev.probe(bench.new_id)
        declared = declared_parameters(new.facts) if new is not None and new.ok else None
        binding = ev.diagnosis.binding
        if declared is None or binding is None or bench.weight_seed is None or ev.reference.binder is None:
            return None
        params = chosen_values(declared, bench.weight_seed)
        moved = ev.reference.binder.transfer(binding, params, values)
        if moved is None:
            return None
        weights = moved.weights_from(params)
    flags = ev.diagnosis.flags or frozenset()
    assert problem.benchmark is not None
    inputs64 = {k: v.double() if v.is_floating_point() else v for k, v in inputs.items()}
    with torch.no_grad():
        output = ev.reference.compute(problem.benchmark.call, inputs64, values, weights, flags)
    if isinstance(output, Defined):
        output = output.value
    if not isinstance(output, torch.Tensor):
        return None
    return output_checksum(output.double())


def _tolerance(ev: Any, draws: dict[str, dict[str, Any]], expected: float) -> float:
    return 1e-3 * max(abs(expected), 1.0) + 1e-3


def bench_outcome(ev: Any) -> ItemOutcome:
    """The verdict of the performance item."""
    problem: PackProblem = ev.problem
    spec = problem.benchmark
    bench = ev.plan.bench
    if spec is None or bench is None:
        return ItemOutcome("skipped", NO_BENCHMARK)
    if ev.diagnosis.flags is None:
        return ItemOutcome("failed", "Not measured: your output does not match the reference (even with known "
                           "mistakes), so the timed calls could not be verified.")
    results = [ev.probe(pid) for pid in bench.probe_ids]
    timer = getattr(ev.plan, "timer", None)
    if any(r is None for r in results):
        return ItemOutcome("failed", f"The run ended while timing your code: {ev.run.reason}.")
    if any(not r.ok for r in results):
        return ItemOutcome("failed", "A timed call failed at the benchmark size.")
    checked = 0
    for result, draws in zip(results, bench.draws, strict=True):
        expected = _expected_checksum(ev, draws)
        got = result.facts.get("checksum")
        if expected is None:
            return ItemOutcome("skipped", "Not measured: the timed calls' outputs could not be verified; a person "
                               "should look at it.")
        if not isinstance(got, float) or not math.isfinite(got) or abs(got - expected) > _tolerance(ev, draws,
                                                                                                    expected):
            return ItemOutcome("failed", "The outputs of your timed calls do not match the reference's on the same "
                               "inputs: timing only counts for real computations.")
        checked += 1
    candidate = [max(r.wall_s, r.cpu_s or 0.0) for r in results]
    reference = list(timer.times) if timer is not None else []
    if not reference:
        return ItemOutcome("skipped", "Not measured: the reference could not be timed.")
    ratio = statistics.median(candidate) / max(statistics.median(reference), 1e-9)
    sizes = ", ".join(f"{k}={v}" for k, v in spec.values.items())
    details = {"values": spec.values, "candidate_median_s": round(statistics.median(candidate), 5),
               "reference_median_s": round(statistics.median(reference), 5), "ratio": round(ratio, 2),
               "allowed_ratio": spec.max_time_ratio, "calls": checked}
    measured = (f"median {statistics.median(candidate) * 1000:.1f} ms per call at {sizes}, {ratio:.2f}x the "
                f"reference's {statistics.median(reference) * 1000:.1f} ms")
    if ratio <= spec.max_time_ratio:
        return ItemOutcome("passed", f"Fast enough: {measured} (allowed {spec.max_time_ratio:g}x).", 1.0, details)
    return ItemOutcome("failed", f"Too slow: {measured}; at most {spec.max_time_ratio:g}x is allowed.",
                       details=details)

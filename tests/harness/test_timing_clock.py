"""The performance ratio is CPU time against CPU time where the sandbox's CPU is accounted, so load moves it little."""

import time

import pytest

from harness.engine.benchmark import ReferenceTimer, benchmark_probes, collect_benchmark
from reference_solutions.mhsa import REFERENCE
from runners.base import ProbeResult


def _timer() -> ReferenceTimer:
    def forward(x):
        return x * 2

    return ReferenceTimer(forward=forward, shape=(4, 3, 8))


def _results(probes, wall_s: float, cpu_s: float | None) -> dict[str, ProbeResult]:
    return {probe.id: ProbeResult(ok=True, facts={"checksum": 1.0}, wall_s=wall_s, cpu_s=cpu_s)
            for probe in probes if probe.id.startswith("bench:")}


def _collect(mhsa, wall_s: float, cpu_s: float | None, device: str = "cpu"):
    problem = mhsa.problem
    timer = _timer()
    probes = benchmark_probes(problem, problem.benchmark, timer, seed=3, probe_budget=5)
    for probe in probes:
        if probe.before is not None:
            probe.before()
    found = collect_benchmark(problem, REFERENCE, probes, _results(probes, wall_s, cpu_s), None, timer,
                              None, None, device=device)
    return found, timer


def test_the_sandbox_cgroups_cpu_time_is_compared_with_the_reference_threads(mhsa):
    found, timer = _collect(mhsa, wall_s=0.9, cpu_s=0.01)
    assert found.clock == "cpu"
    assert found.candidate_times == [0.01] * len(timer.cpu_times)
    assert found.reference_times == timer.cpu_times
    assert found.reference_times != timer.times or all(t == 0 for t in timer.times)


def test_without_a_cgroup_reading_the_round_trip_is_compared_with_wall_time(mhsa):
    found, timer = _collect(mhsa, wall_s=0.9, cpu_s=None)
    assert found.clock == "wall"
    assert found.candidate_times == [0.9] * len(timer.times)
    assert found.reference_times == timer.times


def test_on_a_gpu_device_time_is_the_round_trip(mhsa):
    found, _ = _collect(mhsa, wall_s=0.9, cpu_s=0.01, device="cuda")
    assert found.clock == "wall"
    assert found.candidate_times[0] == pytest.approx(0.9)


def test_the_reference_threads_cpu_time_excludes_waiting():
    timer = _timer()

    def sleepy(x):
        time.sleep(0.05)  # waiting, as on a machine whose cores are busy: wall time passes, CPU time does not
        return x

    timer.forward = sleepy
    timer.timed(7)()
    assert timer.times[0] >= 0.05
    assert timer.cpu_times[0] < 0.04

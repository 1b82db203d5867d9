"""The performance and memory measurements: the candidate timed from outside, the reference timed interleaved.

Every timed call draws a fresh input from its own seed. On the CPU, where the kernel accounts the sandbox
cgroup's CPU time, the candidate's time is that counter's increase over the probe, against the reference's thread
CPU time in this process (single-threaded like the sandbox, right before each candidate call, on the same input):
neither moves much when the machine is busy. Elsewhere (no cgroup, or a GPU) it is the host's round trip of the
probe against the reference's wall time. The candidate can touch neither clock. The candidate's peak memory is the
sandbox cgroup's high-water mark during one forward; the reference's is measured the same way in a sandbox of its
own (trusted code, never beside a candidate's), once per problem, benchmark size and runner.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from runners.agent.probes import output_checksum, random_parameter_values
from runners.base import Job, Limits, Probe, ProbeResult, Runner

from ..models import BenchmarkSpec, Problem

BENCH_INSTANCE = "bench"
MEMORY_PROBE = "bench:memory"
_REFERENCE_MEMORY: dict[tuple[Any, ...], float | None] = {}
_ESTIMATES: dict[tuple[Any, ...], float] = {}


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread, as the sandbox does, then restore."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _load_module_class(path: Path, class_name: str) -> type[torch.nn.Module]:
    spec = importlib.util.spec_from_file_location(f"harness_reference_module_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)  # type: ignore[no-any-return,unused-ignore]


def input_shape(problem: Problem, sizes: dict[str, int]) -> tuple[int, ...]:
    """The benchmark input's shape."""
    return tuple(sizes[name] for name in problem.interface.input_shape)


@dataclass
class ReferenceTimer:
    """Times the reference module on the same fresh inputs the candidate gets."""

    forward: Callable[[torch.Tensor], Any]
    shape: tuple[int, ...]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    """Where the reference runs: the candidate's device (on CUDA, each call is synchronised)."""
    key: tuple[Any, ...] = ()
    """Identifies the reference module and size, for reusing the start-up estimate within this process."""
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    """The CPU time of this thread in each timed call: what load on the machine changes least."""
    checksums: dict[int, float] = field(default_factory=dict)

    def call(self, seed: int) -> tuple[float, float]:
        """One timed call: input generation, forward and checksum, as the agent does them; (wall, CPU) seconds."""
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize()
        cpu_started = time.thread_time()
        started = time.perf_counter()
        x = torch.randn(self.shape, generator=torch.Generator().manual_seed(seed)).to(self.device)
        with torch.no_grad():
            output = self.forward(x)
        if cuda:
            torch.cuda.synchronize()
            output = output.to("cpu")
        self.checksums[seed] = output_checksum(output)
        return time.perf_counter() - started, time.thread_time() - cpu_started

    def timed(self, seed: int) -> Callable[[], None]:
        """A hook for the runner: time the reference on this seed right before the candidate's call."""

        def hook() -> None:
            with single_thread():
                wall, cpu = self.call(seed)
                self.times.append(wall)
                self.cpu_times.append(cpu)

        return hook

    def estimate(self) -> float:
        """A quick median of three calls (not for the record), to size the candidate's time budget.

        Measured once per reference and size in a process: a batch worker does not pay for it per submission.
        """
        if self.key and self.key in _ESTIMATES:
            return _ESTIMATES[self.key]
        with single_thread():
            value = statistics.median(self.call(seed)[0] for seed in (1, 2, 3))
        if self.key:
            _ESTIMATES[self.key] = value
        return value


def probe_memory_mb(result: ProbeResult, device: str = "cpu") -> float | None:
    """A memory probe's figure in MiB: the sandbox cgroup's high-water mark, measured by the host.

    On a GPU, the device allocator's peak is something only the sandbox can read, so it is a figure the candidate
    could forge: it can only count against the candidate (the larger of the two is taken), never replace the host's
    measurement, and on the CPU it is ignored.
    """
    host = result.memory_delta_mb
    reported = result.facts.get("device_peak_mb") if device == "cuda" else None
    if not isinstance(reported, (int, float)) or isinstance(reported, bool) or not math.isfinite(reported) \
            or reported < 0:
        return host
    return max(host or 0.0, float(reported))


def trusted_device(requested: str) -> torch.device:
    """The device the trusted side uses for a run that asked for ``requested`` (the CPU when no GPU is here)."""
    return torch.device("cuda") if requested == "cuda" and torch.cuda.is_available() else torch.device("cpu")


def reference_timer(problem: Problem, reference: Any, seed: int, device: str = "cpu") -> ReferenceTimer | None:
    """A timer of the reference module at the benchmark size, with seeded random weights, on the run's device."""
    spec = problem.benchmark
    module_file = getattr(reference, "module_file", None)
    if spec is None or module_file is None:
        return None
    cls = _load_module_class(Path(module_file), problem.interface.class_name)
    module = cls(*[spec.sizes[name] for name in problem.interface.constructor_args]).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(random_parameter_values(tuple(param.shape), generator).to(param.dtype))
    shape = input_shape(problem, spec.sizes)
    where = trusted_device(device)
    return ReferenceTimer(forward=module.to(where), shape=shape, device=where,
                          key=(str(module_file), problem.interface.class_name, shape, str(where)))


def benchmark_probes(problem: Problem, spec: BenchmarkSpec, timer: ReferenceTimer | None, seed: int,
                     probe_budget: float) -> list[Probe]:
    """Construct and randomise an instance at the benchmark size, one memory probe, warm-up and timed calls."""
    generator = torch.Generator().manual_seed(seed)

    def fresh_seed() -> int:
        return int(torch.randint(0, 2**31 - 1, (1,), generator=generator))

    args = [spec.sizes[name] for name in problem.interface.constructor_args]
    shape = list(input_shape(problem, spec.sizes))
    probes = [
        Probe("construct:bench", "construct", {"instance": BENCH_INSTANCE, "args": args, "seed": fresh_seed(),
                                               "materialize": shape}),
        Probe("randomize:bench", "randomize", {"instance": BENCH_INSTANCE, "seed": fresh_seed()}),
        Probe(MEMORY_PROBE, "bench_forward", {"instance": BENCH_INSTANCE, "seed": fresh_seed(), "shape": shape,
                                              "device_memory": True},
              measure_memory=True, budget_s=probe_budget),
    ]
    for index in range(spec.warmup):
        probes.append(Probe(f"bench:warmup:{index}", "bench_forward",
                            {"instance": BENCH_INSTANCE, "seed": fresh_seed(), "shape": shape, "timing": True},
                            budget_s=probe_budget))
    for index in range(spec.repeats):
        call_seed = fresh_seed()
        probes.append(Probe(f"bench:timed:{index}", "bench_forward",
                            {"instance": BENCH_INSTANCE, "seed": call_seed, "shape": shape, "timing": True},
                            budget_s=probe_budget, before=timer.timed(call_seed) if timer else None))
    return probes


def reference_memory_mb(problem: Problem, reference: Any, runner: Runner, device: str = "cpu") -> float | None:
    """The reference module's peak memory increase during one benchmark forward, in a sandbox of its own.

    Measured the way the candidate's is: the cgroup's high-water mark, or on a GPU the device allocator's peak.
    """
    spec = problem.benchmark
    module_file = getattr(reference, "module_file", None)
    if spec is None or module_file is None:
        return None
    key = (problem.id, problem.version, tuple(sorted(spec.sizes.items())), runner.name, device)
    if key not in _REFERENCE_MEMORY:
        probes = [Probe("load", "load", {"class_name": problem.interface.class_name}),
                  *benchmark_probes(problem, spec, None, seed=0, probe_budget=60)[:3]]
        job = Job(submission=Path(module_file), probes=probes, limits=Limits(wall_s=120, probe_s=60), device=device)
        result = runner.run(job)  # a sandbox of its own, never beside a candidate's
        probe = result.probe_results.get(MEMORY_PROBE)
        _REFERENCE_MEMORY[key] = probe_memory_mb(probe, device) if probe is not None and probe.ok else None
    return _REFERENCE_MEMORY[key]


@dataclass
class BenchmarkResult:
    """The measurements the performance and memory items read."""

    candidate_times: list[float] = field(default_factory=list)
    reference_times: list[float] = field(default_factory=list)
    timed_out: str | None = None
    failure: str | None = None
    candidate_memory_mb: float | None = None
    reference_memory_mb: float | None = None
    checksum_mismatch: bool = False
    checked_checksums: int = 0
    unverified: str | None = None
    """Why the outputs of the measured calls could not be checked; then neither time nor memory counts."""
    memory_source: str = "sandbox cgroup high-water mark"
    clock: str = "wall"
    """What the times are: ``cpu`` (the sandbox cgroup's CPU time against the reference thread's), or ``wall``
    (round trips against wall time, where the kernel does not account the sandbox's CPU, and on a GPU)."""

    @staticmethod
    def spread(times: list[float]) -> float:
        """Interquartile range over median (0 when too few samples)."""
        if len(times) < 4:
            return 0.0
        quartiles = statistics.quantiles(times, n=4)
        return (quartiles[2] - quartiles[0]) / statistics.median(times)

    @staticmethod
    def typical(times: list[float]) -> float:
        """The lower quartile of the calls' times; both sides are read the same way.

        Other work on the machine only ever adds time to a call, so the faster calls are the least disturbed.
        """
        if len(times) < 4:
            return statistics.median(times)
        return statistics.quantiles(times, n=4, method="inclusive")[0]

    @property
    def ratio(self) -> float | None:
        """Candidate's typical time over the reference's (see ``typical``)."""
        if not self.candidate_times or not self.reference_times:
            return None
        return self.typical(self.candidate_times) / self.typical(self.reference_times)


def _expected_checksums(reference: Any, match: Any, params: dict[str, torch.Tensor], sizes: dict[str, int],
                        shape: tuple[int, ...], seeds: list[int]) -> dict[int, float] | None:
    """The checksums the diagnosed computation gives under the candidate's weights, per seed.

    The diagnosed computation is the reference, or the mistaken variant the candidate was matched to. Computed in
    float32 (a float32 forward at the benchmark size costs about what the candidate's does). None when nothing was
    matched or the reading does not fit the benchmark instance.
    """
    if match is None:
        return None
    binding = reference.transfer(match.binding, sizes)
    if not binding.parameter_names() <= set(params):
        return None
    expected = {}
    try:
        with torch.no_grad(), single_thread():
            for seed in seeds:
                x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
                expected[seed] = output_checksum(reference.forward(params, binding, x, sizes, match.variant))
    except (RuntimeError, IndexError, ValueError):  # the reading does not fit the benchmark instance
        return None
    return expected


CHECKSUM_RTOL = 1e-3


def _call_failed(error: dict[str, Any] | None) -> str:
    message = f"{error.get('type', 'Error')}: {error.get('message', '')}" if error else "unknown error"
    return f"your forward failed at the benchmark size ({message})"


def collect_benchmark(problem: Problem, reference: Any, probes: list[Probe], results: dict[str, Any],
                      interrupted: str | None, timer: ReferenceTimer | None, reference_memory: float | None,
                      match: Any, params: dict[str, torch.Tensor] | None = None, device: str = "cpu",
                      ) -> BenchmarkResult | None:
    """Gather times, memory and checksum checks from the benchmark probes' results.

    ``params`` are the values the host chose for the benchmark instance. Time and memory only count when the output
    of every measured call (the memory probe's and each timed call's) was checked against the diagnosed computation
    under those values: finite, and matching.
    """
    spec = problem.benchmark
    if spec is None:
        return None
    result = BenchmarkResult(reference_memory_mb=reference_memory)
    if interrupted and interrupted.startswith("bench"):
        result.timed_out = interrupted
    memory = results.get(MEMORY_PROBE)
    if memory is not None:
        if memory.ok:
            result.candidate_memory_mb = probe_memory_mb(memory, device)
            if device == "cuda" and "device_peak_mb" in memory.facts:
                result.memory_source = ("sandbox cgroup high-water mark, or the device allocator's peak reported by "
                                        "the sandbox where larger")
        else:
            result.failure = _call_failed(memory.error)
    timed = [p for p in probes if p.id.startswith("bench:timed:")]
    answers: list[ProbeResult] = []
    for probe in timed:
        answer = results.get(probe.id)
        if answer is None:
            break
        if not answer.ok:
            result.failure = _call_failed(answer.error)
            break
        answers.append(answer)
    # On the CPU, CPU time where the kernel accounts the sandbox's: the cgroup's counter covers every process and
    # thread it started, cannot be touched from inside, and, unlike wall time, hardly moves when other work shares
    # the machine; the reference's is its own thread's CPU time in the same calls.
    by_cpu = device != "cuda" and timer is not None and bool(answers) \
        and all(answer.cpu_s is not None for answer in answers) and len(timer.cpu_times) >= len(answers)
    if by_cpu:
        assert timer is not None
        result.clock = "cpu"
        result.candidate_times = [float(answer.cpu_s) for answer in answers]  # type: ignore[arg-type]
        result.reference_times = list(timer.cpu_times[: len(answers)])
    else:
        result.candidate_times = [answer.wall_s if device == "cuda" or answer.cpu_s is None
                                  else max(answer.wall_s, answer.cpu_s) for answer in answers]
        if timer is not None:
            result.reference_times = list(timer.times[: len(answers)])
    measured = [p for p in probes if (p.id == MEMORY_PROBE or p.id.startswith("bench:timed:"))
                and p.id in results and results[p.id].ok]
    missing = [p.id for p in measured if p.id != MEMORY_PROBE and "checksum" not in results[p.id].facts]
    if missing:
        result.failure = (f"{len(missing)} of your timed calls returned no output of the input's shape, so their "
                          "time cannot count")
        return result
    if not measured:
        return result  # the benchmark was never reached: nothing to check
    seeds = [int(p.params["seed"]) for p in measured]
    expected = _expected_checksums(reference, match, params or {}, spec.sizes, input_shape(problem, spec.sizes),
                                   seeds)
    if expected is None:
        result.unverified = ("the outputs of your timed calls could not be checked, because no reading of your "
                             "parameters reproduces your module's output")
        return result
    for probe, seed in zip(measured, seeds, strict=True):
        got, want = results[probe.id].facts.get("checksum"), expected[seed]
        result.checked_checksums += 1
        # A missing, non-numeric or NaN checksum is a mismatch: only a finite value close to the expected one counts.
        if type(got) not in (int, float) or not abs(float(got) - want) <= CHECKSUM_RTOL * max(1.0, abs(want)):
            result.checksum_mismatch = True
    return result

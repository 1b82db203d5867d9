"""Batch throughput: the warm worker pool against a fresh process per submission, measured in one run.

Usage: python benchmarks/batch_throughput.py [--n 24] [--workers 2] [--sandboxes 20] [--docker]

1. Sandbox start-up: the time to get a fully confined child that has answered a trivial job, forked from the warm
   zygote (`local`) and as a fresh interpreter importing torch (`local-cold`), run one after another; with
   `--docker`, also as a fresh container (`docker`) and as a child forked in a pooled container (`docker-pool`),
   with the engine at HARNESS_DOCKER_HOST and the harness image, and the pool container's own start-up.
2. Grading: N submissions drawn from the MHSA corpus (correct, mistaken, crashing, slow) graded three ways:
   `harness batch` with the warm local runner, `harness batch --runner local-cold`, and one `harness grade`
   process per submission (the same number at a time). Prints submissions per second for each and their ratios.
   With `--docker`, also `harness batch --runner docker` and `--runner docker-pool`.
3. Memory: the batch process's peak RSS (children excluded) for N and 2N, to show that it stays flat.
4. Where the time goes: the median CPU seconds a warm grading spends in its sandbox and in the trusted process
   (reference timing, checksums, diagnosis), which bound the throughput on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
MIX = ["correct_separate_linear_bias", "mistake_no_scale", "broken_forward_raises", "correct_slow_loops",
       "mistake_softmax_over_queries", "correct_packed_in_proj", "broken_syntax_error", "mistake_no_out_proj"]
TRIVIAL = """
import torch
class Model(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(n, n))
    def forward(self, x):
        return x @ self.w
"""


def make_batch(directory: Path, count: int) -> Path:
    source = directory / f"input-{count}"
    source.mkdir()
    for index in range(count):
        shutil.copy(CORPUS / f"{MIX[index % len(MIX)]}.py", source / f"student{index:04d}.py")
    return source


def sandbox_startup(runner_name: str, count: int, directory: Path) -> tuple[float, list[float]]:
    """Seconds for the runner's first sandbox (a warm runner starts its zygote or pool then), and per sandbox after.

    Each is from asking the runner to its answer to a trivial job (load, construct, forward).
    """
    from runners import Job, Limits, Probe, create_runner

    path = directory / "trivial.py"
    path.write_text(TRIVIAL)
    probes = [Probe("load", "load", {"class_name": "Model"}),
              Probe("construct", "construct", {"instance": "m", "args": [4], "seed": 1}),
              Probe("forward", "forward", {"instance": "m", "input": "x"}, {"x": torch.ones(2, 4)})]
    times = []
    with create_runner(runner_name) as runner:
        started = time.perf_counter()
        first = runner.run(Job(submission=path, probes=probes, limits=Limits()))
        first_s = time.perf_counter() - started
        assert first.outcome == "completed", first.reason
        for _ in range(count):
            started = time.perf_counter()
            result = runner.run(Job(submission=path, probes=probes, limits=Limits()))
            times.append(time.perf_counter() - started)
            assert result.outcome == "completed", result.reason
        startup = result.runner.enforced.get("startup", "")
        if runner_name in ("local", "docker-pool") and not startup.startswith("forked"):
            raise SystemExit(f"{runner_name} did not start warm: {startup}")
    return first_s, times


def run_batch(source: Path, out: Path, workers: int, runner: str = "local") -> tuple[float, float]:
    """Seconds and the batch process's peak RSS in MiB (read from its own rusage via a wrapper)."""
    wrapper = ("import resource, runpy, sys; sys.argv = ['harness'] + sys.argv[1:]\n"
               "try:\n    runpy.run_module('harness', run_name='__main__')\n"
               "finally:\n"
               "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", wrapper, "batch", str(source), "--problem", "mhsa",
                                "--out", str(out), "--workers", str(workers), "--runner", runner],
                               capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        raise SystemExit(f"harness batch failed ({completed.returncode}): {completed.stderr[-2000:]}")
    peak = next((int(line.split()[1]) for line in completed.stderr.splitlines() if line.startswith("PEAK_RSS_KB")),
                0)
    return elapsed, peak / 1024


def run_baseline(source: Path, out: Path, workers: int) -> float:
    files = sorted(source.glob("*.py"))
    out.mkdir()

    def one(path: Path) -> None:
        subprocess.run([sys.executable, "-m", "harness", "grade", str(path), "--problem", "mhsa", "--out",
                        str(out / f"{path.stem}.json")], capture_output=True, check=False)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - started


def grading_costs(out: Path) -> tuple[float, float]:
    """Median sandbox CPU seconds and median grading wall seconds over the scorecards of a batch."""
    sandbox_cpu, grading = [], []
    for path in (out / "scorecards").glob("*.json"):
        card = json.loads(path.read_text())
        if card["resources"].get("cpu_s") is not None:
            sandbox_cpu.append(card["resources"]["cpu_s"])
        if card.get("grading_s"):
            grading.append(card["grading_s"])
    return statistics.median(sandbox_cpu or [0.0]), statistics.median(grading or [0.0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sandboxes", type=int, default=20, help="sandboxes started per mode in part 1")
    parser.add_argument("--docker", action="store_true", help="also time a fresh container per sandbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        _, warm = sandbox_startup("local", args.sandboxes, directory)
        _, cold = sandbox_startup("local-cold", max(3, args.sandboxes // 4), directory)
        print(f"sandbox start-up + trivial job, warm (forked from the zygote): {1000 * statistics.median(warm):7.0f} ms"
              f" median ({1 / statistics.median(warm):5.1f} sandboxes/s on one worker)")
        print(f"sandbox start-up + trivial job, cold (fresh interpreter):      {1000 * statistics.median(cold):7.0f} ms"
              f" median ({1 / statistics.median(cold):5.1f} sandboxes/s on one worker)")
        print(f"start-up ratio cold / warm: {statistics.median(cold) / statistics.median(warm):6.1f}x")
        if args.docker:
            _, container = sandbox_startup("docker", max(3, args.sandboxes // 4), directory)
            pool_first, pooled = sandbox_startup("docker-pool", args.sandboxes, directory)
            print(f"sandbox start-up + trivial job, docker (fresh container):  "
                  f"{1000 * statistics.median(container):7.0f} ms median "
                  f"({1 / statistics.median(container):5.1f} sandboxes/s on one worker)")
            print(f"sandbox start-up + trivial job, docker-pool (forked in the pool container): "
                  f"{1000 * statistics.median(pooled):7.0f} ms median "
                  f"({1 / statistics.median(pooled):5.1f} sandboxes/s on one worker); the pool container's own "
                  f"start with the first job: {1000 * pool_first:.0f} ms")
            ratio = statistics.median(container) / statistics.median(pooled)
            print(f"start-up ratio fresh container / pooled: {ratio:6.1f}x")
        small = make_batch(directory, args.n)
        large = make_batch(directory, 2 * args.n)
        batch_s, batch_rss = run_batch(small, directory / "out-batch", args.workers)
        cold_s, _ = run_batch(small, directory / "out-batch-cold", args.workers, runner="local-cold")
        baseline_s = run_baseline(small, directory / "out-baseline", args.workers)
        _, large_rss = run_batch(large, directory / "out-batch-large", args.workers)
        sandbox_cpu, grading = grading_costs(directory / "out-batch")
        if args.docker:
            docker_s, _ = run_batch(small, directory / "out-batch-docker", args.workers, runner="docker")
            pool_s, _ = run_batch(small, directory / "out-batch-pool", args.workers, runner="docker-pool")
    print(f"\nsubmissions: {args.n}, workers: {args.workers}, CPUs: {os.cpu_count()}")
    print(f"warm worker pool:       {args.n / batch_s:6.2f} submissions/s ({batch_s:.1f} s)")
    print(f"cold worker pool:       {args.n / cold_s:6.2f} submissions/s ({cold_s:.1f} s)")
    print(f"fresh process each:     {args.n / baseline_s:6.2f} submissions/s ({baseline_s:.1f} s)")
    print(f"ratio warm pool / fresh process each: {baseline_s / batch_s:6.2f}x; warm / cold pool: "
          f"{cold_s / batch_s:.2f}x")
    if args.docker:
        print(f"docker, fresh container each: {args.n / docker_s:6.2f} submissions/s ({docker_s:.1f} s)")
        print(f"docker-pool, one container per worker: {args.n / pool_s:6.2f} submissions/s ({pool_s:.1f} s); "
              f"ratio pooled / fresh container: {docker_s / pool_s:.2f}x")
    print(f"batch process peak RSS: {batch_rss:6.0f} MiB at N={args.n}, {large_rss:.0f} MiB at N={2 * args.n}")
    print(f"per warm grading (median): {grading:.2f} s of grading, {sandbox_cpu:.2f} CPU-s of it in the sandbox; "
          f"the rest is the trusted side (reference timing, checksums, diagnosis)")


if __name__ == "__main__":
    main()

"""Batch throughput: the worker pool against a fresh process per submission, measured in one run.

Usage: python benchmarks/batch_throughput.py [--n 24] [--workers 2]

Grades N submissions drawn from the MHSA corpus (correct, mistaken, crashing, slow) twice: with `harness batch`
(a pool of worker processes, each grading with the local sandbox) and with one `harness grade` process per
submission, run the same number at a time. Prints submissions per second for each, their ratio, and the batch
process's peak RSS (children excluded) for N and 2N to show whether harness memory stays flat.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
MIX = ["correct_separate_linear_bias", "mistake_no_scale", "broken_forward_raises", "correct_slow_loops",
       "mistake_softmax_over_queries", "correct_packed_in_proj", "broken_syntax_error", "mistake_no_out_proj"]


def make_batch(directory: Path, count: int) -> Path:
    source = directory / f"input-{count}"
    source.mkdir()
    for index in range(count):
        shutil.copy(CORPUS / f"{MIX[index % len(MIX)]}.py", source / f"student{index:04d}.py")
    return source


def run_batch(source: Path, out: Path, workers: int) -> tuple[float, float]:
    """Seconds and the batch process's peak RSS in MiB (read from its own rusage via a wrapper)."""
    wrapper = ("import resource, runpy, sys; sys.argv = ['harness'] + sys.argv[1:]\n"
               "try:\n    runpy.run_module('harness', run_name='__main__')\n"
               "finally:\n"
               "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", wrapper, "batch", str(source), "--problem", "mhsa",
                                "--out", str(out), "--workers", str(workers)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        small = make_batch(directory, args.n)
        large = make_batch(directory, 2 * args.n)
        batch_s, batch_rss = run_batch(small, directory / "out-batch", args.workers)
        baseline_s = run_baseline(small, directory / "out-baseline", args.workers)
        _, large_rss = run_batch(large, directory / "out-batch-large", args.workers)
    print(f"submissions: {args.n}, workers: {args.workers}")
    print(f"worker pool:            {args.n / batch_s:6.2f} submissions/s ({batch_s:.1f} s)")
    print(f"fresh process each:     {args.n / baseline_s:6.2f} submissions/s ({baseline_s:.1f} s)")
    print(f"ratio pool / baseline:  {baseline_s / batch_s:6.2f}x")
    print(f"batch process peak RSS: {batch_rss:6.0f} MiB at N={args.n}, {large_rss:.0f} MiB at N={2 * args.n}")


if __name__ == "__main__":
    main()

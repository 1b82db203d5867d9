"""Batch scaling and where a grading's CPU goes.

Usage: python benchmarks/worker_scaling.py [--n 24] [--repeats 8]

1. Scaling: `harness batch` over the same N corpus submissions (correct and mistaken, the kind a class hands in)
   with one worker and with two; prints submissions per second for each and their ratio (the target on 2 cores is
   at least 1.7x).
2. Breakdown: a correct submission graded `--repeats` times in this process with the warm local runner. For each
   grading: the sandbox's CPU time (kernel-accounted, the candidate's calls and the agent), this process's CPU time
   (the trusted side), and inside it the reference's timed calls; prints the medians and the ratio of all grading
   CPU to the probes' own compute (the sandbox's plus the reference's timing; the target is at most 1.5x).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
sys.path.insert(0, str(ROOT))


def _batch(directory: Path, count: int) -> Path:
    source = directory / "batch"
    source.mkdir()
    pool = sorted(CORPUS.glob("correct_*.py")) + sorted(CORPUS.glob("mistake_*.py"))
    for index in range(count):
        path = pool[index % len(pool)]
        shutil.copy(path, source / f"student{index:03d}_{path.name}")
    return source


def _run_batch(source: Path, out: Path, workers: int) -> float:
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "harness", "batch", str(source), "--problem", "mhsa", "--out",
                                str(out), "--workers", str(workers)], capture_output=True, text=True, cwd=ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"harness batch failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return time.monotonic() - started


def _breakdown(path: Path, repeats: int) -> None:
    from harness.api import grade
    from runners import create_runner

    rows = []
    with create_runner("local") as runner:
        grade(path, "mhsa", runner, seed=1)  # the first grading starts the zygote and measures reference memory
        for index in range(repeats):
            host_before = time.process_time()
            scorecard = grade(path, "mhsa", runner, seed=100 + index)
            host = time.process_time() - host_before
            sandbox = scorecard.resources.cpu_s or 0.0
            performance = next(item for item in scorecard.items if item.id == "performance").details
            reference = float(performance.get("reference_median_s", 0.0)) * int(performance.get("calls", 0))
            rows.append((sandbox, host, reference, scorecard.grading_s))
    sandbox, host, reference, wall = (statistics.median(column) for column in zip(*rows, strict=True))
    probes = sandbox + reference
    print(f"per grading (median of {repeats}): wall {wall:.2f} s; CPU: sandbox {sandbox:.2f} s, trusted side "
          f"{host:.2f} s of which the reference's timed calls {reference:.2f} s and the rest (plan, diagnosis, "
          f"checks, checksums, protocol) {host - reference:.2f} s")
    print(f"grading CPU / probes' own compute: {(sandbox + host) / probes:.2f}x (target at most 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        source = _batch(directory, args.n)
        one = _run_batch(source, directory / "out1", 1)
        two = _run_batch(source, directory / "out2", 2)
    print(f"batch of {args.n}: 1 worker {args.n / one:.2f} submissions/s ({one:.1f} s), 2 workers "
          f"{args.n / two:.2f} submissions/s ({two:.1f} s): {one / two:.2f}x (target at least 1.7x)")
    _breakdown(CORPUS / "correct_separate_linear_bias.py", args.repeats)


if __name__ == "__main__":
    main()

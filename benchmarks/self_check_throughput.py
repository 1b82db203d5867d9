"""How fast `harness check` answers: one warm check, and a batch of self-checks on one and two workers.

Usage: python benchmarks/self_check_throughput.py [--n 40] [--mix correct|class]

- Warm: the same correct file checked 5 times in this process with the warm local runner (the zygote started by
  the first); prints the median seconds per check (the target is under one second).
- Batch: N corpus files (``correct``: the correct styles; ``class``: correct and mistaken files alternating, as a
  class hands them in) self-checked through ``check_many`` on one worker and on two; prints checks per second and
  their ratio (the target on 2 cores is at least 10 per second for the correct mix).
- For comparison, the full grading of the same correct file, warm, in this process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
sys.path.insert(0, str(ROOT))

from harness.api import grade_with_pack  # noqa: E402
from harness.packs.registry import PackRegistry  # noqa: E402
from harness.self_check import check_many, self_check_with_pack  # noqa: E402
from runners.base import create_runner  # noqa: E402


def _files(count: int, mix: str) -> list[Path]:
    correct = sorted(CORPUS.glob("correct_*.py"))
    if mix == "correct":
        pool = correct
    else:
        mistakes = sorted(CORPUS.glob("mistake_*.py"))
        pool = [path for pair in zip(correct, mistakes, strict=False) for path in pair]
    return [pool[index % len(pool)] for index in range(count)]


def _warm(repeats: int = 5) -> tuple[float, float]:
    pack = PackRegistry().load("mhsa")
    runner = create_runner("local")
    path = CORPUS / "correct_fused_qkv_linear.py"
    try:
        self_check_with_pack(pack, path, runner)
        checks = []
        for _ in range(repeats):
            started = time.monotonic()
            self_check_with_pack(pack, path, runner)
            checks.append(time.monotonic() - started)
        grade_with_pack(pack, path, runner)
        grades = []
        for _ in range(3):
            started = time.monotonic()
            grade_with_pack(pack, path, runner)
            grades.append(time.monotonic() - started)
    finally:
        runner.close()
    return statistics.median(checks), statistics.median(grades)


def _rate(files: list[Path], workers: int) -> tuple[float, float]:
    """(checks per second from the start, checks per second once every worker has answered once)."""
    finished: list[float] = []
    started = time.monotonic()
    reports = check_many(files, "mhsa", "local", workers=workers, progress=lambda _: finished.append(time.monotonic()))
    elapsed = time.monotonic() - started
    assert all(report.status != "internal_error" for report in reports), "a check failed by the harness's fault"
    warm = (len(finished) - workers) / (finished[-1] - finished[workers - 1])
    return len(files) / elapsed, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--mix", choices=("correct", "class"), default="correct")
    args = parser.parse_args()
    check_s, grade_s = _warm()
    print(f"warm self-check: {check_s:.3f} s per check (median of 5); full grading of the same file {grade_s:.3f} s")
    files = _files(args.n, args.mix)
    for workers in (1, 2):
        overall, warm = _rate(files, workers)
        print(f"batch of {args.n} self-checks ({args.mix} mix), {workers} worker{'s' if workers > 1 else ''}: "
              f"{overall:.1f}/s with the workers' start, {warm:.1f}/s once they are warm")


if __name__ == "__main__":
    main()

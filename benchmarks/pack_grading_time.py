"""Grading time per submission for every problem, flagship included, through one warm runner.

Usage: python benchmarks/pack_grading_time.py [--runner local|fake] [--problems ID ...]

For each problem, grades its corpus (tests/submissions/<id>) and prints the median and maximum seconds per
submission, the sandboxed run's share, and how many files got their expected verdict. The issue's targets: the
flagship no slower than before (median about 1.8 s here), every other problem at most 3 s per submission.
Figures vary with the machine; compare them within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.models.problem import Limits  # noqa: E402
from harness.packs.registry import PackRegistry  # noqa: E402
from harness.packs.selftest import expectation_problems  # noqa: E402
from runners import create_runner  # noqa: E402

PROBLEMS = ("mhsa", "cross_entropy", "layer_norm", "causal_attention", "adam", "dropout")
SKIP_WITH_FAKE = {"broken_infinite_loop", "broken_memory_hog"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default="local", choices=["local", "fake"])
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    args = parser.parse_args()
    runner = create_runner(args.runner)
    registry = PackRegistry()
    print(f"{'problem':18s} {'files':>5s} {'median s':>9s} {'max s':>7s} {'run s':>7s} {'as expected':>12s}")
    for problem_id in args.problems:
        pack = registry.load(problem_id)
        corpus = ROOT / "tests" / "submissions" / problem_id
        expected = yaml.safe_load((corpus / "expected.yaml").read_text())
        stems = [s for s in sorted(expected) if args.runner != "fake" or s not in SKIP_WITH_FAKE]
        limits = Limits(wall_s=40, probe_s=8, startup_s=30, memory_mb=1024) if problem_id == "mhsa" else None
        totals, runs, matched = [], [], 0
        for stem in stems:
            started = time.perf_counter()
            card = pack.grade(corpus / f"{stem}.py", runner, limits=limits)
            totals.append(time.perf_counter() - started)
            runs.append(card.resources.wall_s)
            if problem_id == "mhsa":
                matched += card.status == expected[stem]["status"]
            else:
                matched += not expectation_problems(card, expected[stem])
        print(f"{problem_id:18s} {len(stems):5d} {statistics.median(totals):9.2f} {max(totals):7.2f} "
              f"{statistics.median(runs):7.2f} {matched:>6d}/{len(stems):<5d}")
    runner.close()


if __name__ == "__main__":
    main()

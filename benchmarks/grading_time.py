"""Grading time per submission over the MHSA corpus, and where it goes.

Usage: python benchmarks/grading_time.py [--runner local|fake] [--limit N]

Prints, per submission: total grading seconds, the sandboxed run's wall time, the diagnosis search (readings
tried, seconds), and the result; then the median and the maximum. Figures vary with the machine; compare them
within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.api import grade  # noqa: E402
from harness.models.problem import Limits  # noqa: E402
from runners import create_runner  # noqa: E402

CORPUS = ROOT / "tests" / "submissions" / "mhsa"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default="local", choices=["local", "fake"])
    parser.add_argument("--limit", type=int, default=0, help="grade only the first N files")
    args = parser.parse_args()
    files = sorted(CORPUS.glob("*.py"))
    if args.runner == "fake":  # the fake runner has no limits: never hand it the hanging or hogging cases
        files = [f for f in files if f.stem not in {"broken_infinite_loop", "broken_memory_hog"}]
    if args.limit:
        files = files[: args.limit]
    limits = Limits(wall_s=40, probe_s=8, startup_s=30, memory_mb=1024)
    runner = create_runner(args.runner)
    totals = []
    print(f"{'submission':44s} {'total s':>8s} {'run s':>7s} {'tried':>6s} {'search s':>8s}  status / score")
    for path in files:
        started = time.perf_counter()
        card = grade(path, "mhsa", runner, limits=limits)
        total = time.perf_counter() - started
        totals.append(total)
        match = next(item for item in card.items if item.id == "matches_reference")
        tried = match.details.get("readings_tried", 0)
        search_s = match.details.get("search_seconds", 0.0)
        print(f"{path.stem:44s} {total:8.2f} {card.resources.wall_s:7.2f} {tried:6d} {search_s:8.3f}  "
              f"{card.status} {card.score:g}/{card.max_score:g}")
    print(f"\n{len(totals)} submissions with the {args.runner} runner: median {statistics.median(totals):.2f} s, "
          f"max {max(totals):.2f} s, total {sum(totals):.1f} s")


if __name__ == "__main__":
    main()

"""How long `harness similarity` takes for a class of N files.

Usage: python benchmarks/similarity_scale.py [--n 200 800]

Synthesises N files from the similarity corpus's independent solutions, each with a helper of its own; the styles
repeat every 18 files, so most pairs of one style are flagged (the worst case for the regions and clusters), and
times the comparison (tokens, fingerprints, index, pairs, regions, clusters) in this process.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.similarity.command import compute_report  # noqa: E402

CORPUS = ROOT / "tests" / "similarity" / "corpus"


def _class(count: int) -> dict[str, str]:
    pool = [p.read_text() for p in sorted(CORPUS.glob("ind*.py"))]
    generator = random.Random(7)
    files = {}
    for index in range(count):
        text = pool[index % len(pool)]
        # Each student's own helper, so that files differ beyond the style they share with others.
        extra = "\n".join(f"def helper_{index}_{j}(v):\n    return v * {generator.randint(2, 99)} + {j}\n"
                          for j in range(generator.randint(1, 4)))
        files[f"student{index:04d}"] = text + "\n\n" + extra
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[200, 800])
    args = parser.parse_args()
    starter = {"starter.py": (CORPUS / "starter.py").read_text()}
    for count in args.n:
        files = _class(count)
        started = time.process_time()
        report = compute_report(files, starter)
        elapsed = time.process_time() - started
        print(f"{count} files: {elapsed:.2f} CPU-s, {len(report.pairs)} pairs sharing something, "
              f"{len(report.flagged())} flagged")


if __name__ == "__main__":
    main()

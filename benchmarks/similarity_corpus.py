"""Precision and recall of `harness similarity` on the planted-copy corpus, at several thresholds.

Usage: python benchmarks/similarity_corpus.py

The corpus (tests/similarity/corpus) holds independent solutions written from one starter file and planted copies
of some of them, each disguised (renamed, reformatted, reordered, recommented, dead code, a helper inlined or
extracted, a partial copy); truth.yaml lists the copies. Prints, per threshold, the pairs flagged and the
precision, recall and F1 against the truth, and the highest score of an independent pair.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.similarity.command import compute_report  # noqa: E402
from harness.submission_source import is_source_name, python_text  # noqa: E402

CORPUS = ROOT / "tests" / "similarity" / "corpus"


def main() -> None:
    texts = {p.stem: python_text(p) for p in sorted(CORPUS.iterdir()) if is_source_name(p.name) and p.stem != "starter"}
    families: dict[str, set[str]] = {}
    for entry in yaml.safe_load((CORPUS / "truth.yaml").read_text())["copies"]:
        families.setdefault(entry["original"], {entry["original"]}).add(entry["copy"])
    # Two copies of one original share copied code too, so every pair inside a family counts as a copy.
    planted = {frozenset(pair) for family in families.values() for pair in itertools.combinations(sorted(family), 2)}
    report = compute_report(texts, {"starter.py": (CORPUS / "starter.py").read_text()})
    independent = max(p.score for p in report.pairs if frozenset((p.a, p.b)) not in planted)
    lowest_copy = min(p.score for p in report.pairs if frozenset((p.a, p.b)) in planted)
    print(f"{len(texts)} files, {len(planted)} copied pairs in {len(families)} families; lowest copy score "
          f"{lowest_copy:.2f}, highest independent pair {independent:.2f}")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        flagged = {frozenset((p.a, p.b)) for p in report.pairs if p.score >= threshold}
        hits = len(flagged & planted)
        precision = hits / len(flagged) if flagged else 1.0
        recall = hits / len(planted)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"threshold {threshold:.2f}: {len(flagged):3d} flagged, precision {precision:.2f}, recall {recall:.2f}, "
              f"F1 {f1:.2f}")


if __name__ == "__main__":
    main()

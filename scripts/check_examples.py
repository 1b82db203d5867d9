"""Check the scorecards `scripts/quickstart.sh` wrote against the corpus's expectations (expected.yaml).

Usage: python3 scripts/check_examples.py OUTPUT_DIR

Each example must have the expected status, the expected diagnoses and the expected verdict on every item the
grader checks. The performance item depends on the machine's load at the moment it ran: a difference there is
reported, not counted. Exit code 0 when every example matches, 1 otherwise (each difference is printed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from harness.engine import ITEM_CHECKS
from reference_solutions.mhsa import REFERENCE

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "submissions" / "mhsa"
TIMING_DEPENDENT = frozenset({"performance"})


def differences(card: dict, expected: dict) -> tuple[list[str], list[str]]:
    """What differs from the expectation: (counted, timing-dependent)."""
    checked = set(ITEM_CHECKS) | set(REFERENCE.structural_items)
    counted: list[str] = []
    timing: list[str] = []
    if card["status"] != expected["status"]:
        counted.append(f"status {card['status']} ({card['message']}), expected {expected['status']}")
    diagnoses = sorted(d["id"] for d in card.get("diagnoses", []))
    if diagnoses != sorted(expected.get("diagnoses", [])):
        counted.append(f"diagnoses {diagnoses}, expected {sorted(expected.get('diagnoses', []))}")
    verdicts = {item["id"]: item for item in card["items"]}
    for item_id, want in expected.get("items", {}).items():
        want = want if item_id in checked else "skipped"
        got = verdicts.get(item_id, {}).get("status", "absent")
        if got != want:
            line = f"{item_id} {got}, expected {want}: {verdicts.get(item_id, {}).get('feedback', '')}"
            (timing if item_id in TIMING_DEPENDENT else counted).append(line)
    return counted, timing


def main(argv: list[str]) -> int:
    """Check every example's scorecard in ``argv[0]``; 0 when all match, 1 otherwise, 2 for bad usage."""
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = Path(argv[0])
    expectations = yaml.safe_load((CORPUS / "expected.yaml").read_text())
    failed = 0
    for stem, expected in sorted(expectations.items()):
        path = out / "scorecards" / f"{stem}.json"
        if not path.is_file():
            path = out / f"{stem}.json"  # a folder of scorecards written one by one
        if not path.is_file():
            print(f"{stem}: no scorecard at {path}")
            failed += 1
            continue
        counted, timing = differences(json.loads(path.read_text()), expected)
        for line in timing:
            print(f"{stem}: (timing-dependent, not counted) {line}")
        if counted:
            failed += 1
            for line in counted:
                print(f"{stem}: {line}")
    total = len(expectations)
    print(f"{total - failed} of {total} examples graded as tests/submissions/mhsa/expected.yaml says")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

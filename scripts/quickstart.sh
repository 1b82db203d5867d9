#!/usr/bin/env bash
# Set up the harness and grade the bundled example submissions (the MHSA corpus: correct ones in several layouts,
# common mistakes, crashes, an infinite loop and a memory hog) in the local sandbox (CPU).
# Usage: bash scripts/quickstart.sh [OUTPUT_DIR]      (scorecards go to OUTPUT_DIR, default out/examples)
# Exits non-zero if the harness fails (a harness fault is exit code 1, never a zero for an example) or if an example
# is graded otherwise than tests/submissions/mhsa/expected.yaml says.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/examples}"

# bubblewrap (Debian/Ubuntu) gives the sandbox its private filesystem view; without it the sandbox still runs, with
# weaker isolation (the scorecard's runner.enforced says so).
if ! command -v bwrap > /dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap > /dev/null
    else
        echo "note: install bubblewrap (sudo apt-get install bubblewrap) for filesystem isolation"
    fi
fi

# torch first, pinned: on these machines 2.13.0 is a local CPU build; an unpinned torch pulls CUDA wheels.
python3 -m pip install --quiet --root-user-action=ignore --disable-pip-version-check torch==2.13.0
python3 -m pip install --quiet --root-user-action=ignore --disable-pip-version-check -e '.[dev]'

# One batch over the corpus: each worker keeps its warm sandbox for every file it grades. Run again, it regrades.
again=()
if [ -f "$out/journal.jsonl" ]; then again=(--regrade); fi
harness batch tests/submissions/mhsa --problem mhsa --out "$out" --workers 2 "${again[@]}"
python3 - "$out" <<'PY'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1], "scorecards").glob("*.json")):
    card = json.loads(path.read_text())
    failed = [i["id"] for i in card["items"] if i["status"] in ("failed", "partial", "error")]
    print(f"{path.stem + '.py':46s} {card['status']:15s} {card['score']:5g}/{card['max_score']:g}"
          f"  {'failed: ' + ', '.join(failed) if failed else ''}")
PY
echo "Scorecards written to $out/scorecards/, with grades.csv and summary.json (see one with: harness grade tests/submissions/mhsa/mistake_no_scale.py --problem mhsa --format text)"
# Each example against what a careful grader gives it (tests/submissions/mhsa/expected.yaml): non-zero on a difference.
python3 scripts/check_examples.py "$out"

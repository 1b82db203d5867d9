#!/usr/bin/env bash
# Set up the harness and grade the bundled example submissions (the MHSA corpus: correct ones in several layouts,
# common mistakes, crashes, an infinite loop and a memory hog) in the local sandbox (CPU).
# Usage: bash scripts/quickstart.sh [OUTPUT_DIR]      (scorecards go to OUTPUT_DIR, default out/examples)
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

mkdir -p "$out"
for submission in tests/submissions/mhsa/*.py; do
    name="$(basename "$submission" .py)"
    harness grade "$submission" --problem mhsa --out "$out/$name.json"
    python3 - "$out/$name.json" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
failed = [i["id"] for i in card["items"] if i["status"] in ("failed", "partial", "error")]
print(f"{card['submission']['path'].rsplit('/', 1)[-1]:46s} {card['status']:15s} {card['score']:5g}/{card['max_score']:g}"
      f"  {'failed: ' + ', '.join(failed) if failed else ''}")
PY
done
echo "Scorecards written to $out/ (see one with: harness grade tests/submissions/mhsa/mistake_no_scale.py --problem mhsa --format text)"

#!/usr/bin/env bash
# Gradescope runs this once, as root, from /autograder/source, when it builds the autograder's image.
# It installs the grader (the wheel in wheels/) and its dependencies: from wheels/ alone when torch is there (an
# offline bundle made with --wheelhouse), otherwise from PyPI with torch's CPU build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! python3 -m pip --version > /dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip > /dev/null
fi
if ls "$here"/wheels/torch-*.whl > /dev/null 2>&1; then
    source=(--no-index --find-links "$here/wheels")
else
    source=(--find-links "$here/wheels" --index-url https://download.pytorch.org/whl/cpu
            --extra-index-url https://pypi.org/simple)
fi
install() {  # pip 23+ on Debian and Ubuntu 24.04 wants --break-system-packages; older pip does not know it
    python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages "$@" 2> /dev/null \
        || python3 -m pip install --no-cache-dir --disable-pip-version-check "$@"
}
install "${source[@]}" "$here"/wheels/mlgrade_harness-*.whl
# The student's code runs as an unprivileged user in this same container: the grader's own files (the reference,
# the rubric, this folder) are readable by root alone.
python3 -m harness autograder lock-down "$here"
python3 -m harness --version

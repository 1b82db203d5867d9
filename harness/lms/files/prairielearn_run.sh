#!/bin/sh
# PrairieLearn runs this (the question's externalGradingOptions.entrypoint) as root with /grade mounted. The
# student's code runs as an unprivileged user: /grade/results is made root's alone before anything is graded.
mkdir -p /grade/results && chmod 0700 /grade/results
chmod 0700 /grade/data 2> /dev/null || true
exec python3 -m harness autograder prairielearn --config /opt/harness/harness_autograder.json --root /grade

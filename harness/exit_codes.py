"""The CLI's documented exit codes."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What ``harness`` exits with."""

    OK = 0
    """A scorecard was produced (whatever the score or status)."""
    INTERNAL_ERROR = 1
    """The harness itself failed (a sandbox that cannot start included); a batch stops at the first such failure."""
    USAGE_ERROR = 2
    """Bad command-line usage, a missing submission, or an unknown or invalid problem or rubric file."""
    BELOW_THRESHOLD = 3
    """The score is below ``--fail-under``."""
    SELF_TEST_FAILED = 4
    """``harness problems validate --self-test``: a problem is valid but fails its self-test."""


EXIT_CODES_HELP = (
    "Exit codes: 0 a scorecard was produced (whatever the score); 1 internal error of the harness (a batch "
    "stops there; --resume continues); "
    "2 usage error, missing submission, or unknown/invalid problem or rubric; 3 score below --fail-under; "
    "4 a problem fails its self-test."
)

"""Nothing of a hidden configuration's sizes reaches the scorecard, however the candidate's code tries to tell it.

The hostile corpus checks only the captured logs of ``leak_hidden_*``; this grades the same submissions with the
local sandbox and searches the whole scorecard (feedback, details, reasons, logs) for the hidden sizes.
"""

from __future__ import annotations

import pytest

from harness.api import grade
from runners import Limits
from runners.local import LocalRunner
from tests.support import ROOT

pytestmark = pytest.mark.slow

LIMITS = Limits(wall_s=30, probe_s=8, startup_s=30, memory_mb=768)
HIDDEN = ("11x3x20", "11, 3, 20", "[11, 3, 20]", "Leak_", "LEAK-INIT 20x5", "code 20")
"""How the leak submissions write the hidden configuration's (seq_len, batch, embed_dim) = (11, 3, 20)."""


@pytest.fixture(scope="module")
def runner():
    with LocalRunner(warm=False) as cold:
        yield cold


@pytest.mark.parametrize("stem", ["leak_hidden_prints", "leak_hidden_exception", "leak_hidden_exit_code"])
def test_the_hidden_sizes_are_nowhere_in_the_scorecard(runner, stem):
    card = grade(ROOT / "tests" / "hostile" / f"{stem}.py", "mhsa", runner, seed=20261123, limits=LIMITS)
    text = card.model_dump_json()
    assert card.status != "internal_error", card.message
    for needle in HIDDEN:
        assert needle not in text, f"{stem}: the scorecard contains {needle!r}"
    if stem == "leak_hidden_prints":
        assert "LEAK-SHAPE 5x3x8" in card.logs.stdout  # the attack ran: visible sizes are shown
    else:
        assert card.status == "runtime_error" and "withheld" in card.message

"""The whole corpus through the real local sandbox, hostile-to-itself cases included."""

from __future__ import annotations

import pytest

from harness.api import grade
from harness.models.problem import Limits
from tests.harness.test_corpus import STEMS, assert_matches_expectation
from tests.support import corpus_file

# Short limits keep the hanging and memory-hungry cases quick; the rest finish far inside them.
LIMITS = Limits(wall_s=40, probe_s=8, startup_s=30, memory_mb=1024)
# A file expected to end at the memory limit gets a longer step: filling 1 GiB took more than 8 s once, on a virtual
# machine whose memory had just been handed back to its host. It still ends at the limit in about two seconds.
MEMORY_CASE_LIMITS = LIMITS.model_copy(update={"probe_s": 30.0})


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_corpus_submission_in_the_local_sandbox(stem, expected):
    limits = MEMORY_CASE_LIMITS if expected[stem]["status"] == "memory_limit" else LIMITS
    scorecard = grade(corpus_file(stem), "mhsa", "local", seed=77, limits=limits)
    assert_matches_expectation(scorecard, expected[stem])
    assert scorecard.runner.name == "local"

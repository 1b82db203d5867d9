"""The whole corpus through the docker runner: the same verdicts as the local sandbox gives."""

from __future__ import annotations

import pytest

from harness.api import grade
from tests.harness.test_corpus import STEMS, assert_matches_expectation
from tests.harness.test_corpus_local import LIMITS
from tests.support import corpus_file


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_corpus_submission_in_a_container(stem, expected, docker_engine):
    scorecard = grade(corpus_file(stem), "mhsa", "docker", seed=77, limits=LIMITS)
    assert_matches_expectation(scorecard, expected[stem])
    assert scorecard.runner.name == "docker"

"""The whole corpus through the docker runners: the same verdicts as the local sandbox gives.

The fresh-container runner gets a container per submission; the pooled one serves the whole corpus from one
long-lived container, as a batch worker would.
"""

from __future__ import annotations

import pytest

from harness.api import grade
from runners import create_runner
from tests.harness.test_corpus import STEMS, assert_matches_expectation
from tests.harness.test_corpus_local import LIMITS
from tests.support import corpus_file

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def pool(docker_engine):
    with create_runner("docker-pool") as runner:
        yield runner


@pytest.mark.parametrize("stem", STEMS)
def test_corpus_submission_in_a_container(stem, expected, docker_engine):
    scorecard = grade(corpus_file(stem), "mhsa", "docker", seed=77, limits=LIMITS)
    assert_matches_expectation(scorecard, expected[stem])
    assert scorecard.runner.name == "docker"


@pytest.mark.parametrize("stem", STEMS)
def test_corpus_submission_in_a_pooled_container(stem, expected, pool):
    scorecard = grade(corpus_file(stem), "mhsa", pool, seed=77, limits=LIMITS)
    assert_matches_expectation(scorecard, expected[stem])
    assert scorecard.runner.name == "docker-pool"
    if scorecard.runner.enforced:  # empty where nothing ran (a syntax error is found before any sandbox starts)
        assert scorecard.runner.enforced["startup"].startswith("forked from the warm zygote")

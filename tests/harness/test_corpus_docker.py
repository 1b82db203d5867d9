"""The whole corpus through the docker runners: the same verdicts as the local sandbox gives.

The pooled runner serves the whole corpus from one long-lived container, as a batch worker would. The
fresh-container runner, a container per submission, gets every submission that ends its run abnormally (crash,
hang, memory hog: where the two runners differ) and every third of the rest: the verdicts themselves come from the
host, which both share, and the full corpus in fresh containers would cost CI ten minutes more.
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


FRESH_CONTAINER_STEMS = sorted({s for s in STEMS if s.startswith("broken_")} | set(STEMS[::3]))


@pytest.mark.parametrize("stem", FRESH_CONTAINER_STEMS)
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

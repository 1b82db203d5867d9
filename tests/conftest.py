from __future__ import annotations

import pytest

from harness.catalog import Catalog, LoadedProblem
from tests.support import corpus_expectations


@pytest.fixture(scope="session")
def expected() -> dict:
    return corpus_expectations()


@pytest.fixture(scope="session")
def mhsa() -> LoadedProblem:
    return Catalog().load("mhsa")


@pytest.fixture(scope="session")
def docker_engine():
    """A Docker engine with the harness image (see tests/docker_engine.py).

    Its address and image are also put in the environment, where the docker runner reads its defaults. Skips where
    no engine can be had, unless HARNESS_REQUIRE_DOCKER is set (as .ci/run does), which makes that a failure.
    """
    import os

    from tests.docker_engine import EngineUnavailable, start_engine

    try:
        engine, daemon = start_engine()
    except EngineUnavailable as exc:
        if os.environ.get("HARNESS_REQUIRE_DOCKER"):
            pytest.fail(f"docker tests must run here but: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    saved = {key: os.environ.get(key) for key in ("HARNESS_DOCKER_HOST", "HARNESS_DOCKER_IMAGE")}
    os.environ["HARNESS_DOCKER_HOST"] = engine.base_url
    os.environ["HARNESS_DOCKER_IMAGE"] = engine.image
    try:
        yield engine
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if daemon is not None:
            daemon.stop()

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

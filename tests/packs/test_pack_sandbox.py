"""The packs through the real local sandbox: one batch per corpus (the generic probes across the boundary)."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.api import grade
from harness.batch import grade_batch
from harness.packs.selftest import expectation_problems
from tests.packs.conftest import CORPORA, PACK_IDS, expected_of


@pytest.mark.slow
@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_corpus_in_the_local_sandbox_as_a_batch(pack_id, tmp_path):
    source = tmp_path / "submissions"
    source.mkdir()
    expected = expected_of(pack_id)
    for stem in expected:
        shutil.copy(CORPORA / pack_id / f"{stem}.py", source / f"{stem}.py")
    # One worker: two on two cores would time the reference against a busy machine (fair timing is its own work).
    result = grade_batch(source, pack_id, tmp_path / "out", workers=1, runner="local")
    assert result.total == len(expected)
    failures = {}
    for stem, verdict in expected.items():
        card_path = next((tmp_path / "out").rglob(f"{stem}.json"), None)
        assert card_path is not None, f"no scorecard for {stem}"
        from harness.models import Scorecard

        card = Scorecard.model_validate(json.loads(card_path.read_text()))
        problems = expectation_problems(card, verdict)
        if problems:
            failures[stem] = problems
    assert not failures, failures


@pytest.mark.slow
def test_a_function_problem_is_graded_in_the_sandbox_with_its_limits(tmp_path):
    card = grade(CORPORA / "cross_entropy" / "correct_vectorised_gather.py", "cross_entropy", "local", seed=11)
    assert card.status == "graded" and card.score == card.max_score, [i.feedback for i in card.items]
    assert card.runner.name == "local" and card.runner.enforced

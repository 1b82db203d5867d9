"""Every submission of the MHSA corpus gets the status and item verdicts a careful grader would give."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from harness.api import grade
from harness.engine import ITEM_CHECKS
from harness.schemas import load_schema
from reference_solutions.mhsa import REFERENCE
from runners.fake import FakeRunner
from tests.support import CORPUS, SANDBOX_ONLY, corpus_file

STEMS = sorted(yaml.safe_load((CORPUS / "expected.yaml").read_text()))


IMPLEMENTED = set(ITEM_CHECKS) | set(REFERENCE.structural_items)


def assert_matches_expectation(scorecard, expectation: dict, unmeasured: frozenset[str] = frozenset()) -> None:
    """``unmeasured``: items the runner cannot measure, which must then be skipped whatever is expected."""
    verdicts = {item.id: item.status for item in scorecard.items}
    assert scorecard.status == expectation["status"], scorecard.message
    assert sorted(d.id for d in scorecard.diagnoses) == sorted(expectation["diagnoses"])
    for item_id, want in expectation["items"].items():
        if item_id in unmeasured and want == "passed":
            assert verdicts[item_id] == "skipped", f"{item_id} cannot be measured by {scorecard.runner.name}"
        elif item_id in IMPLEMENTED:
            got = verdicts[item_id]
            feedback = next(i.feedback for i in scorecard.items if i.id == item_id)
            assert got == want, f"{item_id}: expected {want}, got {got}: {feedback}"
        else:
            assert verdicts[item_id] == "skipped", f"{item_id} has no check yet, so it must be skipped"


def test_corpus_is_complete():
    files = {path.stem for path in CORPUS.glob("*.py")}
    assert files == set(STEMS)
    assert len(files) >= 30


@pytest.mark.parametrize("stem", [s for s in STEMS if s not in SANDBOX_ONLY])
def test_corpus_submission_with_fake_runner(stem, expected):
    scorecard = grade(corpus_file(stem), "mhsa", FakeRunner(), seed=1234)
    assert_matches_expectation(scorecard, expected[stem], unmeasured=frozenset({"memory"}))
    jsonschema.validate(scorecard.model_dump(mode="json"), load_schema("scorecard"))
    assert scorecard.score == pytest.approx(sum(item.points for item in scorecard.items))
    for item in scorecard.items:
        assert item.points <= item.max_points
        if item.status in ("failed", "skipped", "error"):
            assert item.points == 0
        assert item.feedback


@pytest.mark.parametrize("seed", [1, 99, 2**40 + 7])
def test_correct_layouts_never_fail_a_correctness_item_whatever_the_seed(seed, expected):
    for stem in [s for s in STEMS if s.startswith("correct_")]:
        scorecard = grade(corpus_file(stem), "mhsa", FakeRunner(), seed=seed)
        for item in scorecard.items:
            if item.id in IMPLEMENTED and item.id not in ("memory", "performance"):
                assert item.status == expected[stem]["items"][item.id], f"{stem}/{item.id}: {item.feedback}"
                assert item.status != "failed"

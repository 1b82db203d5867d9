"""Feedback names the problem with its evidence."""

from __future__ import annotations

from harness.api import grade
from runners.fake import FakeRunner
from tests.support import corpus_file


def items(scorecard):
    return {item.id: item for item in scorecard.items}


def test_syntax_error_names_the_line():
    scorecard = grade(corpus_file("broken_syntax_error"), "mhsa", FakeRunner(), seed=1)
    assert scorecard.status == "compile_error"
    assert "line 24" in scorecard.message
    assert "line 24" in items(scorecard)["interface"].feedback
    assert scorecard.score == 0


def test_missing_class_lists_what_the_file_defines():
    scorecard = grade(corpus_file("broken_missing_class"), "mhsa", FakeRunner(), seed=1)
    assert scorecard.status == "interface_error"
    feedback = items(scorecard)["interface"].feedback
    assert "No class named MultiHeadSelfAttention" in feedback
    assert "MultiHeadAttention" in feedback


def test_exception_in_forward_names_the_line_in_the_candidates_file():
    scorecard = grade(corpus_file("broken_forward_raises"), "mhsa", FakeRunner(), seed=1)
    assert scorecard.status == "runtime_error"
    assert "RuntimeError" in scorecard.message
    assert "line 26 of your file" in scorecard.message


def test_constructor_type_error_is_an_interface_error():
    scorecard = grade(corpus_file("broken_constructor_signature"), "mhsa", FakeRunner(), seed=1)
    assert scorecard.status == "interface_error"
    assert "TypeError" in items(scorecard)["interface"].feedback


def test_batch_first_output_shape_is_explained():
    scorecard = grade(corpus_file("mistake_wrong_output_shape"), "mhsa", FakeRunner(), seed=1)
    feedback = items(scorecard)["output_shape"].feedback
    assert "expected (5, 3, 8), got (3, 5, 8)" in feedback
    assert "batch-first" in feedback


def test_hidden_configuration_sizes_are_not_revealed():
    scorecard = grade(corpus_file("mistake_wrong_output_shape"), "mhsa", FakeRunner(), seed=1)
    shape_item = items(scorecard)["output_shape"]
    assert "odd_sizes" not in shape_item.details["wrong_shape"]
    assert "(11, 3, 20)" not in scorecard.model_dump_json()


def test_builtin_use_is_cited_with_its_line():
    scorecard = grade(corpus_file("mistake_builtin_sdpa"), "mhsa", FakeRunner(), seed=1)
    item = items(scorecard)["from_scratch"]
    assert item.status == "failed"
    assert "line 23" in item.feedback
    assert item.details["runtime_calls"]["torch.nn.functional.scaled_dot_product_attention"] > 0


def test_binding_is_reported_for_a_correct_submission():
    scorecard = grade(corpus_file("correct_unusual_names_order"), "mhsa", FakeRunner(), seed=1)
    binding = items(scorecard)["matches_reference"].details["binding"]
    assert binding["q"].startswith("query.weight")
    assert binding["o"].startswith("combine.weight")


def test_detached_keys_fail_only_gradients_and_say_which_parameter():
    scorecard = grade(corpus_file("mistake_detached_keys"), "mhsa", FakeRunner(), seed=1)
    by_id = items(scorecard)
    assert by_id["matches_reference"].status == "passed"
    assert by_id["gradients"].status == "failed"
    assert "k_proj" in by_id["gradients"].feedback


def test_an_item_without_a_check_is_skipped_with_zero_points(mhsa):
    from harness.engine import grade_submission, load_reference
    from harness.models import Rubric

    data = mhsa.rubric.model_dump()
    data["items"].append({"id": "style", "title": "Readable code", "points": 7})
    rubric = Rubric.model_validate(data)
    scorecard = grade_submission(corpus_file("correct_separate_linear_bias"), mhsa.problem, rubric,
                                 load_reference("mhsa", None), FakeRunner(), seed=1)
    style = items(scorecard)["style"]
    assert style.status == "skipped" and style.points == 0 and "Not checked" in style.feedback
    assert scorecard.max_score == mhsa.rubric.max_score + 7


def test_memory_is_skipped_when_the_runner_cannot_measure_it():
    scorecard = grade(corpus_file("correct_separate_linear_bias"), "mhsa", FakeRunner(), seed=1)
    memory = items(scorecard)["memory"]
    assert memory.status == "skipped" and memory.points == 0 and "cannot be measured" in memory.feedback


def test_diagnosis_names_the_mistake_with_evidence():
    scorecard = grade(corpus_file("mistake_softmax_over_queries"), "mhsa", FakeRunner(), seed=1)
    by_id = items(scorecard)
    assert by_id["softmax_over_keys"].status == "failed"
    assert "query axis" in by_id["softmax_over_keys"].feedback
    assert by_id["scaling"].status == "passed"
    (diagnosis,) = scorecard.diagnoses
    assert diagnosis.id == "softmax_over_queries" and diagnosis.items == ["softmax_over_keys"]
    assert diagnosis.evidence["relative_error_vs_mistaken_reference"] < 1e-4
    assert diagnosis.evidence["relative_error_vs_reference"] > 1e-2


def test_slow_submission_keeps_correctness_and_fails_only_performance():
    scorecard = grade(corpus_file("correct_slow_loops"), "mhsa", FakeRunner(), seed=1)
    failing = [item.id for item in scorecard.items if item.status not in ("passed", "skipped")]
    assert failing == ["performance"]
    assert items(scorecard)["performance"].details["ratio"] > 3

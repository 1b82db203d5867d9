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


def test_unchecked_items_are_skipped_with_zero_points():
    scorecard = grade(corpus_file("correct_separate_linear_bias"), "mhsa", FakeRunner(), seed=1)
    for item in scorecard.items:
        if item.status == "skipped":
            assert item.points == 0
            assert "Not checked" in item.feedback

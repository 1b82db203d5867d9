"""PrairieLearn's results.json from scorecards, the external grader's run in PrairieLearn's layout, and the export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.lms.autograder import Found
from harness.lms.prairielearn import MAX_RESULTS_BYTES, _within_cap, results_json, run_external_grader
from harness.models import Scorecard
from runners.fake import FakeRunner
from tests.support import CORPUS


@pytest.fixture(scope="module")
def correct() -> Scorecard:
    from harness import grade

    return grade(CORPUS / "correct_fused_qkv_linear.py", "mhsa", "fake", seed=5)


def _layout(tmp_path: Path, files: dict[str, bytes], data: dict | None = None) -> Path:
    root = tmp_path / "grade"
    for folder in ("data", "student", "results"):
        (root / folder).mkdir(parents=True)
    (root / "data" / "data.json").write_text(json.dumps(data if data is not None else {"gradable": True}))
    for name, content in files.items():
        (root / "student" / name).write_bytes(content)
    return root


def _results(root: Path) -> dict:
    return json.loads((root / "results" / "results.json").read_text())


def test_score_is_a_fraction_and_every_visible_item_is_a_test(correct):
    results = results_json(correct)
    assert results["gradable"] is True
    assert results["score"] == pytest.approx(correct.score / correct.max_score)
    assert [t["description"] for t in results["tests"]] == [i.id for i in correct.items]
    assert all({"name", "points", "max_points", "message", "output"} <= set(t) for t in results["tests"])


def test_items_kept_from_students_are_one_test_without_their_feedback(correct):
    items = [i.model_copy(update={"visibility": "hidden", "feedback": "SECRET CONFIG big_sequence"})
             if i.id in ("gradients", "deterministic") else i for i in correct.items]
    results = results_json(correct.model_copy(update={"items": items}))
    assert "SECRET" not in json.dumps(results)
    withheld = results["tests"][-1]
    hidden = [i for i in items if i.visibility == "hidden"]
    assert withheld["points"] == sum(i.points for i in hidden)
    assert withheld["max_points"] == sum(i.max_points for i in hidden)


def test_results_stay_under_the_one_megabyte_cap(correct):
    items = [i.model_copy(update={"feedback": "y" * 400_000}) for i in correct.items]
    card = correct.model_copy(update={"items": items})
    text = _within_cap(results_json(card), card, None)
    assert len(text.encode()) < MAX_RESULTS_BYTES
    assert json.loads(text)["gradable"] is True


def test_a_syntax_error_is_not_gradable_and_costs_no_attempt(tmp_path):
    root = _layout(tmp_path, {"solution.py": (CORPUS / "broken_syntax_error.py").read_bytes()})
    run_external_grader("mhsa", root, runner=FakeRunner())
    results = _results(root)
    assert results["gradable"] is False and "solution.py" in results["format_errors"]


def test_a_missing_file_is_not_gradable(tmp_path):
    root = _layout(tmp_path, {})
    assert run_external_grader("mhsa", root, runner=FakeRunner()) is not None
    results = _results(root)
    assert results["gradable"] is False and "No submission file" in results["message"]


def test_a_submission_prairielearn_already_refused_stays_ungradable(tmp_path):
    root = _layout(tmp_path, {"solution.py": (CORPUS / "correct_fused_qkv_linear.py").read_bytes()},
                   data={"gradable": False, "format_errors": {"solution.py": "missing"}})
    assert run_external_grader("mhsa", root, runner=FakeRunner()) is None
    assert _results(root)["gradable"] is False


def test_a_fault_of_the_harness_is_not_gradable(correct):
    results = results_json(correct.model_copy(update={"status": "internal_error", "message": "sandbox broke"}),
                           Found(Path("solution.py")))
    assert results["gradable"] is False and "sandbox broke" in results["message"]


def test_a_correct_upload_is_graded(tmp_path):
    root = _layout(tmp_path, {"solution.py": (CORPUS / "correct_fused_qkv_linear.py").read_bytes()})
    card = run_external_grader("mhsa", root, runner=FakeRunner())
    results = _results(root)
    assert card is not None and results["gradable"] is True
    assert results["score"] == pytest.approx(card.score / card.max_score) and results["score"] > 0.9


def test_export_writes_an_image_context_and_a_question(tmp_path):
    out = tmp_path / "pl"
    done = CliRunner().invoke(main, ["export", "prairielearn", "--problem", "mhsa", "--out", str(out),
                                     "--image", "course/mhsa-grader:1"])
    assert done.exit_code == 0, done.output
    assert {p.name for p in (out / "image").iterdir()} >= {"Dockerfile", "run.sh", "harness_autograder.json", "wheels"}
    info = json.loads((out / "question" / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and options["enabled"] is True
    assert options["image"] == "course/mhsa-grader:1" and options["entrypoint"] == "/opt/harness/run.sh"
    assert 30 <= options["timeout"] <= 600
    page = (out / "question" / "question.html").read_text()
    assert "<pl-file-upload" in page and "<pl-external-grader-results>" in page


def test_export_refuses_an_existing_folder(tmp_path):
    done = CliRunner().invoke(main, ["export", "prairielearn", "--problem", "mhsa", "--out", str(tmp_path),
                                     "--image", "x"])
    assert done.exit_code == 2 and "already exists" in done.output


def test_a_notebook_upload_is_graded_and_the_question_accepts_one(tmp_path):
    from tests.harness.test_notebooks import corpus_notebook

    notebook = corpus_notebook(tmp_path / "nb.ipynb", "mistake_no_scale").read_bytes()
    root = _layout(tmp_path / "job", {"solution.ipynb": notebook})
    card = run_external_grader("mhsa", root, runner=FakeRunner())
    results = _results(root)
    assert card is not None and results["gradable"] is True and [d.id for d in card.diagnoses] == ["no_scale"]
    assert card.submission.path.endswith("solution.ipynb")
    out = tmp_path / "pl"
    done = CliRunner().invoke(main, ["export", "prairielearn", "--problem", "mhsa", "--out", str(out),
                                     "--image", "course/mhsa-grader:1"])
    assert done.exit_code == 0, done.output
    assert 'optional-file-names="solution.py, solution.ipynb"' in (out / "question" / "question.html").read_text()

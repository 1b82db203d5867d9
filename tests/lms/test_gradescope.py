"""Gradescope's results.json from scorecards, the autograder's run in a Gradescope layout, and the exported zip.

The scorecards come from the fake runner (in-process, no sandbox); the real container run is test_lms_containers.
"""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.lms import gradescope
from harness.lms.autograder import Found
from harness.lms.gradescope import GraderFault, results_json, run_autograder
from harness.models import Scorecard
from harness.schemas import load_schema
from runners.fake import FakeRunner
from tests.support import CORPUS

SCHEMA = load_schema("gradescope_results")


@pytest.fixture(scope="module")
def correct() -> Scorecard:
    from harness import grade

    return grade(CORPUS / "correct_fused_qkv_linear.py", "mhsa", "fake", seed=5)


@pytest.fixture(scope="module")
def mistaken() -> Scorecard:
    from harness import grade

    return grade(CORPUS / "mistake_no_scale.py", "mhsa", "fake", seed=5)


def _layout(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    for name, data in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def test_one_test_per_item_with_its_visibility_and_points(correct):
    results = results_json(correct)
    jsonschema.validate(results, SCHEMA)
    assert [t["tags"][0] for t in results["tests"]] == [i.id for i in correct.items]
    for test, item in zip(results["tests"], correct.items, strict=True):
        assert (test["score"], test["max_score"], test["visibility"]) == (item.points, item.max_points,
                                                                         item.visibility)
        assert test["status"] == ("passed" if item.status == "passed" else "failed")
        assert test["output_format"] == "md"
    assert results["score"] == correct.score
    assert results["stdout_visibility"] == "hidden"


def test_hidden_and_after_due_date_items_keep_their_visibility(correct):
    items = [correct.items[0].model_copy(update={"visibility": "hidden"}),
             correct.items[1].model_copy(update={"visibility": "after_due_date"}), *correct.items[2:]]
    results = results_json(correct.model_copy(update={"items": items}))
    assert [t["visibility"] for t in results["tests"][:3]] == ["hidden", "after_due_date", "visible"]


def test_a_named_mistake_is_in_the_summary_and_its_item(mistaken):
    results = results_json(mistaken)
    scaling = next(t for t in results["tests"] if t["tags"] == ["scaling"])
    assert scaling["status"] == "failed" and scaling["score"] == 0
    assert "Mistakes found" in results["output"]


def test_feedback_cannot_inject_markup_or_grow_without_bound(correct):
    hostile = "<img src=x onerror=alert(1)> [click](http://evil) **bold** `code`\x1b[31m" + "x" * 50_000
    items = [correct.items[0].model_copy(update={"feedback": hostile}), *correct.items[1:]]
    output = results_json(correct.model_copy(update={"items": items}))["tests"][0]["output"]
    assert "<img" not in output and "&lt;img" in output
    assert "[click](" not in output and "\\[click\\]\\(" in output
    assert "\x1b" not in output
    assert len(output) < gradescope.MAX_TEST_OUTPUT + 200 and "characters left out" in output


def test_leaderboard_is_the_time_against_the_reference_when_measured(correct):
    items = [i.model_copy(update={"details": {**i.details, "ratio": 1.37}}) if i.id == "performance" else i
             for i in correct.items]
    results = results_json(correct.model_copy(update={"items": items}), leaderboard=True)
    assert results["leaderboard"] == [{"name": "time / reference", "value": 1.37, "order": "asc"}]
    assert "leaderboard" not in results_json(correct, leaderboard=False)


def test_a_fault_of_the_harness_writes_no_results(correct):
    with pytest.raises(GraderFault):
        results_json(correct.model_copy(update={"status": "internal_error", "message": "sandbox broke"}))


def test_run_autograder_picks_the_file_that_defines_the_entry(tmp_path):
    root = _layout(tmp_path, {"notes/helpers.py": b"def helper():\n    return 1\n",
                              "zz_attention.py": (CORPUS / "correct_fused_qkv_linear.py").read_bytes()})
    card = run_autograder("mhsa", root, runner=FakeRunner())
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert card.status == "graded" and results["score"] == card.score > 0
    assert "zz\\_attention.py" in results["output"]


def test_run_autograder_with_nothing_to_grade_scores_zero_with_the_reason(tmp_path):
    root = _layout(tmp_path, {"README.txt": b"no code"})
    run_autograder("mhsa", root, runner=FakeRunner())
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0 and "No submission file" in results["output"]


def test_cli_exits_1_and_writes_nothing_on_a_fault_of_the_harness(tmp_path, monkeypatch, correct):
    root = _layout(tmp_path, {"a.py": b"x = 1\n"})
    config = tmp_path / "harness_autograder.json"
    config.write_text(json.dumps({"problem": "mhsa", "harness_version": "0"}))
    broken = correct.model_copy(update={"status": "internal_error", "message": "no sandbox here"})
    monkeypatch.setattr(gradescope, "grade_upload", lambda *args, **kwargs: (broken, Found(Path("a.py"))))
    done = CliRunner().invoke(main, ["autograder", "gradescope", "--config", str(config), "--root", str(root)])
    assert done.exit_code == 1 and "no sandbox here" in done.output
    assert not (root / "results" / "results.json").exists()


def test_cli_config_errors_name_the_file_and_field(tmp_path):
    config = tmp_path / "harness_autograder.json"
    config.write_text(json.dumps({"problem": "mhsa", "harness_version": "0", "leaderbord": True}))
    done = CliRunner().invoke(main, ["autograder", "gradescope", "--config", str(config), "--root", str(tmp_path)])
    assert done.exit_code == 2
    assert "harness_autograder.json" in done.output and "leaderbord" in done.output


def test_export_writes_setup_run_autograder_config_and_the_harness_wheel(tmp_path):
    out = tmp_path / "autograder.zip"
    done = CliRunner().invoke(main, ["export", "gradescope", "--problem", "mhsa", "--out", str(out),
                                     "--leaderboard"])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(out) as bundle:
        names = bundle.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
        config = json.loads(bundle.read("harness_autograder.json"))
        wheel = next(n for n in names if n.startswith("wheels/mlgrade_harness-"))
    assert {"setup.sh", "run_autograder", "harness_autograder.json"} <= set(names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert config["problem"] == "mhsa" and config["leaderboard"] is True
    assert wheel.endswith(".whl")


def test_export_of_an_unknown_problem_fails_before_writing(tmp_path):
    out = tmp_path / "autograder.zip"
    done = CliRunner().invoke(main, ["export", "gradescope", "--problem", "no_such_problem", "--out", str(out)])
    assert done.exit_code == 2 and "no_such_problem" in done.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_export_bundles_a_course_problem_folder(tmp_path):
    from harness.packs.scaffold import scaffold

    course = tmp_path / "course"
    scaffold("my_softplus", "function", course)
    out = tmp_path / "autograder.zip"
    done = CliRunner().invoke(main, ["export", "gradescope", "--problem", "my_softplus", "--out", str(out),
                                     "--problems-dir", str(course)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(out) as bundle:
        config = json.loads(bundle.read("harness_autograder.json"))
        assert any(n.startswith("problems/0-course/my_softplus/") for n in bundle.namelist())
    assert config["problems_dirs"] == ["problems/0-course"]


def test_lock_down_refuses_a_source_tree():
    done = CliRunner().invoke(main, ["autograder", "lock-down"])
    assert done.exit_code == 2 and "source tree" in done.output


def test_run_autograder_grades_a_notebook_upload_citing_its_cells(tmp_path):
    from tests.harness.test_notebooks import corpus_notebook

    notebook = corpus_notebook(tmp_path / "nb.ipynb", "mistake_builtin_mha").read_bytes()
    root = _layout(tmp_path / "gs", {"Attention.ipynb": notebook, "notes.md": b"# notes"})
    card = run_autograder("mhsa", root, runner=FakeRunner())
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert card.submission.path.endswith("Attention.ipynb")
    scratch = next(test for test in results["tests"] if test["name"] == "Written from scratch")
    assert "cell 3, line" in scratch["output"]

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
from click.testing import CliRunner

from harness.cli import main
from harness.exit_codes import ExitCode
from harness.schemas import load_schema
from tests.support import corpus_file


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_grade_writes_a_valid_scorecard_to_out(tmp_path):
    out = tmp_path / "cards" / "card.json"
    result = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--runner", "fake",
                    "--out", str(out), "--seed", "5")
    assert result.exit_code == ExitCode.OK, result.output
    card = json.loads(out.read_text())
    jsonschema.validate(card, load_schema("scorecard"))
    assert card["seed"] == 5 and card["status"] == "graded"
    assert [p.name for p in out.parent.iterdir()] == ["card.json"]  # no temporary file left


def test_grade_prints_json_to_stdout_by_default():
    result = invoke("grade", str(corpus_file("mistake_no_scale")), "--problem", "mhsa", "--runner", "fake")
    assert result.exit_code == 0
    assert json.loads(result.output)["problem"]["id"] == "mhsa"


def test_text_format_shows_items_and_score():
    result = invoke("grade", str(corpus_file("mistake_no_scale")), "--problem", "mhsa", "--runner", "fake",
                    "--format", "text")
    assert result.exit_code == 0
    assert "matches_reference" in result.output and "score:" in result.output


def test_fail_under_exits_3_only_below_the_threshold():
    args = ["grade", str(corpus_file("mistake_no_scale")), "--problem", "mhsa", "--runner", "fake"]
    assert invoke(*args, "--fail-under", "90").exit_code == ExitCode.BELOW_THRESHOLD
    assert invoke(*args, "--fail-under", "5").exit_code == ExitCode.OK


def test_usage_errors_exit_2_with_a_message(tmp_path):
    result = invoke("grade", str(tmp_path / "missing.py"), "--problem", "mhsa")
    assert result.exit_code == ExitCode.USAGE_ERROR and "no such submission" in result.output
    result = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "nope")
    assert result.exit_code == ExitCode.USAGE_ERROR and "known problems" in result.output
    result = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--runner", "nope")
    assert result.exit_code == ExitCode.USAGE_ERROR and "known runners" in result.output


def test_problems_list_show_validate(tmp_path):
    assert "mhsa" in invoke("problems", "list").output
    shown = invoke("problems", "show", "mhsa").output
    assert "seq_len_one" in shown and "(hidden)" in shown and "from_scratch" in shown
    problem_file = __import__("pathlib").Path(__import__("problems").__file__).parent / "mhsa.yaml"
    assert invoke("problems", "validate", str(problem_file)).exit_code == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(problem_file.read_text().replace("class_name: MultiHeadSelfAttention", "class_name: 3bad"))
    result = invoke("problems", "validate", str(broken))
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "broken.yaml" in result.output and "interface.class_name" in result.output


def test_help_documents_the_exit_codes():
    text = " ".join(invoke("grade", "--help").output.split())  # however click wraps it
    assert "3 score below --fail-under" in text and "1 internal error of the harness (a batch stops there" in text


def test_real_subprocess_with_the_local_runner(tmp_path):
    out = tmp_path / "card.json"
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "grade", str(corpus_file("correct_separate_linear_bias")), "--problem",
         "mhsa", "--out", str(out)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    card = json.loads(out.read_text())
    assert card["runner"]["name"] == "local"
    assert {i["id"]: i["status"] for i in card["items"]}["matches_reference"] == "passed"


def test_limits_can_be_overridden_per_run(tmp_path):
    out = tmp_path / "card.json"
    result = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--runner", "fake",
                    "--limit", "processes=16", "--limit", "probe_s=5", "--timeout", "30", "--out", str(out))
    assert result.exit_code == 0, result.output
    limits = json.loads(out.read_text())["runner"]["limits"]
    assert limits["processes"] == 16 and limits["probe_s"] == 5 and limits["wall_s"] == 30
    bad = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--limit", "bogus=1")
    assert bad.exit_code == ExitCode.USAGE_ERROR and "NAME=VALUE" in bad.output
    bad = invoke("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--limit", "processes=0")
    assert bad.exit_code == ExitCode.USAGE_ERROR and "processes" in bad.output


def test_gpus_is_a_usage_error_for_a_runner_without_containers():
    result = invoke("grade", str(corpus_file("correct_separate_linear_bias")), "--problem", "mhsa", "--gpus", "all")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "--gpus is for the docker runner" in result.output

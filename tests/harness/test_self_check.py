"""`harness check`: visible items on visible configurations only, no benchmark, nothing hidden in the report."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from harness.api import grade_with_pack
from harness.cli import main
from harness.exit_codes import ExitCode
from harness.packs.pack import SelfCheckUnavailable
from harness.packs.registry import PackRegistry
from harness.schemas import load_schema
from harness.self_check import SELF_CHECK_LIMITS, check_many, self_check, self_check_with_pack
from runners.base import Job, RunResult
from runners.fake import FakeRunner
from tests.support import corpus_file

HIDDEN_CONFIG = "odd_sizes"
LEFT_OUT_CONFIG = "statement_size"


class RecordingRunner(FakeRunner):
    """The fake runner, keeping every job it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Job] = []

    def run(self, job: Job) -> RunResult:
        self.jobs.append(job)
        return super().run(job)


@pytest.fixture(scope="module")
def pack():
    return PackRegistry().load("mhsa")


def with_hidden_item(pack, item_id: str, visibility: str = "hidden"):
    """The mhsa pack with one rubric item given another visibility (in memory only)."""
    import copy

    changed = copy.copy(pack)
    items = [item.model_copy(update={"visibility": visibility}) if item.id == item_id else item
             for item in pack.rubric.items]
    changed.loaded = pack.loaded.__class__(**{**pack.loaded.__dict__,
                                              "rubric": pack.rubric.model_copy(update={"items": items})})
    return changed


def test_no_hidden_or_left_out_configuration_and_no_benchmark_reaches_the_sandbox(pack):
    runner = RecordingRunner()
    report = self_check_with_pack(pack, corpus_file("correct_bmm_style"), runner)
    assert report.status == "graded" and report.score == report.max_score
    (job,) = runner.jobs
    probe_ids = " ".join(probe.id for probe in job.probes)
    assert HIDDEN_CONFIG not in probe_ids and LEFT_OUT_CONFIG not in probe_ids
    assert "small" in probe_ids and "typical" in probe_ids
    assert not any(probe.measure_memory or "bench" in probe.id for probe in job.probes)
    assert not any(probe.withhold_output for probe in job.probes)  # nothing hidden ran, so nothing is withheld
    assert job.limits.probe_s <= SELF_CHECK_LIMITS["probe_s"] and job.limits.wall_s <= SELF_CHECK_LIMITS["wall_s"]


def test_the_report_holds_no_seed_no_details_and_says_what_the_full_grading_adds(pack):
    report = self_check_with_pack(pack, corpus_file("correct_bmm_style"), FakeRunner())
    data = json.loads(report.model_dump_json())
    assert "seed" not in data and all(item["details"] == {} for item in data["items"])
    assert {u.id for u in report.not_checked} == {"performance", "memory"}
    assert not any(item.id in {"performance", "memory"} for item in report.items)
    adds = " ".join(report.full_grading_adds)
    assert "times your code" in adds and "more configurations" in adds and "new secret" in adds
    assert HIDDEN_CONFIG not in report.model_dump_json() and "odd" not in adds
    assert report.full_max_score == pack.rubric.max_score
    jsonschema.validate(data, load_schema("self_check"))


def test_items_a_crash_leaves_undecided_count_as_checked_not_as_left_to_the_full_grading(pack):
    report = self_check_with_pack(pack, corpus_file("broken_forward_raises"), FakeRunner())
    assert report.status == "runtime_error"
    assert {u.id for u in report.not_checked} == {"performance", "memory"}  # only what needs the benchmark
    skipped = [item for item in report.items if item.status == "skipped"]
    assert skipped and all(item.points == 0 for item in skipped)
    assert report.max_score == pack.rubric.max_score - sum(u.max_points for u in report.not_checked)
    adds = " ".join(report.full_grading_adds)
    assert all(item.title not in adds for item in skipped)


def test_a_hidden_item_is_never_evaluated_nor_named(pack):
    hidden = with_hidden_item(pack, "scaling")
    report = self_check_with_pack(hidden, corpus_file("mistake_no_scale"), FakeRunner())
    text = report.model_dump_json()
    assert '"scaling"' not in text and "Scores scaled" not in text
    assert all(item.id != "scaling" for item in report.items)
    assert any("further items, worth 5 of its 100 points" in sentence for sentence in report.full_grading_adds)
    for diagnosis in report.diagnoses:
        assert "scaling" not in diagnosis.items


def test_an_item_shown_after_the_due_date_is_not_checked_either(pack):
    later = with_hidden_item(pack, "gradients", "after_due_date")
    report = self_check_with_pack(later, corpus_file("correct_bmm_style"), FakeRunner())
    assert all(item.id != "gradients" for item in report.items)


@pytest.mark.parametrize("stem", ["correct_bmm_style", "mistake_no_scale", "mistake_softmax_over_queries",
                                  "mistake_builtin_mha", "broken_syntax_error", "broken_forward_raises"])
def test_the_self_check_agrees_with_the_full_grading_on_every_item_it_checks(pack, stem):
    report = self_check_with_pack(pack, corpus_file(stem), FakeRunner())
    card = grade_with_pack(pack, corpus_file(stem), FakeRunner())
    full = {item.id: item.status for item in card.items}
    assert report.status == card.status
    assert {item.id: item.status for item in report.items} == {i.id: full[i.id] for i in report.items}
    assert [d.id for d in report.diagnoses] == [d.id for d in card.diagnoses]


def test_a_problem_whose_binding_configuration_is_hidden_offers_no_self_check(pack):
    problem = pack.loaded.problem
    configs = [c.model_copy(update={"hidden": c.name == problem.binding_config}) for c in problem.configs]
    import copy

    changed = copy.copy(pack)
    changed.loaded = pack.loaded.__class__(**{**pack.loaded.__dict__,
                                              "problem": problem.model_copy(update={"configs": configs})})
    with pytest.raises(SelfCheckUnavailable, match="offers no self-check"):
        changed.self_check_view()


def test_a_notebook_is_checked_too(tmp_path):
    from tests.harness.test_notebooks import corpus_notebook

    path = corpus_notebook(tmp_path / "work.ipynb", "mistake_no_scale")
    report = self_check(path, "mhsa", "fake")
    assert report.submission.path == str(path) and [d.id for d in report.diagnoses] == ["no_scale"]
    assert report.message.startswith("Notebook:")


def test_check_many_keeps_the_order_on_two_workers(tmp_path):
    stems = ["mistake_no_scale", "correct_bmm_style", "broken_syntax_error"]
    reports = check_many([corpus_file(s) for s in stems], "mhsa", "fake", workers=2)
    assert [r.submission.path for r in reports] == [str(corpus_file(s)) for s in stems]
    assert [r.status for r in reports] == ["graded", "graded", "compile_error"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_prints_a_readable_check_and_exits_0():
    result = invoke("check", str(corpus_file("mistake_no_scale")), "--problem", "mhsa", "--runner", "fake")
    assert result.exit_code == ExitCode.OK, result.output
    assert "Self-check of" in result.output and "Named mistake no_scale" in result.output
    assert "The full grading adds:" in result.output and "performance" not in result.output.split("adds:")[0]


def test_cli_json_for_several_files_is_one_valid_object_per_line():
    result = invoke("check", str(corpus_file("correct_bmm_style")), str(corpus_file("broken_syntax_error")),
                    "--problem", "mhsa", "--runner", "fake", "--format", "json")
    assert result.exit_code == ExitCode.OK, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        jsonschema.validate(json.loads(line), load_schema("self_check"))


def test_cli_usage_errors_exit_2(tmp_path):
    assert invoke("check", str(tmp_path / "missing.py"), "--problem", "mhsa").exit_code == ExitCode.USAGE_ERROR
    result = invoke("check", str(corpus_file("correct_bmm_style")), "--problem", "no_such_problem")
    assert result.exit_code == ExitCode.USAGE_ERROR and "unknown problem" in result.output


@pytest.mark.slow
def test_a_warm_check_in_the_real_sandbox_is_quick_and_correct():
    reports = check_many([corpus_file("correct_bmm_style")] * 3, "mhsa", "local")
    assert all(r.status == "graded" and r.score == r.max_score for r in reports)
    assert min(r.wall_s for r in reports[1:]) < 1.0, [r.wall_s for r in reports]

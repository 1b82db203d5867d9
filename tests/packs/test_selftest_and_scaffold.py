"""`harness problems validate --self-test` and `harness problems new`: every pack proves itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.packs.registry import PackRegistry
from harness.packs.scaffold import KINDS, ScaffoldError, scaffold
from harness.packs.selftest import self_test
from runners.fake import FakeRunner
from tests.packs.conftest import PACK_IDS

BUILTIN = Path(__file__).resolve().parents[2] / "problem_packs"


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_each_built_in_pack_passes_its_self_test(pack_id):
    report = self_test(PackRegistry().load(pack_id), FakeRunner(), seeds=3)
    assert report.ok, [f.text for f in report.findings if not f.ok]
    texts = [f.text for f in report.findings]
    assert sum(t.startswith("mistake ") for t in texts) >= 4


def test_a_catalogue_that_lies_about_a_mistake_fails_the_self_test(tmp_path):
    target = tmp_path / "course" / "layer_norm"
    shutil.copytree(BUILTIN / "layer_norm", target)
    # The solution's unbiased variance now divides by D + 1: the catalogue's flag no longer reproduces it.
    solution = (target / "solution.py").read_text().replace(
        'var = x.var(dim=axis, unbiased="unbiased_variance" in MISTAKES, keepdim=True)',
        'var = ((x - x.mean(dim=axis, keepdim=True)) ** 2).sum(dim=axis, keepdim=True) / (x.shape[axis] + '
        '("unbiased_variance" in MISTAKES))')
    (target / "solution.py").write_text(solution)
    report = self_test(PackRegistry([tmp_path / "course"]).load("layer_norm"), FakeRunner(), seeds=1)
    failures = [f.text for f in report.findings if not f.ok]
    assert failures and any(text.startswith("mistake unbiased_variance") for text in failures), failures


@pytest.mark.parametrize("kind", KINDS)
def test_a_scaffolded_pack_validates_and_passes_its_self_test(kind, tmp_path):
    target = scaffold(f"my_{kind}", kind, tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["corpus", "problem.yaml", "reference.py", "rubric.yaml",
                                                       "solution.py"]
    pack = PackRegistry([tmp_path]).load(f"my_{kind}")
    report = self_test(pack, FakeRunner(), seeds=2)
    assert report.ok, [f.text for f in report.findings if not f.ok]
    assert any(f.text.startswith("corpus correct_solution") for f in report.findings)


def test_scaffold_refuses_an_existing_directory_and_a_bad_id(tmp_path):
    scaffold("first", "function", tmp_path)
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("first", "function", tmp_path)
    with pytest.raises(ScaffoldError, match="lower-case"):
        scaffold("Bad-Id", "function", tmp_path)


def test_cli_new_then_validate_with_self_test_on_the_fake_runner(tmp_path):
    runner = CliRunner()
    created = runner.invoke(main, ["problems", "new", "shift", "--kind", "module", "--dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    result = runner.invoke(main, ["problems", "validate", str(tmp_path / "shift"), "--self-test", "--seeds", "1",
                                  "--runner", "fake"])
    assert result.exit_code == 0, result.output
    assert "self-test passed" in result.output
    listed = runner.invoke(main, ["problems", "list", "--problems-dir", str(tmp_path)])
    assert "shift\tAn elementwise affine layer" in listed.output and "mhsa\t" in listed.output


def test_cli_validate_exits_4_when_a_self_test_fails(tmp_path):
    target = scaffold("broken", "function", tmp_path)
    (target / "solution.py").write_text((target / "solution.py").read_text().replace("0.01 * x", "0.5 * x"))
    result = CliRunner().invoke(main, ["problems", "validate", str(target), "--self-test", "--seeds", "1",
                                       "--runner", "fake"])
    assert result.exit_code == 4, result.output
    assert "FAIL" in result.output and "mistake leaky" in result.output


def test_cli_validate_exits_2_on_an_invalid_pack(tmp_path):
    target = scaffold("invalid", "function", tmp_path)
    (target / "rubric.yaml").write_text((target / "rubric.yaml").read_text().replace("zeroes_negatives", "zeroes"))
    result = CliRunner().invoke(main, ["problems", "validate", str(target)])
    assert result.exit_code == 2
    assert "leaky" in result.output and "'zeroes_negatives'" in result.output


def test_grading_a_course_pack_through_the_cli_changes_nothing_installed(tmp_path):
    scaffold("relu_hw", "function", tmp_path)
    submission = tmp_path / "student.py"
    submission.write_text("import torch\n\ndef relu(x):\n    return x.clamp(min=0)\n")
    result = CliRunner().invoke(main, ["grade", str(submission), "--problem", "relu_hw", "--problems-dir",
                                       str(tmp_path), "--runner", "fake", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"score": 100.0' in result.output

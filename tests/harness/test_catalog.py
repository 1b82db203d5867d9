from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.catalog import Catalog, ProblemFileError


def copy_builtin(tmp_path: Path) -> Path:
    directory = tmp_path / "course"
    (directory / "rubrics").mkdir(parents=True)
    builtin = Path(__import__("problems").__file__).parent
    shutil.copy(builtin / "mhsa.yaml", directory / "attention.yaml")
    shutil.copy(Path(__import__("rubrics").__file__).parent / "mhsa.yaml", directory / "rubrics" / "mhsa.yaml")
    return directory


def test_builtin_problem_loads_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = Catalog().load("mhsa")
    assert loaded.problem.id == "mhsa" and loaded.rubric.id == "mhsa"


def test_unknown_problem_lists_the_known_ones():
    with pytest.raises(ProblemFileError, match="unknown problem 'nope'; known problems: .*mhsa"):
        Catalog().load("nope")


def test_course_directory_adds_problems(tmp_path):
    directory = copy_builtin(tmp_path)
    catalog = Catalog([directory])
    assert "attention" in catalog.problem_files() and "mhsa" in catalog.problem_files()


def test_invalid_field_is_named_with_the_file(tmp_path):
    directory = copy_builtin(tmp_path)
    path = directory / "attention.yaml"
    path.write_text(path.read_text().replace("memory_mb: 2048", "memory_mb: lots"))
    with pytest.raises(ProblemFileError) as info:
        Catalog([directory]).load(path)
    message = str(info.value)
    assert str(path) in message and "limits.memory_mb" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    directory = copy_builtin(tmp_path)
    path = directory / "attention.yaml"
    path.write_text("id: [unclosed\nversion: 1\n")
    with pytest.raises(ProblemFileError, match=r"attention.yaml: line \d+"):
        Catalog([directory]).load(path)


def test_missing_rubric_is_reported(tmp_path):
    directory = copy_builtin(tmp_path)
    path = directory / "attention.yaml"
    path.write_text(path.read_text().replace("rubric: mhsa", "rubric: missing-rubric"))
    with pytest.raises(ProblemFileError, match="rubric 'missing-rubric' not found"):
        Catalog([directory]).load(path)


def test_semantic_error_names_the_field(tmp_path):
    directory = copy_builtin(tmp_path)
    path = directory / "attention.yaml"
    path.write_text(path.read_text().replace("binding_config: small", "binding_config: huge"))
    with pytest.raises(ProblemFileError, match="binding_config"):
        Catalog([directory]).load(path)

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.batch import InputError, Journal, discover_submissions, grade_batch
from harness.batch.run import BatchExistsError
from harness.cli import main
from tests.support import corpus_file

STEMS = ["correct_bmm_style", "mistake_no_scale", "broken_syntax_error", "correct_packed_in_proj"]


def make_input(root: Path) -> Path:
    """Two flat files, one per-student folder with two .py files, one folder with no Python file."""
    source = root / "input"
    source.mkdir()
    shutil.copy(corpus_file(STEMS[0]), source / "alice.py")
    shutil.copy(corpus_file(STEMS[1]), source / "bob.py")
    (source / "carol").mkdir()
    shutil.copy(corpus_file(STEMS[3]), source / "carol" / "attention.py")
    (source / "carol" / "helpers.py").write_text("X = 1\n")
    (source / "dave").mkdir()
    (source / "dave" / "notes.txt").write_text("forgot to upload")
    return source


def test_folder_batch_writes_every_output(tmp_path):
    out = tmp_path / "out"
    result = grade_batch(make_input(tmp_path), "mhsa", out, workers=1, runner="fake")
    assert result.total == 4 and result.graded_now == 4 and result.failures == 0
    assert sorted(p.stem for p in (out / "scorecards").glob("*.json")) == ["alice", "bob", "carol", "dave"]
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    by_student = {row["student"]: row for row in rows}
    assert by_student["alice"]["score"] == "95"  # memory is not measured by the fake runner
    assert by_student["carol"]["status"] == "graded"  # the file defining the class was picked
    assert by_student["dave"]["status"] == "compile_error"
    assert float(by_student["bob"]["matches_reference"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["submissions"] == 4 and summary["pending"] == 0
    assert {"id": "no_scale", "count": 1} in summary["most_common_diagnoses"]
    assert summary["items"]["interface"]["passed"] == 3


def test_existing_batch_needs_resume(tmp_path):
    out = tmp_path / "out"
    source = make_input(tmp_path)
    grade_batch(source, "mhsa", out, workers=1, runner="fake")
    with pytest.raises(BatchExistsError, match="--resume"):
        grade_batch(source, "mhsa", out, workers=1, runner="fake")
    again = grade_batch(source, "mhsa", out, workers=1, runner="fake", resume=True)
    assert again.graded_now == 0 and again.already_done == 4


def test_resume_regrades_a_torn_line_and_a_missing_scorecard_only(tmp_path):
    out = tmp_path / "out"
    source = make_input(tmp_path)
    grade_batch(source, "mhsa", out, workers=1, runner="fake")
    journal = out / "journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])  # torn by a kill
    (out / "scorecards" / "alice.json").unlink()
    done_before = set(Journal(out).completed())
    result = grade_batch(source, "mhsa", out, workers=1, runner="fake", resume=True)
    assert result.graded_now == 4 - len(done_before)
    completed = Journal(out).completed()
    assert sorted(completed) == ["alice", "bob", "carol", "dave"]


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def test_lms_zip_with_a_top_folder(tmp_path):
    archive = write_zip(tmp_path / "export.zip", {
        "submissions/alice_123_attention.py": corpus_file(STEMS[0]).read_bytes(),
        "submissions/bob_456_attention.py": corpus_file(STEMS[1]).read_bytes(),
        "__MACOSX/._junk": b"x",
    })
    found = discover_submissions(archive, "MultiHeadSelfAttention", tmp_path / "work")
    assert [s.student for s in found] == ["alice_123_attention", "bob_456_attention"]


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py"])
def test_zip_path_traversal_is_refused(tmp_path, name):
    archive = write_zip(tmp_path / "evil.zip", {name: b"print(1)"})
    with pytest.raises(InputError, match="path traversal"):
        discover_submissions(archive, "X", tmp_path / "work")
    assert not (tmp_path / "evil.py").exists()


def test_zip_bomb_and_links_are_refused(tmp_path, monkeypatch):
    # A member over the size cap is never inflated, however well it compresses: it is its student's refusal.
    bomb = write_zip(tmp_path / "bomb.zip", {"big.py": b"0" * (12 << 20), "small.py": b"X = 1\n"})
    found = {s.student: s for s in discover_submissions(bomb, "X", tmp_path / "work")}
    assert found["big"].path is None and "big.py is 12 MiB, over the 1 MiB limit" in found["big"].refusal
    assert (tmp_path / "work" / "extracted" / "big.py").stat().st_size == 0
    assert found["small"].path is not None
    monkeypatch.setattr("harness.batch.inputs.MAX_TOTAL_BYTES", 4 << 20)  # what would be inflated in all
    many = write_zip(tmp_path / "many.zip", {f"s{i}.py": b"#" * (1 << 20) for i in range(5)})
    with pytest.raises(InputError, match="zip bomb"):
        discover_submissions(many, "X", tmp_path / "work2")
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as bundle:
        info = zipfile.ZipInfo("alice.py")
        info.external_attr = (0o120777 << 16)
        bundle.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="link"):
        discover_submissions(link, "X", tmp_path / "work")
    not_zip = tmp_path / "notes.txt"
    not_zip.write_text("hello")
    with pytest.raises(InputError, match="directory or a .zip"):
        discover_submissions(not_zip, "X", tmp_path / "work")


def test_cli_batch_and_its_errors(tmp_path):
    out = tmp_path / "out"
    source = make_input(tmp_path)
    result = CliRunner().invoke(main, ["batch", str(source), "--problem", "mhsa", "--out", str(out), "--runner",
                                       "fake", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "[4/4]" in result.output and "4 graded now" in result.output
    result = CliRunner().invoke(main, ["batch", str(source), "--problem", "mhsa", "--out", str(out)])
    assert result.exit_code == 2 and "--resume" in result.output
    evil = write_zip(tmp_path / "evil.zip", {"../x.py": b""})
    result = CliRunner().invoke(main, ["batch", str(evil), "--problem", "mhsa", "--out", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "path traversal" in result.output


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path):
    source = tmp_path / "input"
    source.mkdir()
    for index in range(5):
        shutil.copy(corpus_file(["correct_bmm_style", "mistake_no_scale"][index % 2]), source / f"s{index}.py")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "batch", str(source), "--problem", "mhsa", "--out", str(out),
               "--workers", "1"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "journal.jsonl").exists() and (out / "journal.jsonl").read_text().count("\n") >= 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = set(Journal(out).completed())
    assert 2 <= len(partial) < 5
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    students = [json.loads(line)["student"] for line in (out / "journal.jsonl").read_text().splitlines()
                if line.strip().endswith("}")]
    assert sorted(students) == [f"s{i}" for i in range(5)]  # each exactly once
    assert not list((out / "scorecards").glob(".*.tmp"))
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert len(rows) == 5


def test_regrade_after_a_rubric_change_reports_whose_scores_changed_and_why(tmp_path):
    out = tmp_path / "out"
    source = make_input(tmp_path)
    grade_batch(source, "mhsa", out, workers=1, runner="fake")
    course = tmp_path / "course"
    (course / "rubrics").mkdir(parents=True)
    rubric = (Path(__import__("rubrics").__file__).parent / "mhsa.yaml").read_text()
    changed = rubric.replace("  - id: scaling\n    title: Scores scaled by 1/sqrt(head_dim)\n    points: 5",
                             "  - id: scaling\n    title: Scores scaled by 1/sqrt(head_dim)\n    points: 15")
    assert changed != rubric
    (course / "rubrics" / "mhsa.yaml").write_text(changed)
    result = grade_batch(source, "mhsa", out, workers=1, runner="fake", regrade=True, problems_dirs=[course])
    assert result.graded_now == 4
    report = json.loads((out / "regrade.json").read_text())
    by_student = {change["student"]: change for change in report["changed"]}
    assert by_student["alice"]["old_score"] + 10 == by_student["alice"]["new_score"]
    assert [c["item"] for c in by_student["alice"]["items"]] == ["scaling"]
    assert by_student["bob"]["new_max"] == by_student["bob"]["old_max"] + 10  # no_scale: same points, new maximum
    assert (out / "previous" / "scorecards" / "alice.json").exists()
    with pytest.raises(BatchExistsError, match="no batch to regrade"):
        grade_batch(source, "mhsa", tmp_path / "empty", workers=1, runner="fake", regrade=True)


@pytest.mark.docker
@pytest.mark.slow
def test_a_batch_on_pooled_containers_reuses_one_pool_per_worker(tmp_path, docker_engine):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(make_input(tmp_path)), "--problem", "mhsa", "--out", str(out),
                                       "--runner", "docker-pool", "--workers", "2"])
    assert result.exit_code == 0, result.output
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert rows["alice"]["score"] == "100" and rows["bob"]["status"] == "graded"
    assert rows["dave"]["status"] == "compile_error"
    cards = [json.loads(path.read_text()) for path in (out / "scorecards").glob("*.json")]
    startups = {card["runner"]["enforced"].get("startup") for card in cards if card["runner"]["enforced"]}
    assert startups and all(s.startswith("forked from the warm zygote of a pooled container") for s in startups)
    import docker as sdk

    client = sdk.DockerClient(base_url=docker_engine.base_url)
    deadline = time.monotonic() + 30  # the workers' pools end with them
    while client.containers.list(all=True, filters={"label": "mlgrade-harness=pool"}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.containers.list(all=True, filters={"label": "mlgrade-harness=pool"}) == []

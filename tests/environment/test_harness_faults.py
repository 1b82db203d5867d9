"""A fault of the harness is never a student's zero: it is internal_error, exit code 1, and a batch stops there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.api import grade
from runners.base import Job, ResourceUsage, RunResult
from runners.fake import FakeRunner
from tests.support import ROOT, corpus_file

BROKEN_BWRAP = "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def died_at_startup(outcome: str, reason: str):
    def respond(job: Job) -> RunResult:
        result = RunResult(outcome=outcome, reason=reason, interrupted_probe="startup",  # type: ignore[arg-type]
                           resources=ResourceUsage(wall_s=0.1))
        result.output.stderr = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n"
        return result

    return respond


@pytest.mark.parametrize("outcome", ["crashed", "timeout", "memory_limit"])
def test_a_run_that_ends_before_the_submission_is_loaded_is_the_harness_fault(outcome):
    card = grade(corpus_file("correct_bmm_style"), "mhsa", FakeRunner(respond=died_at_startup(outcome, "it ended")))
    assert card.status == "internal_error"
    assert card.score == 0 and all(item.status == "skipped" or item.points == 0 for item in card.items)
    assert "not of your code" in card.message
    assert "No module named 'torch'" in card.message  # what the sandbox printed says what broke
    assert "harness doctor" in card.message


def test_a_crash_after_start_up_is_still_the_candidate_own():
    def respond(job: Job) -> RunResult:
        return RunResult(outcome="crashed", reason="the process was killed by signal SIGSEGV",
                         interrupted_probe="load", resources=ResourceUsage(wall_s=0.1))

    card = grade(corpus_file("correct_bmm_style"), "mhsa", FakeRunner(respond=respond))
    assert card.status == "runtime_error"


def broken_path(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bwrap").write_text(BROKEN_BWRAP)
    (bin_dir / "bwrap").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("runner", ["local", "local-cold"])
def test_a_bubblewrap_that_cannot_start_is_internal_error_and_exit_1(tmp_path, runner):
    done = harness("grade", str(corpus_file("correct_bmm_style")), "--problem", "mhsa", "--runner", runner,
                   env=broken_path(tmp_path))
    assert done.returncode == 1, done.stderr
    card = json.loads(done.stdout)
    assert card["status"] == "internal_error" and card["score"] == 0
    assert "could not start its sandbox" in card["message"]
    assert "setting up uid map: Permission denied" in card["message"]  # bubblewrap's own words reach the user
    assert "not of your code" in card["message"]


@pytest.mark.slow
@needs_bwrap
def test_a_batch_stops_at_a_broken_sandbox_and_resume_finishes_it(tmp_path):
    source = tmp_path / "class"
    source.mkdir()
    students = {"ann": "correct_bmm_style", "ben": "mistake_no_scale", "cat": "correct_fused_qkv_linear"}
    for student, stem in students.items():
        shutil.copy(corpus_file(stem), source / f"{student}.py")
    out = tmp_path / "grades"
    stopped = harness("batch", str(source), "--problem", "mhsa", "--out", str(out), "--workers", "1",
                      env=broken_path(tmp_path))
    assert stopped.returncode == 1, stopped.stderr
    assert "batch stopped" in stopped.stderr and "--resume" in stopped.stderr
    assert "setting up uid map" in stopped.stderr
    assert (out / "journal.jsonl").read_text() == ""  # no student was graded as a zero
    assert not list((out / "scorecards").glob("*.json"))
    assert json.loads((out / "stopped.json").read_text())["status"] == "internal_error"

    resumed = harness("batch", str(source), "--problem", "mhsa", "--out", str(out), "--workers", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    cards = {p.stem: json.loads(p.read_text()) for p in (out / "scorecards").glob("*.json")}
    assert sorted(cards) == ["ann", "ben", "cat"]
    assert cards["ann"]["score"] == cards["ann"]["max_score"] == cards["cat"]["score"]
    assert cards["ben"]["status"] == "graded" and cards["ben"]["score"] < cards["ben"]["max_score"]

"""A grading worker that dies (killed by the OS, a segfault) is retried once; dying again stops the batch.

The fake runner runs the submission inside the worker process, so a submission that kills its own process kills
the worker, as the OOM killer or a crash in the trusted grading code would with a real runner.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from harness.batch import Journal, grade_batch
from harness.batch.run import BatchStopped
from tests.support import corpus_file

NEIGHBOURS = {
    "alice": "correct_bmm_style",
    "bob": "mistake_no_scale",
    "carol": "correct_packed_in_proj",
    "dave": "broken_forward_raises",
}
KILLS_ITSELF = "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
DIES_ONCE = """
import os as _os
import pathlib as _pathlib
import signal as _signal

_marker = _pathlib.Path({marker!r})
if not _marker.exists():  # the first worker to import this file dies; the retry grades it
    _marker.write_text("died once")
    _os.kill(_os.getpid(), _signal.SIGKILL)
"""


def neighbours(root: Path) -> Path:
    source = root / "input"
    source.mkdir(parents=True)
    for student, stem in NEIGHBOURS.items():
        shutil.copy(corpus_file(stem), source / f"{student}.py")
    return source


def comparable(card: dict) -> dict:
    """What must not change for an honest neighbour: status, score, and every item's status and points."""
    return {
        "status": card["status"],
        "score": card["score"],
        "max_score": card["max_score"],
        "items": [(item["id"], item["status"], item["points"]) for item in card["items"]],
    }


def cards(out: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in (out / "scorecards").glob("*.json")}


def test_a_worker_that_dies_once_costs_nothing(tmp_path):
    started = time.monotonic()
    calm = grade_batch(neighbours(tmp_path / "calm"), "mhsa", tmp_path / "calm-out", workers=2, runner="fake")
    calm_s = time.monotonic() - started
    assert calm.failures == 0

    source = neighbours(tmp_path / "flaky")
    (source / "flaky.py").write_text(
        corpus_file("correct_bmm_style").read_text() + DIES_ONCE.format(marker=str(tmp_path / "flaky-died"))
    )
    started = time.monotonic()
    flaky = grade_batch(source, "mhsa", tmp_path / "flaky-out", workers=2, runner="fake")
    flaky_s = time.monotonic() - started

    before, after = cards(tmp_path / "calm-out"), cards(tmp_path / "flaky-out")
    for student in NEIGHBOURS:
        assert comparable(after[student]) == comparable(before[student]), student
    assert (tmp_path / "flaky-died").exists()  # it did kill its first worker, and was graded by the next
    assert after["flaky"]["status"] == "graded" and after["flaky"]["score"] == after["alice"]["score"]
    assert flaky.failures == 0 and flaky.total == 5
    print(f"\nneighbours' scores { ({s: after[s]['score'] for s in NEIGHBOURS}) }, identical to the calm run's; "
          f"calm batch of {calm.total} in {calm_s:.1f} s, with a flaky worker {flaky.total} in {flaky_s:.1f} s")


def test_a_worker_that_dies_on_every_try_stops_the_batch_and_resume_finishes_it(tmp_path):
    source = neighbours(tmp_path / "input")
    (source / "bob.py").write_text(KILLS_ITSELF)  # in the middle of the batch: some are graded before it, some after
    out = tmp_path / "out"
    with pytest.raises(BatchStopped) as stopped:
        grade_batch(source, "mhsa", out, workers=1, runner="fake")
    assert stopped.value.student == "bob"
    message = stopped.value.scorecard.message
    assert "grading worker process died" in message and "in each of the 2 workers that tried it" in message, message
    assert "--resume" in str(stopped.value)
    journaled = [json.loads(line)["student"] for line in (out / "journal.jsonl").read_text().splitlines()]
    assert journaled == ["alice"]  # graded before the fault; nothing after it was graded as a zero
    assert json.loads((out / "stopped.json").read_text())["status"] == "internal_error"
    assert not (out / "scorecards" / "bob.json").exists()
    assert json.loads((out / "summary.json").read_text())["pending"] == 3  # the reports are written all the same

    shutil.copy(corpus_file(NEIGHBOURS["bob"]), source / "bob.py")  # the fix
    again = grade_batch(source, "mhsa", out, workers=1, runner="fake", resume=True)
    assert again.already_done == 1 and again.graded_now == 3 and again.failures == 0
    assert sorted(Journal(out).completed()) == sorted(NEIGHBOURS)
    journaled = [json.loads(line)["student"] for line in (out / "journal.jsonl").read_text().splitlines()]
    assert sorted(journaled) == sorted(NEIGHBOURS)  # each exactly once
    assert not (out / "stopped.json").exists()


def test_a_task_that_raises_in_its_worker_reports_the_error_and_the_worker_keeps_serving(tmp_path):
    from harness.batch.executors import GradeTask, ProcessExecutor
    from runners.base import UnknownRunnerError

    tasks = [
        GradeTask(f"s{i}", str(corpus_file("correct_bmm_style")), "mhsa", "no-such-runner", (), None) for i in range(5)
    ]
    outcomes: dict[str, object] = {}
    ProcessExecutor(workers=2).run(tasks, lambda task, outcome: outcomes.setdefault(task.student, outcome))
    assert sorted(outcomes) == [f"s{i}" for i in range(5)]  # exactly one outcome each
    assert all(isinstance(o, UnknownRunnerError) and "no-such-runner" in str(o) for o in outcomes.values())

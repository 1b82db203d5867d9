"""A grading worker that dies (killed by the OS, a segfault) costs only the submission it was grading.

The fake runner runs the submission inside the worker process, so a submission that kills its own process kills
the worker, as the OOM killer or a crash in the trusted grading code would with a real runner.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from harness.batch import Journal, grade_batch
from tests.support import corpus_file

NEIGHBOURS = {
    "alice": "correct_bmm_style",
    "bob": "mistake_no_scale",
    "carol": "correct_packed_in_proj",
    "dave": "broken_forward_raises",
}
KILLS_ITSELF = "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
SEGFAULTS = "import ctypes\n\nctypes.string_at(0)\n"
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


def test_a_dead_worker_costs_only_its_own_submission(tmp_path):
    started = time.monotonic()
    calm = grade_batch(neighbours(tmp_path / "calm"), "mhsa", tmp_path / "calm-out", workers=2, runner="fake")
    calm_s = time.monotonic() - started
    assert calm.failures == 0

    source = neighbours(tmp_path / "hostile")
    (source / "killer.py").write_text(KILLS_ITSELF)
    (source / "segfault.py").write_text(SEGFAULTS)
    (source / "flaky.py").write_text(
        corpus_file("correct_bmm_style").read_text() + DIES_ONCE.format(marker=str(tmp_path / "flaky-died"))
    )
    started = time.monotonic()
    hostile = grade_batch(source, "mhsa", tmp_path / "hostile-out", workers=2, runner="fake")
    hostile_s = time.monotonic() - started

    before, after = cards(tmp_path / "calm-out"), cards(tmp_path / "hostile-out")
    for student in NEIGHBOURS:
        assert comparable(after[student]) == comparable(before[student]), student
    assert (tmp_path / "flaky-died").exists()  # it did kill its first worker, and was graded by the next
    assert after["flaky"]["status"] == "graded" and after["flaky"]["score"] == after["alice"]["score"]
    for student, signal_name in (("killer", "SIGKILL"), ("segfault", "SIGSEGV")):
        card = after[student]
        assert card["status"] == "internal_error", student
        assert "grading worker process died" in card["message"] and signal_name in card["message"], card["message"]
        assert "in each of the 2 workers that tried it" in card["message"]
    assert hostile.failures == 2 and hostile.total == 7
    journal_students = [
        json.loads(line)["student"] for line in (tmp_path / "hostile-out" / "journal.jsonl").read_text().splitlines()
    ]
    assert sorted(journal_students) == sorted([*NEIGHBOURS, "killer", "segfault", "flaky"])  # each exactly once
    again = grade_batch(source, "mhsa", tmp_path / "hostile-out", workers=2, runner="fake", resume=True)
    assert again.graded_now == 0 and sorted(Journal(tmp_path / "hostile-out").completed()) == sorted(journal_students)
    print(
        f"\nneighbours' scores { ({s: after[s]['score'] for s in NEIGHBOURS}) }, identical to the calm run's; "
        f"calm batch of {calm.total} in {calm_s:.1f} s, hostile batch of {hostile.total} in {hostile_s:.1f} s"
    )


def test_one_worker_also_survives_a_killer(tmp_path):
    source = tmp_path / "input"
    source.mkdir()
    (source / "a_killer.py").write_text(KILLS_ITSELF)
    shutil.copy(corpus_file("correct_bmm_style"), source / "b_honest.py")
    result = grade_batch(source, "mhsa", tmp_path / "out", workers=1, runner="fake")
    assert result.statuses == {"a_killer": "internal_error", "b_honest": "graded"}


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

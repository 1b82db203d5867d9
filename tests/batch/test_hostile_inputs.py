"""Batch inputs built by a hostile student: links out of the input, oversized files, files that break the parser.

Each must cost only its own student (a compile_error scorecard that says why), never the batch, in a folder and in
a zip; and `harness grade` refuses an oversized file the same way.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.batch import discover_submissions, grade_batch
from harness.cli import main
from tests.support import ROOT, corpus_file

CLASS = "MultiHeadSelfAttention"
REFERENCE = ROOT / "reference_solutions" / "mhsa" / "module.py"
SECRET_LINE = "host-secret: do not show this to students"
# ast.parse raises RecursionError on the first (a chain of 300,000 additions, 600 kB) and MemoryError on the second.
DEEP_ADDITIONS = "x = " + "a+" * 300_000 + "a\n"
DEEP_NEGATIONS = "y = " + "-" * 200_000 + "1\n"


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that costs no disk (a hole): its size is what a reader would have to read."""
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def hostile_folder(root: Path) -> Path:
    """One honest student, one whose extra file breaks the parser, and one student per way of cheating."""
    host = root / "host"
    host.mkdir()
    (host / "secret.txt").write_text(SECRET_LINE + "\n")
    (host / "elsewhere").mkdir()
    shutil.copy(REFERENCE, host / "elsewhere" / "attention.py")
    source = root / "input"
    source.mkdir()
    shutil.copy(corpus_file("correct_bmm_style"), source / "alice.py")
    (source / "ivan").mkdir()  # honest work plus a helper deep enough to exhaust the parser
    shutil.copy(corpus_file("correct_bmm_style"), source / "ivan" / "attention.py")
    (source / "ivan" / "deep.py").write_text(DEEP_ADDITIONS)
    (source / "ivan" / "deeper.py").write_text(DEEP_NEGATIONS)
    (source / "mallory.py").symlink_to(host / "secret.txt")  # a host file graded as the student's
    (source / "trudy.py").symlink_to(REFERENCE)  # the trusted reference graded as the student's
    (source / "eve").symlink_to(host / "elsewhere", target_is_directory=True)  # a linked student folder
    (source / "frank").mkdir()  # a link to the reference beside an innocent helper
    (source / "frank" / "attention.py").symlink_to(REFERENCE)
    (source / "frank" / "helpers.py").write_text("X = 1\n")
    (source / "frank" / "lib").symlink_to(host / "elsewhere", target_is_directory=True)
    (source / "grace").mkdir()  # a hard link to a host file
    os.link(host / "secret.txt", source / "grace" / "attention.py")
    sparse_file(source / "huge.py", 300 << 20)
    (source / "heidi").mkdir()  # the class in a file over the cap, a small helper beside it
    sparse_file(source / "heidi" / "attention.py", 2 << 20)
    (source / "heidi" / "helpers.py").write_text("X = 1\n")
    return source


REFUSED = {
    "mallory": "mallory.py is a symbolic link",
    "trudy": "trudy.py is a symbolic link",
    "eve": "eve/ is a symbolic link",
    "frank": "frank/attention.py is a symbolic link",
    "grace": "grace/attention.py is a hard link",
    "huge": "huge.py is 300 MiB, over the 1 MiB limit for a submission file",
    "heidi": "heidi/attention.py is 2 MiB, over the 1 MiB limit for a submission file",
}


def test_discovery_in_a_folder_follows_no_link_and_reads_no_oversized_file(tmp_path):
    found = {s.student: s for s in discover_submissions(hostile_folder(tmp_path), CLASS, tmp_path / "work")}
    assert sorted(found) == sorted(["alice", "ivan", *REFUSED])
    for student, words in REFUSED.items():
        assert found[student].path is None and words in found[student].refusal, (student, found[student])
    assert found["ivan"].path is not None and found["ivan"].path.name == "attention.py"
    assert found["alice"].path is not None and not found["alice"].refusal


def test_a_hostile_folder_costs_only_its_own_students(tmp_path):
    out = tmp_path / "out"
    result = grade_batch(hostile_folder(tmp_path), "mhsa", out, workers=1, runner="fake")
    assert result.total == 9 and result.failures == 0
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert sorted(rows) == sorted(["alice", "ivan", *REFUSED])
    assert rows["alice"]["status"] == rows["ivan"]["status"] == "graded"
    assert rows["ivan"]["score"] == rows["alice"]["score"] == "95"  # the fake runner measures no memory
    for student, words in REFUSED.items():
        card = json.loads((out / "scorecards" / f"{student}.json").read_text())
        assert card["status"] == "compile_error" and card["score"] == 0, student
        assert words in card["message"], (student, card["message"])
        assert card["submission"]["sha256"] == ""  # nothing of the file was read
    everything = "".join(p.read_text() for p in (out / "scorecards").glob("*.json"))
    assert SECRET_LINE not in everything
    assert json.loads((out / "summary.json").read_text())["status_counts"] == {"graded": 2, "compile_error": 7}


def hostile_zip(path: Path) -> Path:
    honest = corpus_file("correct_bmm_style").read_bytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("export/alice.py", honest)
        bundle.writestr("export/huge.py", b"# padding\n" * (30 << 20))  # 300 MiB: compresses about 1000 to 1
        bundle.writestr("export/ivan/attention.py", honest)
        bundle.writestr("export/ivan/deep.py", DEEP_ADDITIONS)
        bundle.writestr("export/ivan/deeper.py", DEEP_NEGATIONS)
        bundle.writestr("export/heidi/attention.py", b"x" * (2 << 20))
        bundle.writestr("export/heidi/helpers.py", b"X = 1\n")
        bundle.writestr("export/heidi/notes.txt", b"n" * (20 << 20))  # not Python: never inflated
    return path


def test_a_hostile_zip_costs_only_its_own_students(tmp_path):
    archive = hostile_zip(tmp_path / "export.zip")
    assert archive.stat().st_size < (2 << 20)
    found = {s.student: s for s in discover_submissions(archive, CLASS, tmp_path / "work")}
    assert "huge.py is 300 MiB, over the 1 MiB limit" in found["huge"].refusal
    assert "heidi/attention.py is 2 MiB, over the 1 MiB limit" in found["heidi"].refusal
    extracted = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert extracted < (1 << 20)  # only the small Python files were inflated
    out = tmp_path / "out"
    result = grade_batch(archive, "mhsa", out, workers=1, runner="fake")
    assert result.total == 4 and result.failures == 0
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert {s: r["status"] for s, r in rows.items()} == {
        "alice": "graded",
        "ivan": "graded",
        "huge": "compile_error",
        "heidi": "compile_error",
    }
    assert rows["ivan"]["score"] == rows["alice"]["score"]


def test_a_parser_breaking_file_alone_is_graded_as_a_compile_error_not_a_batch_failure(tmp_path):
    source = tmp_path / "input"
    source.mkdir()
    (source / "deep.py").write_text(DEEP_ADDITIONS)
    (source / "pair").mkdir()
    (source / "pair" / "a.py").write_text(DEEP_ADDITIONS)
    (source / "pair" / "b.py").write_text(f"class {CLASS}:\n    pass\n" + DEEP_NEGATIONS)
    found = {s.student: s for s in discover_submissions(source, CLASS, tmp_path / "work")}
    assert found["deep"].path is not None
    assert found["pair"].path is not None and found["pair"].path.name == "b.py"  # found without a parse tree


def test_grade_refuses_an_oversized_file_with_a_scorecard_and_follows_a_link_it_is_given(tmp_path):
    huge = sparse_file(tmp_path / "submission.py", 300 << 20)
    result = CliRunner().invoke(main, ["grade", str(huge), "--problem", "mhsa", "--runner", "fake"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["status"] == "compile_error" and card["score"] == 0
    assert "submission.py is 300 MiB, over the 1 MiB limit for a submission file" in card["message"]
    result = CliRunner().invoke(
        main, ["grade", str(huge), "--problem", "mhsa", "--runner", "fake", "--fail-under", "50"]
    )
    assert result.exit_code == 3
    link = tmp_path / "mine.py"  # the instructor names a link on the command line: that is their choice
    link.symlink_to(corpus_file("correct_bmm_style"))
    result = CliRunner().invoke(main, ["grade", str(link), "--problem", "mhsa", "--runner", "fake"])
    assert result.exit_code == 0 and json.loads(result.output)["status"] == "graded"


JUST_OVER = "1048577 bytes, over the 1 MiB (1048576 bytes)"


@pytest.mark.parametrize("size, shown", [(1 << 20, None), ((1 << 20) + 1, JUST_OVER)])
def test_the_cap_is_inclusive(tmp_path, size, shown):
    source = tmp_path / "input"
    source.mkdir()
    (source / "edge.py").write_bytes(b"#" * size)
    (found,) = discover_submissions(source, CLASS, tmp_path / "work")
    assert (found.path is None) == (shown is not None)
    if shown:
        assert f"edge.py is {shown} limit" in found.refusal

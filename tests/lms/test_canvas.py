"""Canvas: the download zip's file names, the gradebook roster, the matching and the gradebook CSV export.

The zip is built as Canvas builds one (lib/content_zipper.rb): flat, ``<name>[_LATE]_<user id>_<file id>_<file>``,
names stored as UTF-8 without the zip flag that says so; the roster as Canvas's gradebook export writes one.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.batch import discover_submissions, grade_batch
from harness.batch._canvas_names import canvas_name_part, parse_canvas_file_name
from harness.lms.canvas import (
    CanvasExportError,
    Roster,
    RosterError,
    canvas_csv,
    export_canvas,
    parse_assignment,
    read_roster,
)
from harness.models import Scorecard
from runners.base import ResourceUsage, RunnerReport
from tests.support import ROOT, corpus_file

CLASS = "MultiHeadSelfAttention"
ASSIGNMENT = "Multi-head attention (4242)"
CORRECT = corpus_file("correct_bmm_style").read_bytes()
BROKEN = corpus_file("broken_syntax_error").read_bytes()
ACCENTED = "müllerjosé_45678_70010_attention.py"
CANVAS_ZIP = {
    "smithjohn_12345_67890_attention.py": CORRECT,  # two files: the one defining the class is graded
    "smithjohn_12345_67891_a_helpers.py": b"HELPER = 1\n",
    "doejane_LATE_23456_70000_attention.py": CORRECT,  # late
    "leeann_34567_70001_attention.py": BROKEN,  # resubmitted: attention-1.py replaces it
    "leeann_34567_70005_attention-1.py": CORRECT,
    ACCENTED: CORRECT,
    "teamrocket_56789_70020_attention.py": CORRECT,  # a group submission, under one member's user id
    "ghost_99999_70030_attention.py": CORRECT,  # a user the roster does not have
    "notes.py": CORRECT,  # the instructor's stray file, not in Canvas's naming
    "smithjohn_12345_text.html": b"<p>an online text entry</p>",
}
STUDENTS = ["doejane_23456", "ghost_99999", "leeann_34567", "mullerjose_45678", "notes", "smithjohn_12345",
            "teamrocket_56789"]
ROSTER_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "Notes", "Lab 1 (111)",
                 ASSIGNMENT, "Current Score"]
ROSTER_ROWS = [
    ["Smith, John", "12345", "S001", "jsmith", "", "Section A", "", "9", "", "90"],
    ["Doe, Jane", "23456", "S002", "jdoe@uni.edu", "", "Section A", "", "", "", ""],
    ["Lee, Ann", "34567", "S003", "alee", "", "Section B", "", "7", "", ""],
    ["Müller, José", "45678", "S004", "jmuller", "", "Section B", "", "", "", ""],
    ["Oak, Sam", "56789", "S005", "soak", "", "Section B", "", "", "", ""],
    ["=HYPERLINK(\"http://evil.example\"), Eve", "67890", "+S006", "@eve", "", "-Section C", "", "", "", ""],
    ["Student, Test", "99990", "", "", "", "Section A", "", "", "", ""],
]


def write_canvas_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip whose names are UTF-8 bytes without the UTF-8 flag, as rubyzip (Canvas) writes them."""
    placeholders = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for index, (name, data) in enumerate(members.items()):
            raw = name.encode("utf-8")
            placeholder = f"Q{index:03d}".ljust(len(raw), "Q").encode("ascii")
            placeholders[placeholder] = raw
            bundle.writestr(placeholder.decode("ascii"), data)
    blob = path.read_bytes()
    for placeholder, raw in placeholders.items():
        assert blob.count(placeholder) == 2  # its local header and its central directory entry
        blob = blob.replace(placeholder, raw)
    path.write_bytes(blob)
    return path


def write_roster(path: Path, rows: list[list[str]] = ROSTER_ROWS, *, delimiter: str = ",",
                 encoding: str = "utf-8-sig") -> Path:
    """A gradebook export as Canvas writes it: header, a Manual Posting row, Points Possible, students."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(ROSTER_HEADER)
    writer.writerow(["", "", "", "", "", "", "", "", "Manual Posting", ""])
    writer.writerow(["    Points Possible", "", "", "", "", "", "", "10", "100", "(read only)"])
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def card(path: str, score: float, status: str = "graded", max_score: float = 100.0) -> Scorecard:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    return Scorecard(problem={"id": "mhsa", "version": "1.0"}, submission={"path": path, "sha256": ""},
                     status=status, score=score, max_score=max_score, items=[], resources=ResourceUsage(wall_s=0.0),
                     runner=RunnerReport(name="fake"), started_at=now, finished_at=now)


def exported_rows(text: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(header, Points Possible row, rows by ID) of an exported CSV, read back with csv."""
    header, points, *rows = list(csv.reader(io.StringIO(text)))
    return header, points, {row[1]: row for row in rows}


@pytest.fixture
def discovered(tmp_path):
    archive = write_canvas_zip(tmp_path / "submissions.zip", CANVAS_ZIP)
    return {s.student: s for s in discover_submissions(archive, CLASS, tmp_path / "work")}


@pytest.fixture
def scorecards(discovered):
    """A scorecard per discovered student, its path the file graded, scores set by hand."""
    scores = {"smithjohn_12345": 95.0, "doejane_23456": 7.5, "leeann_34567": 0.0, "mullerjose_45678": 88.0,
              "teamrocket_56789": 60.0, "ghost_99999": 50.0, "notes": 10.0}
    return {s: card(str(discovered[s].path), scores[s]) for s in discovered}


# ---- Canvas's file names ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "parts"), [
    ("smithjohn_12345_67890_attention.py", ("smithjohn", "12345", False, 67890, "attention.py")),
    ("doejane_LATE_23456_70000_attention-1.py", ("doejane", "23456", True, 70000, "attention-1.py")),
    ("doejane_late_23456_70000_my file (2).py", ("doejane", "23456", True, 70000, "my file (2).py")),
    (ACCENTED, ("müllerjosé", "45678", False, 70010, "attention.py")),
    ("o_brien_1_2_3_x.py", ("o_brien", "1", False, 2, "3_x.py")),  # the first _<digits>_ is the user id, as Canvas
    ("LATE_anon_x7Kq2_70011_attention.py", ("", "anon_x7Kq2", True, 70011, "attention.py")),
])
def test_canvas_file_names_are_read_as_canvas_writes_them(name, parts):
    parsed = parse_canvas_file_name(name)
    assert parsed is not None
    assert (parsed.name, parsed.user, parsed.late, parsed.file_id, parsed.original) == parts


@pytest.mark.parametrize("name", ["notes.py", "alice_123_attention.py", "smith john_1_2_x.py", "12345_67890.py"])
def test_other_names_are_not_canvas_names(name):
    assert parse_canvas_file_name(name) is None


def test_resubmission_suffix_and_the_name_part_canvas_derives():
    again = parse_canvas_file_name("leeann_34567_70005_attention-2.py")
    assert again is not None and (again.base_name, again.copy) == ("attention.py", 2)
    first = parse_canvas_file_name("leeann_34567_70001_attention.py")
    assert first is not None and (first.base_name, first.copy) == ("attention.py", 0)
    assert canvas_name_part("Müller, José") == "müllerjosé" and canvas_name_part("O'Brien_12_, Pat") == "obrien12pat"


# ---- discovery of a Canvas zip ------------------------------------------------------------------------------------

def test_a_canvas_zip_gives_one_student_per_canvas_user(discovered):
    assert sorted(discovered) == STUDENTS
    smith = discovered["smithjohn_12345"]
    assert smith.path is not None and smith.path.name == "smithjohn_12345_67890_attention.py"
    assert "2 Python files; graded smithjohn_12345_67890_attention.py" in smith.note
    lee = discovered["leeann_34567"]
    assert lee.path is not None and lee.path.name == "leeann_34567_70005_attention-1.py"
    assert "1 earlier upload(s) replaced" in lee.note
    doe = discovered["doejane_23456"]
    assert doe.path is not None and doe.path.name == "doejane_LATE_23456_70000_attention.py"
    muller = discovered["mullerjose_45678"]
    assert muller.path is not None and muller.path.name == ACCENTED  # the UTF-8 name, not cp437 mojibake
    assert discovered["notes"].path is not None and discovered["notes"].path.name == "notes.py"


def test_a_latest_upload_wins_by_file_id_whatever_the_order_in_the_zip(tmp_path):
    archive = write_canvas_zip(tmp_path / "s.zip", {
        "leeann_34567_70009_attention-2.py": CORRECT, "leeann_34567_70001_attention.py": BROKEN,
        "leeann_34567_70005_attention-1.py": BROKEN,
    })
    found = discover_submissions(archive, CLASS, tmp_path / "work")
    assert [(s.student, s.path.name if s.path else None) for s in found] == [
        ("leeann_34567", "leeann_34567_70009_attention-2.py")]
    assert "2 earlier upload(s) replaced" in found[0].note


def test_a_canvas_students_link_is_refused_and_never_followed(tmp_path):
    source = tmp_path / "downloads"
    source.mkdir()
    (source / "smithjohn_12345_67890_attention.py").symlink_to(ROOT / "reference_solutions" / "mhsa" / "module.py")
    (source / "smithjohn_12345_67891_helpers.py").write_text("HELPER = 1\n")
    (source / "doejane_23456_70000_attention.py").write_bytes(CORRECT)
    found = {s.student: s for s in discover_submissions(source, CLASS, tmp_path / "work")}
    assert sorted(found) == ["doejane_23456", "smithjohn_12345"]
    assert found["smithjohn_12345"].path is None and "symbolic link" in found["smithjohn_12345"].refusal
    assert found["doejane_23456"].path is not None


def test_an_oversized_canvas_file_is_that_students_refusal(tmp_path):
    archive = write_canvas_zip(tmp_path / "s.zip", {
        "bigbob_11111_70000_attention.py": b"#" * (2 << 20), "doejane_23456_70001_attention.py": CORRECT,
    })
    found = {s.student: s for s in discover_submissions(archive, CLASS, tmp_path / "work")}
    assert found["bigbob_11111"].path is None and "over the 1 MiB limit" in found["bigbob_11111"].refusal
    assert found["doejane_23456"].path is not None


def test_a_name_that_is_not_utf8_is_kept_as_the_zip_reads_it(tmp_path):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("plain.py", CORRECT)
    blob = archive.read_bytes().replace(b"plain.py", b"pl\x82in.py")  # cp437 'é', not valid UTF-8
    archive.write_bytes(blob)
    found = discover_submissions(archive, CLASS, tmp_path / "work")
    assert [s.student for s in found] == ["pl_in"] and found[0].path is not None


# ---- the roster ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("delimiter", "encoding"), [(",", "utf-8-sig"), (";", "utf-8"), ("\t", "utf-16")])
def test_a_gradebook_export_is_read_as_a_roster(tmp_path, delimiter, encoding):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv", delimiter=delimiter, encoding=encoding))
    assert [s.canvas_id for s in roster.students] == ["12345", "23456", "34567", "45678", "56789", "67890"]
    smith = roster.students[0]
    assert (smith.name, smith.sis_user_id, smith.sis_login_id, smith.section, smith.line) == (
        "Smith, John", "S001", "jsmith", "Section A", 4)
    assert roster.students[3].name == "Müller, José"
    assert roster.points_possible[ASSIGNMENT] == "100" and roster.points_possible["Lab 1 (111)"] == "10"
    assert roster.skipped == ("line 10: the test student of Student View (Student, Test)",)


def test_a_roster_with_names_split_and_canvas_quoting(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text('LastName,FirstName,ID,SIS Login ID,Section\n"Smith","John",12345,jsmith,A\n'
                    '"=""=cmd""",Eve,67890,eve,A\n', encoding="utf-8")
    roster = read_roster(path)
    assert [s.name for s in roster.students] == ["Smith, John", "=cmd, Eve"]  # ="=cmd" is Canvas's quoting of =cmd


@pytest.mark.parametrize(("content", "message"), [
    (b"Name,Email\nSmith,js@x\n", r"line 1: not a Canvas gradebook export: the header has no ID column"),
    (b"Person,ID,Section\nSmith,1,A\n", r"line 1: .*no Student column"),
    (b"Student,ID,Section\n    Points Possible,,\n\"Smith, John\",12x45,A\n",
     r"line 3: the ID '12x45' of 'Smith, John'"),
    (b"Student,ID,Section\nA,1,S\nB,2,S\nC,1,S\n", r"line 4: Canvas user id 1 is already the student of line 2"),
    (b"Student,ID,Section\n\"Smith, John\",1,S\n\"M\xfcller, Jos\xe9\",2,S\n", r"line 3: not UTF-8 text"),
    (b"Student,ID,Section\n\"Smith, John\",1,\"open quote\n", r"line 2: not readable as CSV"),
    (b"", r"empty"),
    (b"Student,ID,Section\n    Points Possible,,\n", r"no student rows"),
])
def test_a_bad_roster_is_an_error_that_names_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(RosterError, match=message) as raised:
        read_roster(path)
    assert str(path) in str(raised.value)


def test_a_missing_roster_is_an_error(tmp_path):
    with pytest.raises(RosterError, match="cannot be read"):
        read_roster(tmp_path / "absent.csv")


# ---- the assignment column ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "parsed"), [
    (ASSIGNMENT, ("Multi-head attention", "4242")),
    ("Lab (v2) (77)", ("Lab (v2)", "77")),
    ("  MHSA (5)  ", ("MHSA", "5")),
    ("Homework 3", ("Homework 3", None)),
    ("Lab (part 2)", ("Lab (part 2)", None)),
])
def test_the_assignment_title_and_id(given, parsed):
    assert parse_assignment(given) == parsed


@pytest.mark.parametrize("given", ["", "   ", "MHSA(4242)", "MHSA (#4242)", "MHSA ( 4242 )", "4242", " (12)",
                                   "two\nlines (1)", "tab\there (1)"])
def test_an_assignment_title_canvas_would_misread_is_refused(given):
    with pytest.raises(CanvasExportError, match="assignment"):
        parse_assignment(given)


def test_a_title_alone_is_allowed_with_a_warning(scorecards):
    export = canvas_csv(scorecards, "Multi-head attention")
    assert any("no assignment id" in w and "creates a new assignment" in w for w in export.warnings)
    assert exported_rows(export.text)[0][-1] == "Multi-head attention"


# ---- the export ---------------------------------------------------------------------------------------------------

def test_export_with_a_roster_puts_each_score_in_its_students_row(tmp_path, scorecards):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    export = canvas_csv(scorecards, ASSIGNMENT, roster)
    header, points, rows = exported_rows(export.text)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert points[0].strip() == "Points Possible" and points[-1] == "100"
    assert sorted(rows) == ["12345", "23456", "34567", "45678", "56789"] and export.exported == 5
    assert rows["12345"] == ["Smith, John", "12345", "S001", "jsmith", "Section A", "95"]
    assert rows["23456"][-1] == "7.5" and rows["34567"][-1] == "0" and rows["45678"][-1] == "88"
    assert rows["45678"][0] == "Müller, José"
    assert [row[1] for row in list(csv.reader(io.StringIO(export.text)))[2:]] == [
        "12345", "23456", "34567", "45678", "56789"]  # the roster's order
    unmatched = dict(entry.split(": ", 1) for entry in export.unmatched)
    assert sorted(unmatched) == ["ghost_99999", "notes"]
    assert "Canvas user id 99999 is not in the roster" in unmatched["ghost_99999"]
    assert "no roster student has this" in unmatched["notes"]
    assert any("teamrocket_56789" in w and "'Oak, Sam'" in w and "group submission" in w for w in export.warnings)
    assert any("test student" in w for w in export.warnings)


def test_export_without_a_roster_builds_rows_from_canvas_file_names(scorecards):
    export = canvas_csv(scorecards, ASSIGNMENT)
    _, points, rows = exported_rows(export.text)
    assert points[-1] == "100"
    assert sorted(rows) == ["12345", "23456", "34567", "45678", "56789", "99999"]
    assert rows["12345"] == ["smithjohn", "12345", "", "", "", "95"]
    assert rows["45678"][0] == "müllerjosé" and rows["45678"][-1] == "88"
    assert [entry.split(":")[0] for entry in export.unmatched] == ["notes"]
    assert "not in Canvas's download naming" in export.unmatched[0]
    assert any(w.startswith("no roster: the rows come from Canvas's file names") for w in export.warnings)


def test_student_text_that_would_be_a_formula_is_neutralised(tmp_path):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    cards = {"eve_67890": card("eve_67890_70040_attention.py", 42.0),  # matched by the roster's ID
             "-2+3_55555": card("-2+3_55555_70050_attention.py", 12.5)}
    with_roster = exported_rows(canvas_csv(cards, ASSIGNMENT, roster).text)[2]
    assert with_roster["67890"] == ["'=HYPERLINK(\"http://evil.example\"), Eve", "67890", "'+S006", "'@eve",
                                    "'-Section C", "42"]
    without = exported_rows(canvas_csv(cards, ASSIGNMENT).text)[2]
    assert without["55555"] == ["'-2+3", "55555", "", "", "", "12.5"]  # a name cell is text; the score is a number
    for row in (*with_roster.values(), *without.values()):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_quotes_commas_and_newlines_survive_the_round_trip(tmp_path):
    name = 'Quote "Q", New\nLine'
    row = [name, "56789", "", "", "", "A, B", "", "", "", ""]
    roster = read_roster(write_roster(tmp_path / "gradebook.csv", [row]))
    assert roster.students[0].name == name
    rows = exported_rows(canvas_csv({"qq_56789": card("qq_56789_70060_attention.py", 3.0)}, ASSIGNMENT, roster).text)[2]
    assert rows["56789"] == [name, "56789", "", "", "A, B", "3"]


@pytest.mark.parametrize(("cell", "shown"), [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                             ("\tx", "'\tx"), ("\rx", "'\rx"), ("Smith, John", "Smith, John"),
                                             ("", "")])
def test_the_formula_guard_of_a_text_cell(cell, shown):
    from harness.lms.canvas import _neutral

    assert _neutral(cell) == shown


def test_an_internal_error_is_never_exported(scorecards):
    scorecards["doejane_23456"] = scorecards["doejane_23456"].model_copy(update={"status": "internal_error"})
    export = canvas_csv(scorecards, ASSIGNMENT)
    assert "23456" not in exported_rows(export.text)[2]
    assert any(w.startswith("doejane_23456: not exported") and "internal_error" in w for w in export.warnings)


def test_matching_by_login_sis_id_or_name_and_never_a_guess(tmp_path):
    rows = [*ROSTER_ROWS[:4], ["Lee, Ann", "34568", "S007", "annlee", "", "Section C", "", "", "", ""]]
    roster = read_roster(write_roster(tmp_path / "gradebook.csv", rows))
    cards = {"jdoe": card("jdoe.py", 1.0),  # the part of an email login before the @
             "S001": card("S001/attention.py", 2.0),  # a SIS User ID
             "Muller_Jose": card("Muller_Jose.py", 3.0),  # a sortable name, accents dropped
             "Lee_Ann": card("Lee_Ann.py", 4.0),  # two students are called so
             "hw_2": card("hw_2.py", 5.0)}  # not a Canvas name, whatever its digits
    export = canvas_csv(cards, ASSIGNMENT, roster)
    rows_by_id = exported_rows(export.text)[2]
    assert {i: row[-1] for i, row in rows_by_id.items()} == {"23456": "1", "12345": "2", "45678": "3"}
    unmatched = dict(entry.split(": ", 1) for entry in export.unmatched)
    assert sorted(unmatched) == ["Lee_Ann", "hw_2"]
    assert "ambiguous" in unmatched["Lee_Ann"] and "34567" in unmatched["Lee_Ann"] and "34568" in unmatched["Lee_Ann"]


def test_two_submissions_of_one_student_are_both_reported(tmp_path, scorecards):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    scorecards["jsmith"] = card("jsmith.py", 12.0)  # the same student by login, beside their Canvas files
    export = canvas_csv(scorecards, ASSIGNMENT, roster)
    assert "12345" not in exported_rows(export.text)[2]
    both = [e for e in export.unmatched if "none of them is exported" in e]
    assert sorted(e.split(":")[0] for e in both) == ["jsmith", "smithjohn_12345"]


def test_an_ungraded_canvas_student_needs_the_roster_to_confirm_the_name(tmp_path):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    cards = {"smithjohn_12345": card("smithjohn_12345", 0.0, "compile_error"),  # refused: no file graded
             "impostor_23456": card("impostor_23456", 0.0, "compile_error")}
    export = canvas_csv(cards, ASSIGNMENT, roster)
    assert list(exported_rows(export.text)[2]) == ["12345"]
    assert [e.split(":")[0] for e in export.unmatched] == ["impostor_23456"]
    assert "no file of it was graded" in canvas_csv(cards, ASSIGNMENT).unmatched[0]


def test_a_whole_canvas_name_as_the_student_id_is_matched_by_its_user_id(tmp_path):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    cards = {"doejane_late_23456_70000_attention": card("doejane_late_23456_70000_attention.py", 9.0),
             "m_llerjos_45678_70010_attention": card("m_llerjos_45678_70010_attention.py", 8.0)}
    export = canvas_csv(cards, ASSIGNMENT, roster)
    assert {i: row[-1] for i, row in exported_rows(export.text)[2].items()} == {"23456": "9", "45678": "8"}
    assert export.unmatched == [] and not any("group submission" in w for w in export.warnings)


def test_anonymous_grading_is_reported_not_guessed(tmp_path):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    cards = {"anon_x7Kq2": card("anon_x7Kq2_70011_attention.py", 9.0)}
    export = canvas_csv(cards, ASSIGNMENT, roster)
    assert export.exported == 0 and "anonymously" in export.unmatched[0]


def test_the_roster_checks_the_assignment_and_its_points(tmp_path, scorecards):
    roster = read_roster(write_roster(tmp_path / "gradebook.csv"))
    assert not any("worth" in w for w in canvas_csv(scorecards, ASSIGNMENT, roster).warnings)
    tens = {s: c.model_copy(update={"max_score": 10.0}) for s, c in scorecards.items()}
    assert any("worth 100 points in Canvas but the rubric's maximum is 10" in w
               for w in canvas_csv(tens, ASSIGNMENT, roster).warnings)
    assert any("no column for assignment id 777" in w
               for w in canvas_csv(scorecards, "Multi-head attention (777)", roster).warnings)
    assert any("give that as the assignment" in w and ASSIGNMENT in w
               for w in canvas_csv(scorecards, "Multi-head attention", roster).warnings)


def test_the_summary_lists_every_unmatched_student(scorecards):
    summary = canvas_csv(scorecards, ASSIGNMENT).summary()
    assert summary.startswith("6 student(s) exported, 1 not matched") and "not matched: notes:" in summary


# ---- through a batch ----------------------------------------------------------------------------------------------

def test_a_canvas_zip_graded_as_a_batch_and_exported(tmp_path):
    started = time.monotonic()
    archive = write_canvas_zip(tmp_path / "submissions.zip", {
        "smithjohn_12345_67890_attention.py": CORRECT, "smithjohn_12345_67891_a_helpers.py": b"HELPER = 1\n",
        "doejane_LATE_23456_70000_attention.py": corpus_file("mistake_no_scale").read_bytes(),
        "notes.py": BROKEN,
    })
    out = tmp_path / "grades"
    result = grade_batch(archive, "mhsa", out, runner="fake", workers=1)
    assert result.failures == 0 and sorted(result.statuses) == ["doejane_23456", "notes", "smithjohn_12345"]
    export = export_canvas(out, ASSIGNMENT, write_roster(tmp_path / "gradebook.csv"))
    rows = exported_rows(export.text)[2]
    graded = {s: Scorecard.model_validate_json((out / "scorecards" / f"{s}.json").read_text())
              for s in ("smithjohn_12345", "doejane_23456")}
    assert rows["12345"][-1] == f"{graded['smithjohn_12345'].score:g}"
    assert rows["23456"][-1] == f"{graded['doejane_23456'].score:g}"
    assert graded["smithjohn_12345"].score > graded["doejane_23456"].score
    assert [e.split(":")[0] for e in export.unmatched] == ["notes"]
    assert time.monotonic() - started < 60


def test_export_needs_a_graded_batch(tmp_path):
    with pytest.raises(CanvasExportError, match="holds no graded batch"):
        export_canvas(tmp_path, ASSIGNMENT, None)
    with pytest.raises(CanvasExportError, match="assignment"):
        export_canvas(tmp_path, "MHSA(4242)", None)


def test_export_reports_scorecards_the_journal_does_not_hold(tmp_path):
    out = tmp_path / "grades"
    (out / "scorecards").mkdir(parents=True)
    (out / "journal.jsonl").write_text("")
    (out / "scorecards" / "smithjohn_12345.json").write_text(card("x.py", 1.0).model_dump_json())
    (out / "summary.json").write_text('{"pending": 2}')
    export = export_canvas(out, ASSIGNMENT, None)
    assert export.exported == 0
    assert any("not in the journal" in w and "smithjohn_12345" in w for w in export.warnings)
    assert any("2 submission(s) of the batch are not graded yet" in w for w in export.warnings)


def test_the_public_api_is_exactly_the_intended_one():
    import harness.lms.canvas as canvas

    assert sorted(canvas.__all__) == ["CanvasExport", "CanvasExportError", "Roster", "RosterError", "RosterStudent",
                                      "canvas_csv", "export_canvas", "parse_assignment", "read_roster"]
    assert issubclass(RosterError, CanvasExportError) and isinstance(Roster.__doc__, str)

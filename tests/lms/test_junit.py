from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from harness.reporters import REPORTERS, render_junit, render_junit_batch
from harness.reporters._safe_text import printable
from tests.lms.support_reports import NASTY, STATUSES, hidden_scorecard, item, junit_schema, scorecard
from tests.support import corpus_file


def parsed(xml: str) -> ET.Element:
    """The document, after checking it against the shipped XSD and that every suite's counts are its cases'."""
    junit_schema().validate(xml)
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites"
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(suite.get(attribute)) == sum(case.find(tag) is not None for case in cases), attribute
        assert all(len([c for c in case if c.tag in ("failure", "error", "skipped")]) <= 1 for case in cases)
    for attribute in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attribute)) == sum(int(s.get(attribute)) for s in root.iter("testsuite"))
    return root


def properties(suite: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in suite.find("properties")}


@pytest.fixture(scope="module")
def corpus_cards():
    from harness import grade

    return {stem: grade(corpus_file(stem), "mhsa", "fake") for stem in ("mistake_no_scale", "broken_syntax_error")}


def test_real_scorecards_validate_and_count(corpus_cards):
    for card in corpus_cards.values():
        suite = parsed(render_junit(card)).find("testsuite")
        assert [case.get("name").split(":")[0] for case in suite.findall("testcase")] == [i.id for i in card.items]
        assert suite.get("name") == card.submission.path
        assert properties(suite)["status"] == card.status


def test_graded_with_mistakes_reports_failures_and_the_named_mistake(corpus_cards):
    card = corpus_cards["mistake_no_scale"]
    suite = parsed(render_junit(card)).find("testsuite")
    failures = {case.get("name").split(":")[0] for case in suite.findall("testcase")
                if case.find("failure") is not None}
    assert failures == {i.id for i in card.items if i.status in ("failed", "partial")}
    assert "scaling" in failures
    assert properties(suite)["score"] == f"{card.score:g}"
    assert "mistake:no_scale" in properties(suite)


def test_compile_error_keeps_one_case_per_item_and_says_why(corpus_cards):
    card = corpus_cards["broken_syntax_error"]
    suite = parsed(render_junit(card)).find("testsuite")
    assert len(suite.findall("testcase")) == len(card.items)
    props = properties(suite)
    assert props["status"] == "compile_error" and "syntax error" in props["message"].lower()
    for case in suite.findall("testcase"):
        verdict = case.find("failure") if case.find("failure") is not None else case.find("skipped")
        assert verdict.text.startswith("Grading ended with compile_error: Syntax error at line 24")


def test_each_status_maps_to_its_element():
    suite = parsed(render_junit(scorecard())).find("testsuite")
    cases = {case.get("name").split(":")[0]: case for case in suite.findall("testcase")}
    passed = cases["item_passed"]
    assert [child.tag for child in passed] == ["system-out"]
    assert "Feedback on item_passed." in passed.find("system-out").text
    assert cases["item_failed"].find("failure").get("type") == "failed"
    assert cases["item_partial"].find("failure").get("type") == "partial"
    assert "Points: 2.5 / 5 (partial)" in cases["item_partial"].find("failure").text
    assert cases["item_error"].find("error").get("message") == "Feedback on item_error."
    assert cases["item_skipped"].find("skipped").get("message") == "Feedback on item_skipped."
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    assert all(case.get("classname") == "mhsa" and case.get("file") == "solution.py" for case in cases.values())


def test_suite_attributes_time_and_timestamp():
    suite = parsed(render_junit(scorecard())).find("testsuite")
    assert suite.get("time") == "2.250"
    assert suite.get("timestamp") == "2026-05-01T12:30:05"
    assert properties(suite)["problem_version"] == "1.0"


def test_the_secret_seed_is_not_in_the_report():
    assert "123456789" not in render_junit(scorecard())


def test_failure_message_is_the_first_line_bounded_and_the_text_has_everything():
    long_line = "word " * 100
    card = scorecard([item("long", "failed", feedback=f"\n\n{long_line}\nsecond line")])
    failure = parsed(render_junit(card)).find("testsuite/testcase/failure")
    assert len(failure.get("message")) <= 200 and failure.get("message").endswith("…")
    assert "second line" not in failure.get("message")
    assert "second line" in failure.text and "Points: 0 / 5 (failed)" in failure.text


@pytest.mark.parametrize("status", STATUSES)
def test_nasty_feedback_always_parses_and_reads_back_escaped(status):
    card = scorecard([item("nasty", status, feedback=NASTY)], message=NASTY,
                     logs={"stdout": NASTY, "stderr": "\x1b[2J" + NASTY})
    xml = render_junit(card)
    suite = parsed(xml).find("testsuite")
    case = suite.find("testcase")
    body = case[0].text
    assert printable(NASTY) in body  # everything is there, the forbidden characters as escapes
    assert "\\x00" in body and "\\x1b" in body and "\\ud800" in body and "\\u202e" in body
    assert "<script>" in body and case.find(".//script") is None  # text, never markup
    assert "\\x1b[2J" in suite.find("system-err").text
    assert properties(suite)["message"].startswith("boom \\x00")


def test_nasty_names_in_a_batch_still_parse():
    cards = {"stu.dent\x00<x>&\"'": scorecard(), "alice": scorecard(submission={"path": "a\ud800.py", "sha256": "1"})}
    root = parsed(render_junit_batch(cards, name="batch \x1b"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["stu.dent\\x00<x>&\"'", "alice"]
    assert suites[0].find("testcase").get("classname") == "mhsa.stu_dent\\x00<x>&\"'"
    assert root.get("name") == "batch \\x1b"


def test_batch_has_one_suite_per_student_and_totals():
    cards = {"alice": scorecard(), "bob": scorecard([item("only", "failed")], grading_s=1.0)}
    root = parsed(render_junit_batch(cards))
    assert [s.get("name") for s in root.findall("testsuite")] == ["alice", "bob"]
    assert (root.get("tests"), root.get("failures"), root.get("time")) == ("6", "3", "3.250")
    assert root.get("name") == "harness batch"
    assert {c.get("classname") for c in root.find("testsuite").findall("testcase")} == {"mhsa.alice"}


def test_an_empty_batch_is_a_valid_document():
    root = parsed(render_junit_batch({}))
    assert root.get("tests") == "0" and root.findall("testsuite") == []


def test_withheld_items_reveal_no_verdict_feedback_or_points():
    card = hidden_scorecard()
    xml = render_junit(card)
    assert "SECRET" not in xml
    suite = parsed(xml).find("testsuite")
    cases = {case.get("name").split(":")[0]: case for case in suite.findall("testcase")}
    assert cases["secret_pub"].find("skipped").get("message") == \
        "Hidden until grades are published. (5 points available)"
    assert "due date" in cases["secret_due"].find("skipped").get("message")
    assert "10 points available" in cases["secret_due"].find("skipped").get("message")
    assert [child.tag for child in cases["secret_hidden"]] == ["skipped"]
    props = properties(suite)
    assert props["score"] == "5"  # shown_pass only: the total would betray the hidden verdicts
    assert (props["max_score"], props["withheld_items"], props["withheld_max_points"]) == ("30", "3", "20")
    assert "mistake:shown_mistake" in props and "mistake:secret_mistake" not in props
    assert (suite.get("skipped"), suite.get("failures")) == ("3", "1")


def test_the_panel_can_see_withheld_items():
    xml = render_junit(hidden_scorecard(), reveal_hidden=True)
    suite = parsed(xml).find("testsuite")
    assert "SECRET-hidden" in xml and "SECRET-mistake" in xml
    assert properties(suite)["score"] == f"{hidden_scorecard().score:g}" and "withheld_items" not in properties(suite)
    assert render_junit_batch({"a": hidden_scorecard()}).count("SECRET") == 0
    assert "SECRET" in render_junit_batch({"a": hidden_scorecard()}, reveal_hidden=True)


def test_the_schema_is_not_vacuous():
    schema = junit_schema()
    good = render_junit(scorecard())
    assert schema.is_valid(good)
    for broken in (good.replace('name="item_passed: Title of item_passed" ', ""),  # a case without a name
                   good.replace('tests="5" failures="2"', 'tests="many" failures="2"', 1),
                   good.replace('time="2.250"', 'time="-1"', 1),
                   good.replace("<properties>", "<properties><bogus/>", 1),
                   good.replace("<failure ", "<skipped /><failure ", 1)):  # two outcomes for one case
        assert broken != good and not schema.is_valid(broken)


def test_registered_and_used_by_harness_grade(monkeypatch, tmp_path):
    import harness.cli

    assert REPORTERS["junit"] is render_junit
    card = scorecard()
    monkeypatch.setattr(harness.cli, "grade", lambda *args, **kwargs: card)
    (tmp_path / "solution.py").write_text("x = 1\n")
    out = tmp_path / "report.xml"
    result = CliRunner().invoke(harness.cli.main, ["grade", str(tmp_path / "solution.py"), "--problem", "mhsa",
                                                   "--runner", "fake", "--format", "junit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert parsed(out.read_text(encoding="utf-8")).find("testsuite").get("tests") == "5"

"""JUnit XML for CI systems: one ``<testsuite>`` per submission, one ``<testcase>`` per rubric item.

Written for what Jenkins' junit plugin, GitLab's unit test reports and the GitHub test-report actions read (the
structure is ``harness/schemas/junit.xsd``):

- a suite is named after the submission (its path, or the student id in a batch), with ``tests``, ``failures``,
  ``errors``, ``skipped``, ``time`` (the grading's seconds) and ``timestamp`` (UTC, ISO 8601 without a zone, the
  form the Ant schema requires), and ``<properties>``: score, max_score, status, message, problem id and version;
- a case has ``classname`` = the problem id (GitLab shows it as the case's suite; in a batch it is
  ``<problem>.<student>`` so that GitLab, which keeps only the first of two cases with the same names, keeps every
  student's), ``name`` = ``"<item id>: <title>"``, ``file`` = the submission, and ``time="0"`` (items are not timed
  one by one);
- failed and partial items get ``<failure message=... type="failed|partial">``, items in error ``<error>``, skipped
  items ``<skipped message=...>``; the message is the feedback's first line (200 characters at most), the element's
  text the whole feedback with the points; a passed item's feedback goes to its ``<system-out>``;
- when grading did not end ``graded`` (compile_error, timeout, ...) every item still has its case, and the status
  and its message open the text of each case that did not pass;
- items withheld from the candidate (see :mod:`._withheld`) are ``<skipped>`` with a notice and their points
  available, and the score property counts the shown items only;
- the submission's captured output is the suite's ``<system-out>``/``<system-err>``. The secret seed never appears.

Feedback is the candidate's text, so every string passes through :func:`._safe_text.printable`: characters XML 1.0
forbids (NUL, ESC, lone surrogates, ...) become escapes and the file always parses. ElementTree escapes the rest.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Literal

from ..models import Scorecard
from ..models.scorecard import ItemResult
from ._safe_text import bounded, first_line, printable
from ._withheld import CandidateView, notice

_MESSAGE_CHARS = 200
"""Longest ``message`` attribute: CI tables show it on one line (annotations cut near here too)."""
_TEXT_CHARS = 20_000
"""Longest element text; feedback is short, this bounds an item's evidence quoted back."""
_LOG_CHARS = 64_000
"""Longest captured stream kept in a suite (GitLab refuses report files over 30 MB; a batch has many suites)."""

Outcome = Literal["passed", "failure", "error", "skipped", "withheld"]
_OUTCOMES: dict[str, Outcome] = {
    "passed": "passed", "failed": "failure", "partial": "failure", "error": "error", "skipped": "skipped",
}


def render_junit(scorecard: Scorecard, *, reveal_hidden: bool = False) -> str:
    """The scorecard as a JUnit XML document with one test suite; withheld items are hidden unless revealed."""
    view = CandidateView(scorecard, reveal_hidden)
    suite = _suite(view, scorecard.submission.path, scorecard.problem.id)
    title = f"{scorecard.problem.id} v{scorecard.problem.version}"
    return _document(title, [suite], scorecard.grading_s)


def render_junit_batch(scorecards: Mapping[str, Scorecard], name: str = "harness batch", *,
                       reveal_hidden: bool = False) -> str:
    """One JUnit XML document with a test suite per student (named by its key), in the mapping's order."""
    suites = []
    for student, card in scorecards.items():
        classname = f"{card.problem.id}.{student.replace('.', '_')}"  # a dot would split the class in Jenkins
        suites.append(_suite(CandidateView(card, reveal_hidden), student, classname))
    return _document(name, suites, sum(card.grading_s for card in scorecards.values()))


def _document(name: str, suites: list[ET.Element], seconds: float) -> str:
    root = ET.Element("testsuites", {"name": printable(name)})
    for count in ("tests", "failures", "errors", "skipped"):
        root.set(count, str(sum(int(suite.get(count, "0")) for suite in suites)))
    root.set("time", _seconds(seconds))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _outcome(view: CandidateView, item: ItemResult) -> Outcome:
    return "withheld" if view.withheld(item) else _OUTCOMES[item.status]


def _suite(view: CandidateView, name: str, classname: str) -> ET.Element:
    card = view.scorecard
    counts = Counter(_outcome(view, item) for item in card.items)
    suite = ET.Element("testsuite", {
        "name": printable(name), "tests": str(len(card.items)), "failures": str(counts["failure"]),
        "errors": str(counts["error"]), "skipped": str(counts["skipped"] + counts["withheld"]),
        "time": _seconds(card.grading_s), "timestamp": _timestamp(card.started_at),
    })
    suite.append(_properties(view))
    for item in card.items:
        suite.append(_case(view, item, classname))
    for tag, text in (("system-out", card.logs.stdout), ("system-err", card.logs.stderr)):
        if text:
            ET.SubElement(suite, tag).text = printable(bounded(text, _LOG_CHARS))
    return suite


def _properties(view: CandidateView) -> ET.Element:
    card, shown = view.scorecard, view.score()
    values = {
        "score": f"{shown.score:g}", "max_score": f"{shown.max_score:g}", "status": card.status,
        "message": card.message, "problem_id": card.problem.id, "problem_version": card.problem.version,
        "submission_sha256": card.submission.sha256,
    }
    if shown.withheld_items:
        values.update(withheld_items=str(shown.withheld_items), withheld_max_points=f"{shown.withheld_points:g}")
    properties = ET.Element("properties")
    for key, value in values.items():
        ET.SubElement(properties, "property", {"name": key, "value": printable(value)})
    for diagnosis in view.diagnoses():
        ET.SubElement(properties, "property", {"name": f"mistake:{printable(diagnosis.id)}",
                                               "value": printable(first_line(diagnosis.message, _MESSAGE_CHARS))})
    return properties


def _case(view: CandidateView, item: ItemResult, classname: str) -> ET.Element:
    card = view.scorecard
    case = ET.Element("testcase", {
        "classname": printable(classname), "name": printable(f"{item.id}: {item.title}"),
        "file": printable(card.submission.path), "time": "0",
    })
    outcome = _outcome(view, item)
    if outcome == "withheld":
        ET.SubElement(case, "skipped", {"message": f"{notice(item)} ({item.max_points:g} points available)"})
        return case
    points = f"Points: {item.points:g} / {item.max_points:g} ({item.status})"
    if outcome == "passed":
        ET.SubElement(case, "system-out").text = printable(bounded(item.feedback, _TEXT_CHARS) + f"\n\n{points}")
        return case
    text = bounded(item.feedback, _TEXT_CHARS) + f"\n\n{points}"
    if card.status != "graded":
        text = f"Grading ended with {card.status}: {card.message}\n\n{text}"
    message = first_line(item.feedback, _MESSAGE_CHARS) or item.status
    attributes = {"message": printable(message)}
    if outcome != "skipped":
        attributes["type"] = item.status
    ET.SubElement(case, "skipped" if outcome == "skipped" else outcome, attributes).text = printable(text)
    return case


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")

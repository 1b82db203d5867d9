"""One submission's scorecard as a self-contained HTML page: for a panel to read, and to print as one page.

The page is a jinja2 template (``templates/report.html.j2``) with autoescaping on: every string from the scorecard
and every line of the source is the candidate's text and is escaped; the only markup added to it is the link of a
citation ("line 12", "cell 3, line 2"), made from digits the pattern matched. Nothing is loaded from the network:
the stylesheet is inline and the charts are inline SVG. Items withheld from the candidate are hidden unless
``reveal_hidden`` (see :mod:`._withheld`), exactly as in the markdown summary.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..models import Scorecard
from ..submission_source import CITATION, SourceSection, cited_lines, verified_sections
from . import _html_charts
from ._html_style import stylesheet
from ._safe_text import bounded, printable
from ._withheld import CandidateView, notice

_FEEDBACK_CHARS = 4_000
_EVIDENCE_CHARS = 300
_LOG_CHARS = 8_000
STATUS_WORDS = {"passed": "passed", "failed": "failed", "partial": "partial", "error": "error",
                "skipped": "not checked"}


@cache
def environment() -> jinja2.Environment:
    """The reports' template environment: the package's templates, autoescaped, undefined names an error."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.reporters", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["shown"] = lambda text, limit=_FEEDBACK_CHARS: printable(bounded(str(text), limit))
    return env


def line_anchor(cell: int | None, line: int) -> str:
    """The id of a source line in the page: ``L12``, or ``c3-L2`` in a notebook's third cell."""
    return f"L{line}" if cell is None else f"c{cell}-L{line}"


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    anchor: str
    cited: bool


@dataclass(frozen=True)
class _Section:
    label: str
    lines: list[_Line]


def _linked(text: str, anchors: set[str]) -> Markup:
    """``text`` escaped, with each citation of a line shown on the page turned into a link to it."""
    escaped = str(escape(printable(bounded(text, _FEEDBACK_CHARS))))

    def link(match: re.Match[str]) -> str:
        anchor = line_anchor(int(match["cell"]) if match["cell"] else None, int(match["line"]))
        return f'<a href="#{anchor}">{match.group(0)}</a>' if anchor in anchors else match.group(0)

    return Markup(CITATION.sub(link, escaped))  # noqa: S704 - escaped above; the pattern matched only digits


def _sections(sections: list[SourceSection] | None, cited: set[tuple[int | None, int]]) -> list[_Section]:
    if not sections:
        return []
    shown = []
    for section in sections:
        lines = [_Line(number, printable(text), line_anchor(section.cell, number), (section.cell, number) in cited)
                 for number, text in enumerate(section.lines, start=1)]
        shown.append(_Section(section.label, lines))
    return shown


def _evidence(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in list(evidence.items())[:20]:
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
        rows.append((printable(str(key))[:80], printable(bounded(text, _EVIDENCE_CHARS))))
    return rows


def measurements(scorecard: Scorecard, view: CandidateView | None = None) -> list[_html_charts.Measured]:
    """What the scorecard measured against the reference, from the items the view shows (every item without one).

    The timing item's details hold the candidate's and the reference's typical seconds per forward and the allowed
    ratio; the memory item's hold both peaks in MiB and the allowed peak. They are read by these keys, not by item
    id, so that any problem's benchmark items are drawn.
    """
    found: list[_html_charts.Measured] = []
    for item in scorecard.items:
        if view is not None and view.withheld(item):
            continue  # a withheld item's measurements are its verdict's evidence: not the candidate's to see
        details = item.details
        candidate, reference = _number(details, "candidate_s"), _number(details, "reference_s")
        if candidate is not None and reference is not None:
            allowed = _number(details, "allowed_ratio")
            found.append(_html_charts.Measured("Time per forward", "ms", 1000 * candidate, 1000 * reference,
                                               1000 * reference * allowed if allowed is not None else None))
        candidate, reference = _number(details, "candidate_peak_mb"), _number(details, "reference_peak_mb")
        if candidate is not None and reference is not None:
            found.append(_html_charts.Measured("Peak memory", "MiB", candidate, reference,
                                               _number(details, "allowed_mb")))
    return found


def _number(details: dict[str, Any], key: str) -> float | None:
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def performance_ratios(scorecard: Scorecard) -> dict[str, float]:
    """The candidate's time and peak memory over the reference's (``{"time": 1.04, "memory": 0.98}``), as measured."""
    names = {"ms": "time", "MiB": "memory"}
    return {names[m.unit]: m.ratio for m in measurements(scorecard) if m.ratio is not None}


def _resources(scorecard: Scorecard) -> list[tuple[str, str]]:
    usage = scorecard.resources
    return [("wall time", f"{usage.wall_s:.2f} s"),
            ("CPU time", f"{usage.cpu_s:.2f} s" if usage.cpu_s is not None else "not measured"),
            ("peak memory", f"{usage.peak_memory_mb:,.1f} MiB" if usage.peak_memory_mb is not None
             else "not measured")]


def render_html(scorecard: Scorecard, *, reveal_hidden: bool = False,
                sections: list[SourceSection] | None = None, back: tuple[str, str] | None = None) -> str:
    """The scorecard as one HTML page; withheld items are hidden unless ``reveal_hidden``.

    ``sections`` is the submission's source as the student wrote it; None looks for the graded file itself (shown
    only while its SHA-256 is the scorecard's), and an empty list shows none. ``back`` is (relative URL, words) of
    a page to return to: a class report's student pages link back to it.
    """
    view = CandidateView(scorecard, reveal_hidden)
    if sections is None:
        sections = verified_sections(scorecard)
    visible = [item for item in scorecard.items if not view.withheld(item)]
    texts = [scorecard.message, *(item.feedback for item in visible), *(d.message for d in view.diagnoses())]
    cited: set[tuple[int | None, int]] = set().union(*(cited_lines(text) for text in texts))
    shown_sections = _sections(sections, cited)
    anchors = {line.anchor for section in shown_sections for line in section.lines}
    items = [{"item": item, "withheld": view.withheld(item), "notice": notice(item) if view.withheld(item) else "",
              "status_word": STATUS_WORDS.get(item.status, item.status),
              "feedback": _linked(item.feedback, anchors)} for item in scorecard.items]
    diagnoses = [{"diagnosis": d, "message": _linked(d.message, anchors), "evidence": _evidence(d.evidence)}
                 for d in view.diagnoses()]
    output = scorecard.logs
    logs = [(name, text, size) for name, text, size in (("stdout", output.stdout, output.stdout_bytes),
                                                         ("stderr", output.stderr, output.stderr_bytes)) if text]
    measured = measurements(scorecard, view)
    shown = view.score()
    return environment().get_template("report.html.j2").render(
        card=scorecard, shown=shown, items=items, back=back, diagnoses=diagnoses, sections=shown_sections,
        message=_linked(scorecard.message, anchors) if scorecard.message else "",
        performance=_html_charts.comparison(measured, "Your code against the reference") if measured else None,
        measured=measured, resources=_resources(scorecard), logs=logs, log_chars=_LOG_CHARS,
        css=Markup(stylesheet()),  # noqa: S704 - the package's own stylesheet, no candidate text in it
        percent=100.0 * shown.score / shown.max_score if shown.max_score else 0.0,
        cited_count=sum(line.cited for section in shown_sections for line in section.lines))

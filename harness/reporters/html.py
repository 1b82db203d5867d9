"""One submission's scorecard as a self-contained HTML page: for a panel to read, and to print as one page.

The page is a jinja2 template (``templates/report.html.j2``) with autoescaping on: every string from the scorecard
and every line of the source is the candidate's text and is escaped; the only markup added to it is the link of a
citation ("line 12", "cell 3, line 2"), made from digits the pattern matched. Nothing is loaded from the network:
the stylesheet is inline and the charts are inline SVG. Items withheld from the candidate are hidden unless
``reveal_hidden`` (see :mod:`._withheld`), exactly as in the markdown summary.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..models import Scorecard
from ..submission_source import SourceSection, cited_lines, verified_sections
from . import _html_charts
from ._html_style import stylesheet
from ._safe_text import bounded, printable
from ._withheld import CandidateView, notice

_FEEDBACK_CHARS = 4_000
_EVIDENCE_CHARS = 300
_LOG_CHARS = 8_000
_CITATION = re.compile(r"\b(?:cell (?P<cell>\d+), )?line (?P<line>\d+)\b")
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

    return Markup(_CITATION.sub(link, escaped))  # noqa: S704 - escaped above; the pattern matched only digits


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


def performance_pairs(scorecard: Scorecard) -> dict[str, tuple[float, float]]:
    """What the scorecard measured against the reference: ``{"time_ms": (candidate, reference), "memory_mb": ...}``."""
    found: dict[str, tuple[float, float]] = {}
    for item in scorecard.items:
        details = item.details
        if isinstance(details.get("candidate_s"), (int, float)) and isinstance(details.get("reference_s"),
                                                                                  (int, float)):
            found["time_ms"] = (1000 * float(details["candidate_s"]), 1000 * float(details["reference_s"]))
        if isinstance(details.get("candidate_peak_mb"), (int, float)) and isinstance(
                details.get("reference_peak_mb"), (int, float)):
            found["memory_mb"] = (float(details["candidate_peak_mb"]), float(details["reference_peak_mb"]))
    return found


def _performance_chart(scorecard: Scorecard) -> _html_charts.Chart | None:
    pairs = performance_pairs(scorecard)
    if not pairs:
        return None
    rows: list[tuple[str, float, str]] = []
    tones: list[str] = []
    for key, unit, name in (("time_ms", "ms", "Time per forward"), ("memory_mb", "MiB", "Peak memory")):
        if key in pairs:
            candidate, reference = pairs[key]
            largest = max(candidate, reference) or 1.0
            rows += [(f"{name}: yours", candidate / largest, f"{candidate:.1f} {unit}"),
                     (f"{name}: reference", reference / largest, f"{reference:.1f} {unit}")]
            tones += ["bar", "reference"]
    return _html_charts.horizontal_bars(rows, "Your code against the reference", 1.0, tones)


def render_html(scorecard: Scorecard, *, reveal_hidden: bool = False,
                sections: list[SourceSection] | None = None) -> str:
    """The scorecard as one HTML page; the source is shown when given or when the graded file is still there."""
    view = CandidateView(scorecard, reveal_hidden)
    if sections is None:
        sections = verified_sections(scorecard)
    visible = [item for item in scorecard.items if not view.withheld(item)]
    texts = [scorecard.message, *(item.feedback for item in visible), *(d.message for d in view.diagnoses())]
    cited = set().union(*(cited_lines(text) for text in texts)) if texts else set()
    shown_sections = _sections(sections, cited)
    anchors = {line.anchor for section in shown_sections for line in section.lines}
    items = [{"item": item, "withheld": view.withheld(item), "notice": notice(item) if view.withheld(item) else "",
              "status_word": STATUS_WORDS.get(item.status, item.status),
              "feedback": _linked(item.feedback, anchors)} for item in scorecard.items]
    diagnoses = [{"diagnosis": d, "message": _linked(d.message, anchors), "evidence": _evidence(d.evidence)}
                 for d in view.diagnoses()]
    logs = [(name, bounded(text, _LOG_CHARS)) for name, text in (("stdout", scorecard.logs.stdout),
                                                                  ("stderr", scorecard.logs.stderr)) if text]
    shown = view.score()
    return environment().get_template("report.html.j2").render(
        card=scorecard, shown=shown, items=items, diagnoses=diagnoses, sections=shown_sections,
        message=_linked(scorecard.message, anchors) if scorecard.message else "",
        performance=_performance_chart(scorecard), logs=logs, css=Markup(stylesheet()),  # noqa: S704 - our own CSS
        percent=100.0 * shown.score / shown.max_score if shown.max_score else 0.0,
        cited_count=sum(line.cited for section in shown_sections for line in section.lines))

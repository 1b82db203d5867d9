"""A GitHub-flavoured markdown summary of a scorecard, for ``$GITHUB_STEP_SUMMARY`` (or a pull-request comment).

A heading with the score, the status, a table of the items (result, points, feedback), the named mistakes, and the
submission's output folded away. Items withheld from the candidate show as hidden (see :mod:`._withheld`).

Every string from the scorecard is the candidate's text as far as this module knows, and is written so that
markdown cannot read anything into it: unsafe characters become escapes (:func:`._safe_text.printable`), every ASCII
punctuation character is backslash-escaped (so no pipe ends a cell, no backtick opens a code span, no ``[text](url)``
or ``https://`` becomes a link, no ``*`` or ``_`` emphasis, no ``#`` heading), ``<``, ``>`` and ``&`` become
entities (so no ``<img>``, ``<script>`` or entity of the candidate's reaches the page), and line breaks become
``<br>`` (so no text leaves its table row). The only HTML in the output is the module's own.
"""

from __future__ import annotations

import re

from ..models import Scorecard
from ..models.scorecard import ItemResult
from ._safe_text import bounded, printable
from ._withheld import CandidateView, notice

_RESULTS = {
    "passed": "✅ passed", "failed": "❌ failed", "partial": "🟡 partial", "error": "⚠️ error", "skipped": "⏭️ skipped",
}
_WITHHELD = "🔒 hidden"
_CELL_CHARS = 1_500
"""Longest feedback shown in a cell; a step summary is refused whole above 1 MiB."""
_LOG_CHARS = 4_000
"""Longest stream of the submission's output shown (the scorecard keeps more)."""
_PUNCTUATION = re.compile(r"([!\"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])")


def render_markdown(scorecard: Scorecard, *, reveal_hidden: bool = False) -> str:
    """The scorecard as a markdown summary; withheld items are hidden unless ``reveal_hidden``."""
    view = CandidateView(scorecard, reveal_hidden)
    parts = [_heading(view), _table(view), _mistakes(view), _output(scorecard)]
    footer = f"<sub>Graded by mlgrade-harness, runner {inline(scorecard.runner.name)}, " \
             f"in {scorecard.grading_s:.1f} s.</sub>"
    return "\n\n".join([part for part in parts if part] + [footer]) + "\n"


def inline(text: object) -> str:
    """``text`` as markdown that renders exactly as the text, on one line (line breaks as ``<br>``)."""
    escaped = _PUNCTUATION.sub(r"\\\1", printable(text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\t", " ").replace("\n", "<br>")


def _heading(view: CandidateView) -> str:
    card, shown = view.scorecard, view.score()
    heading = f"## {inline(card.problem.id)} v{inline(card.problem.version)}: {shown.score:g} / {shown.max_score:g}"
    details = [f"**Status:** {inline(card.status)}" + (f": {inline(card.message)}" if card.message else ""),
               f"**Submission:** {inline(card.submission.path)}"]
    if shown.withheld_items:
        details.append(f"*{shown.withheld_items} items worth {shown.withheld_points:g} points are withheld from this "
                       "report; the score counts the items shown.*")
    return heading + "\n\n" + "  \n".join(details)


def _table(view: CandidateView) -> str:
    rows = ["| Item | Result | Points | Feedback |", "| --- | --- | ---: | --- |"]
    rows.extend(_row(view, item) for item in view.scorecard.items)
    return "\n".join(rows)


def _row(view: CandidateView, item: ItemResult) -> str:
    name = inline(f"{item.id}: {item.title}")
    if view.withheld(item):
        return f"| {name} | {_WITHHELD} | – / {item.max_points:g} | {inline(notice(item))} |"
    result = _RESULTS.get(item.status, inline(item.status))
    feedback = inline(bounded(item.feedback, _CELL_CHARS))
    return f"| {name} | {result} | {item.points:g} / {item.max_points:g} | {feedback} |"


def _mistakes(view: CandidateView) -> str:
    found = view.diagnoses()
    if not found:
        return ""
    return "### Named mistakes\n\n" + "\n".join(f"- **{inline(d.id)}**: {inline(d.message)}" for d in found)


def _output(card: Scorecard) -> str:
    streams = [(name, text) for name, text in (("stdout", card.logs.stdout), ("stderr", card.logs.stderr)) if text]
    if not streams:
        return ""
    blocks = [f"{name}:\n\n{fenced(bounded(text, _LOG_CHARS))}" for name, text in streams]
    return "<details><summary>Output of the submission</summary>\n\n" + "\n\n".join(blocks) + "\n\n</details>"


def fenced(text: str) -> str:
    """``text`` as a fenced code block whose fence no line of the text can close."""
    body = printable(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"

"""A readable terminal table of a scorecard (rich), also fine in a plain log.

Much of a scorecard is the candidate's text (exception messages, quoted code, the path they chose), so nothing from it
is ever given to rich as markup: every string goes in as a :class:`rich.text.Text`, and control characters (terminal
escape sequences) are shown, not sent.
"""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models import Scorecard

_STYLES = {"passed": "green", "partial": "yellow", "failed": "red", "error": "magenta", "skipped": "dim"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def literal(text: object, style: str = "") -> Text:
    """``text`` as rich shows it literally: no markup, and control or direction characters written as escapes."""
    shown = _CONTROL.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), str(text))
    return Text(shown, style=style)


def render_text(scorecard: Scorecard, width: int = 110, color: bool = False) -> str:
    """A summary line, one row per item with its feedback, and the resources used."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    console.print(
        literal(f"{scorecard.submission.path} — {scorecard.problem.id} v{scorecard.problem.version}", style="bold")
    )
    console.print(literal(f"status: {scorecard.status}   score: {scorecard.score:g} / {scorecard.max_score:g}"))
    if scorecard.message and scorecard.message != "Graded.":  # a notebook's note, or why it was not graded
        console.print(literal(scorecard.message))
    table = Table(show_lines=True, expand=True)
    table.add_column("item", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("feedback", ratio=1)
    for item in scorecard.items:
        table.add_row(
            literal(item.id),
            literal(item.status, style=_STYLES.get(item.status, "")),
            literal(f"{item.points:g}/{item.max_points:g}"),
            literal(item.feedback),
        )
    console.print(table)
    resources = scorecard.resources
    parts = [f"wall {resources.wall_s:.2f} s"]
    if resources.cpu_s is not None:
        parts.append(f"cpu {resources.cpu_s:.2f} s")
    if resources.peak_memory_mb is not None:
        parts.append(f"peak memory {resources.peak_memory_mb:.0f} MiB")
    runner = f"runner: {scorecard.runner.name}; " + ", ".join(parts) + f"; graded in {scorecard.grading_s:.2f} s"
    console.print(literal(runner))
    return buffer.getvalue()

"""A readable terminal table of a scorecard (rich), also fine in a plain log."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models import Scorecard

_STYLES = {"passed": "green", "partial": "yellow", "failed": "red", "error": "magenta", "skipped": "dim"}


def render_text(scorecard: Scorecard, width: int = 110, color: bool = False) -> str:
    """A summary line, one row per item with its feedback, and the resources used."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    console.print(Text(f"{scorecard.submission.path} — {scorecard.problem.id} v{scorecard.problem.version}",
                       style="bold"))
    console.print(f"status: {scorecard.status}   score: {scorecard.score:g} / {scorecard.max_score:g}")
    if scorecard.message and scorecard.status != "graded":
        console.print(scorecard.message)
    table = Table(show_lines=True, expand=True)
    table.add_column("item", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("feedback", ratio=1)
    for item in scorecard.items:
        table.add_row(item.id, Text(item.status, style=_STYLES.get(item.status, "")),
                      f"{item.points:g}/{item.max_points:g}", item.feedback)
    console.print(table)
    resources = scorecard.resources
    parts = [f"wall {resources.wall_s:.2f} s"]
    if resources.cpu_s is not None:
        parts.append(f"cpu {resources.cpu_s:.2f} s")
    if resources.peak_memory_mb is not None:
        parts.append(f"peak memory {resources.peak_memory_mb:.0f} MiB")
    console.print(f"runner: {scorecard.runner.name}; " + ", ".join(parts) + f"; graded in {scorecard.grading_s:.2f} s")
    return buffer.getvalue()

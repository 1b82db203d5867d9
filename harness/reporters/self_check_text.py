"""A self-check as a student reads it in a terminal: each item checked, what the full grading adds.

Like :mod:`.text`, nothing from the report is given to rich as markup (feedback quotes the student's code and
exception messages), and control characters are shown, not sent.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from ..models.self_check import SelfCheck
from .text import _STYLES, literal


def render_self_check_text(report: SelfCheck, width: int = 110) -> str:
    """The outcome, a row per checked item, the named mistakes, and what only the full grading decides."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True, highlight=False)
    console.print(literal(f"Self-check of {report.submission.path} against {report.problem.id} "
                          f"v{report.problem.version}", style="bold"))
    passed = sum(1 for item in report.items if item.status == "passed")
    console.print(literal(f"{passed} of {len(report.items)} checked items pass: {report.score:g} / "
                          f"{report.max_score:g} points of the {report.full_max_score:g} the full grading gives "
                          f"(status: {report.status})"))
    if report.message and report.message != "Graded.":
        console.print(literal(report.message))
    table = Table(show_lines=True, expand=True)
    for column, options in (("item", {"no_wrap": True}), ("status", {"no_wrap": True}),
                            ("points", {"justify": "right", "no_wrap": True}), ("feedback", {"ratio": 1})):
        table.add_column(column, **options)
    for item in report.items:
        table.add_row(literal(item.id), literal(item.status, style=_STYLES.get(item.status, "")),
                      literal(f"{item.points:g}/{item.max_points:g}"), literal(item.feedback))
    console.print(table)
    for diagnosis in report.diagnoses:
        console.print(literal(f"Named mistake {diagnosis.id}: {diagnosis.message}"))
    console.print(literal("The full grading adds:"))
    for sentence in report.full_grading_adds:
        console.print(literal(f"  - {sentence}"))
    console.print(literal(f"Checked in {report.wall_s:.2f} s."))
    return buffer.getvalue()


def render_self_check_json(report: SelfCheck) -> str:
    """The report as indented JSON (``harness check --format json``)."""
    return report.model_dump_json(indent=2) + "\n"

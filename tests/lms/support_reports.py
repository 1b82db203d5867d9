"""Scorecards built by hand for the JUnit, markdown and workflow tests, and the XSD they validate against."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

from harness.models import Scorecard
from harness.models.scorecard import Diagnosis, ItemResult
from runners.base import CapturedOutput, ResourceUsage, RunnerReport

# Everything a candidate's exception message or printout could put in feedback that might break a report: XML's
# forbidden characters (NUL, ESC, BEL, lone surrogates, U+FFFE), markdown's table, code, link, image, emphasis, math
# and HTML syntax, a CDATA end, an XML comment end, CRLF and a direction override.
NASTY = (
    "boom \x00\x1b[31mred\x07 | a pipe `tick` ``two`` <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "[click](https://evil.example) https://evil.example/x www.evil.example ![i](https://evil.example/i.png) "
    "**bold** _em_ ~~strike~~ $x^2$ &amp; &lt; \\| \ud800 lone \udfff \ufffe \u202e evil \r\nCRLF\n"
    "# heading\n- list\n| --- | --- |\n```\nfence\n]]> --> <!-- comment <![CDATA[x]]> \"quote' end"
)
STATUSES = ["passed", "failed", "partial", "error", "skipped"]


def item(item_id: str, status: str = "passed", points: float | None = None, max_points: float = 5.0,
         feedback: str | None = None, visibility: str = "visible") -> ItemResult:
    if points is None:
        points = {"passed": max_points, "partial": max_points / 2}.get(status, 0.0)
    return ItemResult(id=item_id, title=f"Title of {item_id}", status=status, points=points, max_points=max_points,
                      visibility=visibility, feedback=feedback if feedback is not None else f"Feedback on {item_id}.")


def scorecard(items: list[ItemResult] | None = None, **fields: Any) -> Scorecard:
    """A scorecard over ``items`` (one of each status by default); ``fields`` override the rest."""
    items = items if items is not None else [item(f"item_{status}", status) for status in STATUSES]
    values: dict[str, Any] = {
        "problem": {"id": "mhsa", "version": "1.0"},
        "submission": {"path": "solution.py", "sha256": "0" * 64},
        "status": "graded", "message": "Graded.",
        "score": sum(i.points for i in items), "max_score": sum(i.max_points for i in items),
        "items": items, "diagnoses": [], "resources": ResourceUsage(wall_s=1.5), "logs": CapturedOutput(),
        "runner": RunnerReport(name="fake"), "grading_s": 2.25, "seed": 123456789,
        "started_at": datetime(2026, 5, 1, 12, 30, 5, 250000, tzinfo=timezone.utc),
        "finished_at": datetime(2026, 5, 1, 12, 30, 7, tzinfo=timezone.utc),
    }
    values.update(fields)
    return Scorecard.model_validate(values)


def hidden_scorecard() -> Scorecard:
    """Two visible items and one of each withheld visibility; a mistake tied only to a hidden item."""
    items = [
        item("shown_pass", "passed"), item("shown_fail", "failed", feedback="Visible feedback."),
        item("secret_hidden", "failed", feedback="SECRET-hidden: config 'huge' differs", visibility="hidden"),
        item("secret_due", "passed", max_points=10, feedback="SECRET-due passed", visibility="after_due_date"),
        item("secret_pub", "partial", feedback="SECRET-published partial", visibility="after_published"),
    ]
    diagnoses = [Diagnosis(id="secret_mistake", message="SECRET-mistake", items=["secret_hidden"]),
                 Diagnosis(id="shown_mistake", message="A visible mistake.", items=["shown_fail", "secret_pub"])]
    return scorecard(items, diagnoses=diagnoses)


@cache
def junit_schema() -> Any:
    """The shipped JUnit XSD as an ``xmlschema`` validator (tests needing it skip when it is not installed)."""
    import pytest

    xmlschema = pytest.importorskip("xmlschema", reason="the JUnit XSD tests need xmlschema (dev extra)")
    source = resources.files("harness.schemas").joinpath("junit.xsd").read_text(encoding="utf-8")
    return xmlschema.XMLSchema(source)

"""Reporters render a :class:`~harness.models.Scorecard`; models never render themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ..models import Scorecard
from .html import render_html
from .json_reporter import render_json
from .junit import render_junit, render_junit_batch
from .markdown import render_markdown
from .text import render_text

Reporter = Callable[[Scorecard], str]
REPORTERS: dict[str, Reporter] = {
    "json": render_json, "text": render_text, "junit": render_junit, "markdown": render_markdown,
    "html": render_html,
}


class ScorecardFileError(ValueError):
    """A file that should hold a JSON scorecard is missing, unreadable or not a valid scorecard."""


def load_scorecard(path: Path) -> Scorecard:
    """The scorecard in ``path`` (as ``harness grade --out`` writes it); errors name the file and the field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorecardFileError(f"{path}: cannot read the scorecard: {exc}") from exc
    try:
        return Scorecard.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = exc.error_count() - 1
        raise ScorecardFileError(f"{path}: not a scorecard: {where}: {first['msg']}"
                                 + (f" (and {more} more)" if more else "")) from exc


def render_file(path: Path, fmt: str) -> str:
    """The scorecard in ``path`` rendered by reporter ``fmt`` (one of :data:`REPORTERS`): grade once, render often."""
    if fmt not in REPORTERS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(sorted(REPORTERS))}")
    return REPORTERS[fmt](load_scorecard(path))


__all__ = [
    "REPORTERS", "Reporter", "ScorecardFileError", "load_scorecard", "render_file", "render_html", "render_json",
    "render_junit",
    "render_junit_batch", "render_markdown", "render_text",
]

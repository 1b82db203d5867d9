"""Reporters render a :class:`~harness.models.Scorecard`; models never render themselves."""

from __future__ import annotations

from collections.abc import Callable

from ..models import Scorecard
from .json_reporter import render_json
from .text import render_text

Reporter = Callable[[Scorecard], str]
REPORTERS: dict[str, Reporter] = {"json": render_json, "text": render_text}

__all__ = ["REPORTERS", "Reporter", "render_json", "render_text"]

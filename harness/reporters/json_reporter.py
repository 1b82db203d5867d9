"""The JSON scorecard, as validated by ``harness/schemas/scorecard.schema.json``."""

from __future__ import annotations

from ..models import Scorecard


def render_json(scorecard: Scorecard) -> str:
    """The scorecard as indented JSON with a trailing newline."""
    return scorecard.model_dump_json(indent=2) + "\n"

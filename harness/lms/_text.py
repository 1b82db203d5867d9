"""Text that an LMS renders: the scorecard's feedback carries the candidate's words, so it is escaped and bounded."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~-])")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    kept = max(0, limit - 40)
    return text[:kept] + f" … [{len(text) - kept} characters left out]"


def markdown_literal(text: str) -> str:
    """``text`` shown as itself in markdown: every character markdown or HTML gives a meaning is escaped or an entity.

    Control characters are dropped; newlines stay (as line breaks), so feedback keeps its paragraphs.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub("", text))
    # HTML's own characters as entities: a markdown renderer passes raw HTML through, entities never.
    return re.sub(r"[&<>]", lambda match: _HTML_ENTITIES[match.group(0)], escaped)

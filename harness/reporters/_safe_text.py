r"""Candidate text made safe to place in a report: characters no reader should receive are written as escapes.

A scorecard's feedback quotes the candidate (exception messages, file names, printed output), so it can hold any
code point Python can: NUL and other C0/C1 controls, terminal escape sequences, lone surrogates (from bytes decoded
with ``surrogateescape``), U+FFFE/U+FFFF, and the zero-width and direction-override characters that make text read
differently from what it says. XML 1.0 forbids most of these outright (a parser rejects the whole file), and the rest
mislead a reviewer, so each one is replaced by its Python escape (``\x1b``, ``\ud800``, ``\u202e``): the file
stays valid and the reader still sees that something was there.
"""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production (tab and line feed are kept; carriage returns are turned into line
# feeds first), plus C1 controls, zero-width characters and bidirectional overrides/isolates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def printable(text: object) -> str:
    r"""``text`` with line endings made ``\n`` and every unsafe character written as its Python escape."""
    normalised = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), normalised)


def first_line(text: str, limit: int) -> str:
    """The first non-blank line of ``text``, cut to ``limit`` characters with an ellipsis when longer."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def bounded(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n[… {len(text) - limit} more characters not shown]"

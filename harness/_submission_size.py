"""The cap on a submission file's size, shared by `harness grade` and `harness batch`.

A source file for these problems is a few kilobytes; anything near a megabyte is an accident or an attack (a file
that costs the host memory when it is read, hashed and parsed, or that runners copy differently). The cap is checked
on the file's metadata before any of its bytes are read.
"""

from __future__ import annotations

MAX_SUBMISSION_BYTES = 1 << 20


def format_size(size: int) -> str:
    """``1048576`` -> ``"1 MiB"``, ``314572800`` -> ``"300 MiB"``, ``1536`` -> ``"1.5 KiB"``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def over_limit_reason(size: int, limit: int = MAX_SUBMISSION_BYTES) -> str:
    """What is wrong with a file that is too large, to follow its name."""
    shown, cap = format_size(size), format_size(limit)
    if shown == cap:  # just over: rounded, the two would read the same
        shown, cap = f"{size} bytes", f"{cap} ({limit} bytes)"
    return f"is {shown}, over the {cap} limit for a submission file"


def over_limit_message(name: str, size: int, limit: int = MAX_SUBMISSION_BYTES) -> str:
    """The sentence a student reads when their file is too large to grade."""
    return f"{name} {over_limit_reason(size, limit)}"

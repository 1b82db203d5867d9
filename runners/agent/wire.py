"""Framing of the messages that cross the sandbox boundary.

A frame is: 4 magic bytes, the header length (u32, big-endian), the blob length (u64, big-endian), a UTF-8 JSON
header, then the blob. Blobs carry tensors as safetensors bytes. Nothing is ever pickled. Readers enforce size caps
so that a hostile child cannot make the harness allocate without bound.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import struct
import time
from typing import Any

MAGIC = b"HGW1"
_PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_DEPTH = 32
"""Deepest nesting of arrays and objects a header may have: the protocol needs four levels; json.loads recurses."""

# A JSON string, escapes included (brackets inside strings nest nothing). An unterminated one runs to the end of
# the text, so that every match succeeds where it starts and the scan stays linear on hostile input.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


class WireError(Exception):
    """The peer broke the framing protocol (bad magic, oversized frame, truncated stream)."""


class WireTimeout(WireError):
    """No complete frame arrived before the deadline."""


class WireClosed(WireError):
    """The peer closed the channel before a complete frame arrived."""


def encode_frame(header: dict[str, Any], blob: bytes = b"") -> bytes:
    """Serialise one frame."""
    head = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    return _PREFIX.pack(MAGIC, len(head), len(blob)) + head + blob


def write_frame(fd: int, header: dict[str, Any], blob: bytes = b"", deadline: float | None = None) -> None:
    """Write one frame; with a ``deadline`` (a ``time.monotonic()`` value) give up when the peer stops reading."""
    data = memoryview(encode_frame(header, blob))
    while data:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireTimeout("timed out writing to the peer")
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                raise WireTimeout("timed out writing to the peer")
        try:
            written = os.write(fd, data[: 1 << 16] if deadline is not None else data)
        except BrokenPipeError as exc:
            raise WireClosed("the peer closed the channel") from exc
        data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireTimeout("timed out waiting for the peer")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise WireTimeout("timed out waiting for the peer")
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            raise WireClosed(f"channel closed after {len(chunks)} of {size} bytes")
        chunks += chunk
    return bytes(chunks)


def json_depth(text: bytes) -> int:
    """How deeply arrays and objects nest in ``text`` (JSON bytes), counted without parsing it.

    Linear in the size of ``text`` and without recursion, so that a hostile header is measured before
    ``json.loads`` (which recurses once per level) ever sees it. Malformed text gets some number; the parser
    refuses it afterwards.
    """
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKETS)
    steps = (1 if byte in (0x5B, 0x7B) else -1 for byte in brackets)
    return max(itertools.accumulate(steps, initial=0))


def depth_within(text: bytes, cap: int) -> int:
    """How deeply ``text`` nests, or any number up to ``cap`` when it cannot exceed it (no scan is needed then)."""
    # Nesting never exceeds the number of opening brackets: most texts need no scan at all.
    openings = text.count(b"[") + text.count(b"{")
    return json_depth(text) if openings > cap else openings


def parse_header(text: bytes) -> dict[str, Any]:
    """Decode a frame header: a JSON object of bounded nesting, or ``WireError``."""
    depth = depth_within(text, MAX_HEADER_DEPTH)
    if depth > MAX_HEADER_DEPTH:
        raise WireError(f"frame header nests {depth} levels deep, over the cap of {MAX_HEADER_DEPTH}")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, or an integer of too many digits
        raise WireError(f"frame header is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(header, dict):
        raise WireError("frame header is not a JSON object")
    return header


def read_frame(fd: int, max_blob_bytes: int, deadline: float | None = None) -> tuple[dict[str, Any], bytes]:
    """Read one frame; ``deadline`` is a ``time.monotonic()`` value, or None to wait forever.

    The blob's announced length is checked against ``max_blob_bytes`` before a byte of it is read.
    """
    magic, head_len, blob_len = _PREFIX.unpack(_read_exact(fd, _PREFIX.size, deadline))
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if head_len > MAX_HEADER_BYTES:
        raise WireError(f"frame header of {head_len} bytes exceeds the {MAX_HEADER_BYTES} byte cap")
    if blob_len > max_blob_bytes:
        raise WireError(f"frame blob of {blob_len} bytes exceeds the {max_blob_bytes} byte cap")
    header = parse_header(_read_exact(fd, head_len, deadline))
    blob = _read_exact(fd, blob_len, deadline) if blob_len else b""
    return header, blob

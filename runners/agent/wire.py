"""Framing of the messages that cross the sandbox boundary.

A frame is: 4 magic bytes, the header length (u32, big-endian), the blob length (u64, big-endian), a UTF-8 JSON
header, then the blob. Blobs carry tensors as safetensors bytes. Nothing is ever pickled. Readers enforce size caps
so that a hostile child cannot make the harness allocate without bound.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

MAGIC = b"HGW1"
_PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20


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


def read_frame(
    fd: int, max_blob_bytes: int, deadline: float | None = None
) -> tuple[dict[str, Any], bytes]:
    """Read one frame; ``deadline`` is a ``time.monotonic()`` value, or None to wait forever."""
    magic, head_len, blob_len = _PREFIX.unpack(_read_exact(fd, _PREFIX.size, deadline))
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if head_len > MAX_HEADER_BYTES:
        raise WireError(f"frame header of {head_len} bytes exceeds the {MAX_HEADER_BYTES} byte cap")
    if blob_len > max_blob_bytes:
        raise WireError(f"frame blob of {blob_len} bytes exceeds the {max_blob_bytes} byte cap")
    try:
        header = json.loads(_read_exact(fd, head_len, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"frame header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise WireError("frame header is not a JSON object")
    blob = _read_exact(fd, blob_len, deadline) if blob_len else b""
    return header, blob

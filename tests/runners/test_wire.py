from __future__ import annotations

import os
import struct
import threading
import time

import pytest

from runners.agent.wire import (
    MAGIC,
    MAX_HEADER_BYTES,
    WireClosed,
    WireError,
    WireTimeout,
    encode_frame,
    json_depth,
    read_frame,
    write_frame,
)


def test_frame_round_trip():
    read_fd, write_fd = os.pipe()
    write_frame(write_fd, {"op": "x", "n": [1, 2]}, b"blob")
    assert read_frame(read_fd, 100, time.monotonic() + 1) == ({"op": "x", "n": [1, 2]}, b"blob")


def test_oversized_blob_is_refused_before_it_is_read():
    read_fd, write_fd = os.pipe()
    os.write(write_fd, encode_frame({"op": "x"}, b"0" * 64))
    with pytest.raises(WireError, match="exceeds"):
        read_frame(read_fd, 16, time.monotonic() + 1)


def test_bad_magic_and_non_object_header_are_refused():
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"EVIL" + encode_frame({"a": 1})[4:])
    with pytest.raises(WireError, match="magic"):
        read_frame(read_fd, 16, time.monotonic() + 1)
    read_fd, write_fd = os.pipe()
    frame = encode_frame({"a": 1})
    os.write(write_fd, frame.replace(b'{"a":1}', b"[1,2,3]"))
    with pytest.raises(WireError, match="not a JSON object"):
        read_frame(read_fd, 16, time.monotonic() + 1)


def test_silence_times_out_and_closure_is_detected():
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    with pytest.raises(WireTimeout):
        read_frame(read_fd, 16, time.monotonic() + 0.2)
    assert time.monotonic() - started < 1.0
    os.write(write_fd, encode_frame({"op": "x"}, b"abc")[:10])
    os.close(write_fd)
    with pytest.raises(WireClosed):
        read_frame(read_fd, 16, time.monotonic() + 1)


def test_nesting_is_measured_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(b'["\\"[[", []]') == 2
    assert json_depth(b'"unterminated [[[') == 0


def test_a_deeply_nested_header_is_refused_before_it_is_parsed():
    read_fd, write_fd = os.pipe()
    head = b'{"op":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    os.write(write_fd, MAGIC + struct.pack(">IQ", len(head), 0))
    writer = threading.Thread(target=os.write, args=(write_fd, head))
    writer.start()
    with pytest.raises(WireError, match="nests"):
        read_frame(read_fd, 0, time.monotonic() + 5)
    writer.join()


def test_headers_json_cannot_parse_are_wire_errors():
    for head in (b'{"n": ' + b"9" * 5000 + b"}", b'{"a": "\xff"}'):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, MAGIC + struct.pack(">IQ", len(head), 0) + head)
        with pytest.raises(WireError, match="not JSON"):
            read_frame(read_fd, 0, time.monotonic() + 1)


def test_measuring_a_hostile_header_takes_linear_time():
    """Escaped quotes with no closing one made a naive string pattern retry from every quote (quadratic)."""
    started = time.monotonic()
    for text in (b'"' + b'\\"' * (1 << 19), b'["' * (1 << 19), b"[" * MAX_HEADER_BYTES):
        json_depth(text)
    assert time.monotonic() - started < 5

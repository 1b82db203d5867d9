from __future__ import annotations

import os
import time

import pytest

from runners.agent.wire import WireClosed, WireError, WireTimeout, encode_frame, read_frame, write_frame


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

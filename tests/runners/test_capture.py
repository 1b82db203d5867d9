"""The output capture keeps head and tail, and once told to withhold keeps nothing more to the end."""

from __future__ import annotations

import os
import time

from runners._capture import WITHHELD_NOTE, CappedStream, withhold_all


def _wait_for(stream: CappedStream, total: int) -> None:
    deadline = time.monotonic() + 5
    while stream.total + stream.withheld < total and time.monotonic() < deadline:
        time.sleep(0.01)


def test_nothing_after_withholding_is_kept_however_late_it_comes():
    read_fd, write_fd = os.pipe()
    stream = CappedStream(read_fd, 1024)
    os.write(write_fd, b"visible shape (5, 3, 8)\n")
    _wait_for(stream, 24)
    withhold_all(stream)()
    os.write(write_fd, b"hidden shape (11, 3, 20)\n")
    time.sleep(0.05)
    os.write(write_fd, b"a late thread: (11, 3, 20)\n")
    os.close(write_fd)
    text = stream.text()
    assert "visible shape (5, 3, 8)" in text
    assert "11, 3, 20" not in text
    assert text.endswith(WITHHELD_NOTE + "\n")
    # Neither the text nor the count the scorecard shows tells how much was printed after.
    assert stream.total == 24 and stream.withheld == 52
    assert not stream.truncated


def test_the_note_is_given_even_when_nothing_was_printed():
    read_fd, write_fd = os.pipe()
    stream = CappedStream(read_fd, 64)
    stream.withhold()
    os.close(write_fd)
    assert stream.text() == WITHHELD_NOTE + "\n"


def test_without_withholding_the_capture_is_unchanged():
    read_fd, write_fd = os.pipe()
    stream = CappedStream(read_fd, 16)
    os.write(write_fd, b"a" * 8 + b"b" * 100 + b"c" * 8)
    os.close(write_fd)
    text = stream.text()
    assert text.startswith("a" * 8) and text.endswith("c" * 8) and "bytes omitted" in text
    assert WITHHELD_NOTE not in text and stream.truncated

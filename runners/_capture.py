"""Capture of a child's output stream with a cap: the head and the tail are kept, the middle is counted.

Once told to withhold (hidden checks have begun), the stream keeps nothing more until it ends: whatever the
candidate's code prints from then on, from any thread and however late, could describe a hidden configuration.
"""

from __future__ import annotations

import collections
import fcntl
import os
import struct
import termios
import threading
import time
from collections.abc import Callable

WITHHELD_NOTE = "[everything printed from the start of the hidden checks on is withheld]"
"""Said in place of the withheld output. It gives no count: a byte count would itself tell a hidden size."""


def _pending_bytes(fd: int) -> int:
    """Bytes waiting in a pipe (0 where the count cannot be had, or the pipe is closed)."""
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
    except OSError:
        return 0


class CappedStream:
    """Drains a pipe in a thread, keeping at most ``cap`` bytes (half head, half tail)."""

    def __init__(self, fd: int, cap: int) -> None:
        self._fd = fd
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_len = 0
        self.total = 0
        """Bytes read before withholding began (kept or dropped by the cap)."""
        self.withheld = 0
        """Bytes read after withholding began: counted for the host, never shown to the candidate."""
        self._withholding = False
        self._read_bytes = 0  # read from the pipe (by the drain thread only)
        self._kept_bytes = 0  # of those, already dealt with (kept, dropped by the cap, or withheld)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def withhold(self, settle_s: float = 0.5, quiet_s: float = 0.05) -> None:
        """From now to the end of the stream, count what arrives but keep none of it. Idempotent.

        What is already on its way is kept first: the agent flushes the candidate's output before each reply, so
        what was printed during the visible checks is in the pipe (or, from a container, on its way to it) by now.
        The stream waits until the pipe is empty and nothing has arrived for ``quiet_s`` seconds, at most
        ``settle_s`` (a candidate that never stops printing cannot hold the grading up).
        """
        deadline = time.monotonic() + settle_s
        seen, quiet_since = self._read_bytes, time.monotonic()
        while time.monotonic() < deadline and self._thread.is_alive() and not self._withholding:
            now = time.monotonic()
            if self._read_bytes != seen:
                seen, quiet_since = self._read_bytes, now
            elif _pending_bytes(self._fd) == 0 and self._kept_bytes == seen and now - quiet_since >= quiet_s:
                break
            time.sleep(0.005)
        with self._lock:
            self._withholding = True

    @property
    def withholding(self) -> bool:
        """True once ``withhold`` was called."""
        return self._withholding

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._read_bytes += len(chunk)
            with self._lock:
                # The host sets the flag before it sends the first hidden probe, so any byte the candidate printed
                # in answer to that probe is read after the flag is visible here.
                if self._withholding:
                    self.withheld += len(chunk)
                else:
                    self._keep(chunk)
                self._kept_bytes += len(chunk)
        os.close(self._fd)

    def _keep(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail.append(chunk)
            self._tail_len += len(chunk)
            while self._tail_len - len(self._tail[0]) >= self._tail_cap:
                self._tail_len -= len(self._tail.popleft())

    @property
    def truncated(self) -> bool:
        """True when bytes read before withholding were dropped by the cap."""
        return self.total > len(self._head) + self._tail_len or self._tail_len > self._tail_cap

    def text(self, join_timeout: float = 2.0) -> str:
        """The captured text, marked where bytes were dropped or withheld; waits briefly for the pipe to drain."""
        self._thread.join(join_timeout)
        with self._lock:
            tail = b"".join(self._tail)
            head = self._head.decode("utf-8", "replace")
            withholding = self._withholding
        if len(tail) > self._tail_cap:
            tail = tail[-self._tail_cap :]
        dropped = self.total - len(self._head) - len(tail)
        if dropped > 0:
            text = f"{head}\n[... {dropped} bytes omitted ...]\n{tail.decode('utf-8', 'replace')}"
        else:
            text = head + tail.decode("utf-8", "replace")
        if not withholding:
            return text
        # Said whether or not anything was printed: its absence would tell that nothing was.
        return text + ("\n" if text and not text.endswith("\n") else "") + WITHHELD_NOTE + "\n"


def withhold_all(*streams: CappedStream) -> Callable[[], None]:
    """A hook for the conversation: withhold every one of ``streams`` when the hidden checks begin."""

    def withhold() -> None:
        for stream in streams:
            stream.withhold()

    return withhold

"""Capture of a child's output stream with a cap: the head and the tail are kept, the middle is counted."""

from __future__ import annotations

import collections
import os
import threading


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
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                break
            if not chunk:
                break
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
        os.close(self._fd)

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + self._tail_len or self._tail_len > self._tail_cap

    def text(self, join_timeout: float = 2.0) -> str:
        """The captured text, with a marker where bytes were dropped. Waits briefly for the pipe to drain."""
        self._thread.join(join_timeout)
        tail = b"".join(self._tail)
        if len(tail) > self._tail_cap:
            tail = tail[-self._tail_cap :]
        dropped = self.total - len(self._head) - len(tail)
        head = self._head.decode("utf-8", "replace")
        if dropped > 0:
            return f"{head}\n[... {dropped} bytes omitted ...]\n{tail.decode('utf-8', 'replace')}"
        return head + tail.decode("utf-8", "replace")

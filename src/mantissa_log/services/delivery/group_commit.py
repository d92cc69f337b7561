"""Group commit: outcomes finished on many threads written to the store together.

A sending thread hands its outcome in and, if no write is running, writes everything waiting
(including what other threads hand in meanwhile); otherwise it returns at once and the running
writer picks its outcome up. Under load one write transaction carries many outcomes; when idle
each outcome is written at once, so nothing waits for a timer.

Nothing here is the durability guarantee: an outcome not yet written when the process dies is
lost with it, and its delivery is sent again once its lease expires (at least once, as before).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[list[T]], None]) -> None:
        self._write = write  # must not raise: it logs its own failures
        self._waiting: list[T] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()

    def add(self, item: T) -> None:
        with self._lock:
            self._waiting.append(item)
        while self._writing.acquire(blocking=False):
            try:
                self._drain()
            finally:
                self._writing.release()
            with self._lock:
                if not self._waiting:
                    return
            # Something arrived between our last batch and the release: its thread saw the
            # writer busy and left it to us, so go round again.

    def flush(self) -> None:
        """Write everything handed in so far (waits for a write in progress)."""
        with self._writing:
            self._drain()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = self._waiting, []
            if not batch:
                return
            self._write(batch)

"""The worker loop's standing senders: a fixed set of threads taking jobs from one queue.

In place of a `ThreadPoolExecutor`: its `submit` makes a future, a work item and a lock round for
every job, and looks at its thread count each time; the outbox hands thousands of jobs a second
and wants none of that (an outcome is written by the job itself, through group commit). Here a
job is one `put` on a queue. A job that raises is logged and the thread goes on, where a pool
would have kept the exception in a future nobody reads.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger("mantissa_log.outbox")


class StandingSenders(Generic[T]):
    def __init__(self, count: int, work: Callable[[T], None], *, name: str) -> None:
        self._work = work
        self._jobs: queue.SimpleQueue[T | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{number}", daemon=True) for number in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: T) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        """Let every job already handed in finish, then stop the threads."""
        for _ in self._threads:
            self._jobs.put(None)  # after every job queued so far: the queue is first in, first out
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._work(job)
            except Exception:  # a sender must outlive one bad job
                log.exception("a delivery job failed")

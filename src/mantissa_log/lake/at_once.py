"""Work on DuckDB cursors at once, on threads: the engine releases the interpreter lock while it runs a
statement, so two statements use two cores. Used by the ingest (a COPY in halves) and the hunt (a scan
in halves)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def at_once(calls: Sequence[Callable[[], T]], *, name: str) -> list[T]:
    """Each call on a thread of its own, all started at once; their results in the calls' order. The
    first error is raised in the caller's thread once every call has ended, as one call would raise it."""
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(position: int) -> None:
        try:
            results[position] = calls[position]()
        except BaseException as exc:  # raised again in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(position,), name=name) for position in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[position] for position in range(len(calls))]

"""In-flight ingest markers: the ingest-time watermark must never pass a file not yet visible.

Every row of an ingest call carries the call's ingest time, but its files only become visible
when the call ends (seconds later for a large upload). A detection run over `(watermark, now]`
in between would move its watermark past rows it never saw. So an ingest leaves a marker file
holding its ingest time while it runs, and `visible_until()` stays below the oldest marker.

Ordering: the marker is created before the ingest time is taken, and a reader takes `now` before
listing markers; so a reader either sees the marker or the ingest time is later than its `now`.
Markers of dead processes (same host) or older than `max_age` are ignored and removed.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from mantissa_log.clock import utc_now
from mantissa_log.lake.fields import EPOCH

_MICRO = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // _MICRO


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


class InFlight:
    def __init__(self, directory: Path, max_age: timedelta = timedelta(hours=1)) -> None:
        self.directory = directory
        self.max_age = max_age

    @contextlib.contextmanager
    def hold(self, ingest_time: datetime | None = None) -> Iterator[datetime]:
        """Mark an ingest as running; yields its ingest time (aware UTC)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        marked = utc_now() if ingest_time is None else min(utc_now(), ingest_time)
        marker = self.directory / f"{_micros(marked)}-{os.getpid()}-{uuid.uuid4().hex}"
        marker.touch(exist_ok=False)
        try:
            yield utc_now() if ingest_time is None else ingest_time
        finally:
            marker.unlink(missing_ok=True)

    def oldest(self, now: datetime) -> datetime | None:
        """The ingest time of the oldest running ingest, None when none runs."""
        oldest: datetime | None = None
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return None
        for entry in entries:
            try:
                micros, pid, _ = entry.name.split("-", 2)
                marked = EPOCH + timedelta(microseconds=int(micros))
                stale = not process_alive(int(pid)) or now - marked > self.max_age
            except ValueError:
                continue
            if stale:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            elif oldest is None or marked < oldest:
                oldest = marked
        return oldest

    def visible_until(self, now: datetime | None = None) -> datetime:
        """The latest ingest time up to which every ingest has finished (its files are visible)."""
        now = utc_now() if now is None else now
        oldest = self.oldest(now)
        return now if oldest is None else min(now, oldest - _MICRO)

"""The audit chain written by one background thread, so an API request never waits for it.

The request hands its record (stamped with the time of the request) to a bounded queue and is
answered; a writer thread appends queued records to the chain in order, several per pass (the
chain head is read once per pass, not once per record).

What is guaranteed:
- Every request's record is either written or reported: a record is never dropped silently.
  A full queue (`QUEUE_LIMIT` records) makes requests wait for room instead of dropping any.
- Reads of the audit (`newest`, `head`, `verify`, backups) first wait for every record handed
  in before them, so a caller always sees its own earlier requests.
- Shutdown (`close`, called by the server's lifespan and `Services.close`) writes everything
  queued before returning.
- A store that refuses a record (disk full, outage) is retried `WRITE_ATTEMPTS` times with
  backoff; after that each lost record is logged as critical (action, actor, target, time), as
  a synchronous write that failed always was.

What is not: a process killed with SIGKILL (or a power loss) loses the records still queued,
at most the requests of the last moments before it (the queue is normally empty: the writer
keeps up with hundreds of requests a second). The SQLite store itself commits without fsync
per write (WAL, synchronous=NORMAL), so the same window existed before for a power loss.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from mantissa_log.domain.audit import AuditEvent
from mantissa_log.errors import MantissaError

log = logging.getLogger("mantissa_log.audit")

QUEUE_LIMIT = 10_000
BATCH_LIMIT = 500
WRITE_ATTEMPTS = 4
BACKOFF_SECONDS = (0.05, 0.25, 1.0)
# After a pass the writer rests this long, so the records of a busy moment are gathered into one
# append (one read of the chain head, one store transaction) and handing one in does not wake a
# waiting thread each time: per record, both cost the API's event loop more than the record
# itself (py-spy under load). A reader of the audit waits at most this much longer.
LINGER_SECONDS = 0.01


class AuditWriter:
    def __init__(self, append: Callable[[list[AuditEvent]], None]) -> None:
        # Appends in order, removing each record from the list once it is written, so a retry
        # after a failure part-way never writes a record twice.
        self._append = append
        self._queue: queue.Queue[AuditEvent | None] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._done = threading.Condition()
        self._handed = 0  # records handed in
        self._settled = 0  # records written or reported lost

    def try_submit(self, event: AuditEvent) -> bool:
        """Queue a record without waiting; False when the queue is full (then use `submit`)."""
        self._ensure_started()
        with self._done:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                return False
            self._handed += 1
        return True

    def submit(self, event: AuditEvent) -> None:
        """Queue a record, waiting for room if the queue is full."""
        while not self.try_submit(event):
            time.sleep(0.005)

    def flush(self) -> None:
        """Wait until every record handed in so far is written (or reported lost)."""
        with self._done:
            target = self._handed
            if self._thread is None:
                return
            self._done.wait_for(lambda: self._settled >= target)

    def close(self) -> None:
        """Write everything queued, then stop the writer thread."""
        with self._start_lock:
            thread = self._thread
            if thread is None:
                return
            self._queue.put(None)  # after everything queued so far: the writer writes it first
            thread.join()
            self._thread = None  # a later record (services reused) starts a new writer
            # A record handed in while the writer was stopping: write it here.
            left = [e for e in iter_nowait(self._queue) if e is not None]
        if left:
            count = len(left)
            self._write(left)
            with self._done:
                self._settled += count
                self._done.notify_all()

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH_LIMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            count = len(batch)  # `_write` empties the list as records are written
            self._write(batch)
            with self._done:
                self._settled += count
                self._done.notify_all()
            if stop:
                return
            time.sleep(LINGER_SECONDS)

    def _write(self, batch: list[AuditEvent]) -> None:
        reason = ""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._append(batch)
                return
            except MantissaError as exc:
                reason = exc.message
            except Exception as exc:  # a bug must not kill the writer: everything after would be lost
                log.exception("audit writer failed on %d records", len(batch))
                reason = type(exc).__name__
            if attempt < WRITE_ATTEMPTS - 1:
                time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
        for event in batch:
            log.critical(
                "audit record not written (%s): %s by %s on %s at %s",
                reason,
                event.action,
                event.actor,
                event.target,
                event.at,
            )


def iter_nowait(q: queue.Queue[AuditEvent | None]) -> list[AuditEvent | None]:
    out: list[AuditEvent | None] = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out

"""Audit use cases: record who did what, read the chain, verify it (in full or from a checkpoint).

Anonymous noise is bounded: per minute (injected clock) at most ANON_PER_CLIENT records per client
address and ANON_TOTAL in all are written for requests without a valid identity; the rest are
counted, and one `audit.anonymous_suppressed` record summarises them (how many, from how many
clients, the busiest ones) once the minute is over. Authenticated requests are always recorded.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

from mantissa_log.clock import Clock, iso, iso_us
from mantissa_log.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, ChainVerdict, Outcome
from mantissa_log.services.audit_writer import AuditWriter
from mantissa_log.state.audit_checkpoints import AuditCheckpoints, Checkpoint
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.common import ModelPage

ANONYMOUS = "anonymous"
ANON_PER_CLIENT = 10
ANON_TOTAL = 100
WINDOW_SECONDS = 60
MAX_COUNTED_CLIENTS = 1000  # beyond this, suppressed requests are counted under "other"
TOP_CLIENTS = 5


class AnonymousNoise:
    """Which anonymous records to write, per fixed minute; the rest counted for one summary."""

    def __init__(self, per_client: int = ANON_PER_CLIENT, total: int = ANON_TOTAL) -> None:
        self.per_client = per_client
        self.total = total
        self._lock = threading.Lock()
        self._window: int | None = None
        self._written: Counter[str] = Counter()
        self._suppressed: Counter[str] = Counter()

    def admit(self, client: str, now: float) -> tuple[bool, AuditEvent | None]:
        """(write this record?, the previous minute's summary to write first, if any)."""
        with self._lock:
            summary = self._roll(now)
            if self._written[client] < self.per_client and sum(self._written.values()) < self.total:
                self._written[client] += 1
                return True, summary
            key = client if client in self._suppressed or len(self._suppressed) < MAX_COUNTED_CLIENTS else "other"
            self._suppressed[key] += 1
            return False, summary

    def flush(self, now: float) -> AuditEvent | None:
        """The summary of a minute that is over, once."""
        with self._lock:
            return self._roll(now)

    def _roll(self, now: float) -> AuditEvent | None:
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        if self._window == window:
            return None
        summary = self._summary() if self._window is not None else None
        self._window = window
        self._written.clear()
        self._suppressed.clear()
        return summary

    def _summary(self) -> AuditEvent | None:
        count = sum(self._suppressed.values())
        if not count or self._window is None:
            return None
        start = datetime.fromtimestamp(self._window, UTC)
        top = ", ".join(f"{client}={n}" for client, n in self._suppressed.most_common(TOP_CLIENTS))
        return AuditEvent(
            at=iso_us(start),
            actor=ANONYMOUS,
            action="audit.anonymous_suppressed",
            outcome="denied",
            detail={
                "suppressed": str(count),
                "clients": str(len(self._suppressed)),
                "top": top,
                "window_start": iso(start),
                "window_seconds": str(WINDOW_SECONDS),
            },
        )


class AuditService:
    def __init__(
        self,
        repo: AuditRepository,
        clock: Clock,
        *,
        checkpoints: AuditCheckpoints | None = None,
        noise: AnonymousNoise | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.checkpoints = checkpoints
        self.noise = noise or AnonymousNoise()
        self.writer = AuditWriter(self._append_many)

    def submit(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        outcome: Outcome = "success",
        status: int | None = None,
        client: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> list[AuditEvent]:
        """`record`, written by the background writer (`audit_writer`): returns at once unless
        the queue is full. Returns the events still to queue with `writer.submit` (waiting) when
        it was full, else []."""
        events, _ = self._events(actor, action, target, outcome, status, client, detail)
        for i, event in enumerate(events):
            if not self.writer.try_submit(event):
                return events[i:]
        return []

    def flush(self) -> None:
        """Wait for the records handed to the background writer so far."""
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def _events(
        self,
        actor: str,
        action: str,
        target: str | None,
        outcome: Outcome,
        status: int | None,
        client: str | None,
        detail: dict[str, str] | None,
    ) -> tuple[list[AuditEvent], bool]:
        """The events a request makes: its own (unless an anonymous one over the limit), after the
        summary of a minute of suppressed anonymous ones, if one just ended."""
        moment = self.clock.now()
        if actor == ANONYMOUS:
            admitted, summary = self.noise.admit(client or "-", moment.timestamp())
        else:
            admitted, summary = True, self.noise.flush(moment.timestamp())
        events = [] if summary is None else [summary]
        if admitted:
            events.append(
                AuditEvent(
                    at=iso_us(moment),  # µs: many records share a second
                    actor=actor,
                    action=action,
                    target=target,
                    outcome=outcome,
                    status=status,
                    client=client,
                    detail=detail or {},
                )
            )
        return events, admitted

    def record(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        outcome: Outcome = "success",
        status: int | None = None,
        client: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> AuditRecord | None:
        """Append a record now; None when it was an anonymous one counted into a summary instead."""
        self.flush()  # after what the background writer holds: the chain stays in time order
        events, admitted = self._events(actor, action, target, outcome, status, client, detail)
        last = None
        for event in events:
            last = self._append(event)
        return last if admitted else None

    def _append_many(self, events: list[AuditEvent]) -> None:
        written = self.repo.append_many(events)
        if written and self.checkpoints is not None:
            last = written[-1]
            self.checkpoints.advance_head(Checkpoint(last.seq, last.hash, self.repo.fingerprint()))

    def _append(self, event: AuditEvent) -> AuditRecord:
        record = self.repo.append(event)
        if self.checkpoints is not None:
            self.checkpoints.advance_head(Checkpoint(record.seq, record.hash, self.repo.fingerprint()))
        return record

    def newest(
        self,
        *,
        limit: int = 50,
        start_key: Key | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> ModelPage[AuditRecord]:
        self.flush()
        summary = self.noise.flush(self.clock.now().timestamp())
        if summary is not None:
            self._append(summary)
        page = self.repo.newest(limit=limit, start_key=start_key)
        page.items = [
            r
            for r in page.items
            if (actor is None or r.actor == actor) and (action is None or r.action.startswith(action))
        ]
        return page

    def head(self) -> AuditRecord | None:
        self.flush()
        return self.repo.head()

    def verify(self, *, full: bool = True) -> ChainVerdict:
        """Check the chain: from the first record (`full`), or from the last verified checkpoint;
        then against this host's head checkpoint (newest records deleted, key replaced)."""
        self.flush()
        after, prev = 0, GENESIS_HASH
        if not full and self.checkpoints is not None:
            verified = self.checkpoints.verified()
            if verified is not None and verified.seq != 0:
                at = self.repo.get(verified.seq) if verified.seq > 0 else None
                if at is None or at.hash != verified.hash or not self.repo.intact(at):
                    reason = "the record at the last verified checkpoint was altered or deleted"
                    return ChainVerdict(ok=False, records=0, first_bad_seq=max(verified.seq, 1), reason=reason)
                after, prev = verified.seq, verified.hash
        verdict = self.repo.verify(after=after, prev_hash=prev)
        if not verdict.ok:
            return verdict
        problem = self._against_head(verdict)
        if problem is not None:
            return problem
        newest = self.repo.get(verdict.records) if verdict.records else None
        if newest is not None:
            verdict.head_hash = newest.hash
            if self.checkpoints is not None:
                self.checkpoints.advance_verified(Checkpoint(newest.seq, newest.hash, self.repo.fingerprint()))
        return verdict

    def _against_head(self, verdict: ChainVerdict) -> ChainVerdict | None:
        head = self.checkpoints.head() if self.checkpoints is not None else None
        if head is None:
            return None

        def broken(at: int, reason: str) -> ChainVerdict:
            return verdict.model_copy(update={"ok": False, "first_bad_seq": at, "reason": reason})

        if head.seq < 0:
            return broken(verdict.records + 1, "this host's audit head checkpoint is unreadable")
        if head.key and head.key != self.repo.fingerprint():
            return broken(1, "the audit key is not the one this host's records were made with")
        if verdict.records < head.seq:
            return broken(
                verdict.records + 1,
                f"records after seq {verdict.records} are missing (this host appended up to seq {head.seq})",
            )
        at = self.repo.get(head.seq)
        if at is None or at.hash != head.hash:
            return broken(head.seq, "the record at this host's head checkpoint was replaced")
        return None

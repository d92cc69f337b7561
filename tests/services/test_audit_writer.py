"""The audit written off the request path: every record lands, in order, and nothing is lost at
close; the answer never waits for the chain."""

from __future__ import annotations

import threading

from mantissa_log.domain.audit import AuditEvent
from mantissa_log.errors import StoreError
from mantissa_log.services.audit_writer import AuditWriter
from mantissa_log.services.container import Services


def event(n: int) -> AuditEvent:
    return AuditEvent(at=f"2026-11-27T10:00:00.{n:06d}Z", actor="alice", action="settings.read", target=str(n))


def test_submitted_records_are_written_in_order_and_verify(services: Services) -> None:
    def hand_in(start: int) -> None:
        for n in range(start, start + 50):
            assert services.audit.submit(actor="alice", action="settings.read", target=str(n)) == []

    threads = [threading.Thread(target=hand_in, args=(i * 50,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = services.audit.newest(limit=200).items  # waits for the writer
    assert len(records) == 200
    assert sorted(int(r.target or -1) for r in records) == list(range(200))
    assert services.audit.verify().ok


def test_close_writes_everything_still_queued(services: Services) -> None:
    gate = threading.Event()
    written: list[str] = []

    def slow_append(events: list[AuditEvent]) -> None:
        gate.wait(10)
        while events:
            written.append(events.pop(0).target or "")

    writer = AuditWriter(slow_append)
    for n in range(100):
        assert writer.try_submit(event(n))
    closing = threading.Thread(target=writer.close)
    closing.start()
    gate.set()
    closing.join(10)
    assert not closing.is_alive()
    assert written == [str(n) for n in range(100)]


def test_a_failed_write_is_retried_without_writing_a_record_twice() -> None:
    written: list[str] = []
    failures = iter([True, False])

    def flaky(events: list[AuditEvent]) -> None:
        written.append(events.pop(0).target or "")  # the first record lands, then the store fails
        if next(failures, False):
            raise StoreError("disk full")
        while events:
            written.append(events.pop(0).target or "")

    writer = AuditWriter(flaky)
    for n in range(3):
        writer.try_submit(event(n))
    writer.close()
    assert written == ["0", "1", "2"]

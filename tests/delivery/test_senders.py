"""The worker loop's standing sender threads (`services/delivery/senders.py`)."""

from __future__ import annotations

import threading

import pytest

from mantissa_log.services.delivery.senders import StandingSenders


def test_close_lets_every_job_handed_in_finish() -> None:
    done: list[int] = []
    lock = threading.Lock()
    gate = threading.Event()

    def work(job: int) -> None:
        gate.wait(10)
        with lock:
            done.append(job)

    senders = StandingSenders(3, work, name="test")
    for job in range(50):
        senders.submit(job)
    gate.set()
    senders.close()
    assert sorted(done) == list(range(50))


def test_a_job_that_raises_is_logged_and_the_sender_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    done: list[int] = []

    def work(job: int) -> None:
        if job % 2:
            raise RuntimeError(f"job {job} failed")
        done.append(job)

    senders = StandingSenders(1, work, name="test")  # one thread: it must survive every failure
    for job in range(6):
        senders.submit(job)
    senders.close()
    assert done == [0, 2, 4]
    failures = [r for r in caplog.records if r.getMessage() == "a delivery job failed"]
    assert [str(r.exc_info[1]) for r in failures if r.exc_info] == ["job 1 failed", "job 3 failed", "job 5 failed"]


def test_jobs_run_on_the_named_threads_at_once() -> None:
    started = threading.Barrier(3, timeout=10)  # three jobs can only meet on three threads
    names: set[str] = set()

    def work(_job: int) -> None:
        started.wait()
        names.add(threading.current_thread().name)

    senders = StandingSenders(3, work, name="outbox")
    for job in range(3):
        senders.submit(job)
    senders.close()
    assert names == {"outbox-0", "outbox-1", "outbox-2"}

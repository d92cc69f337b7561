"""The outbox end to end against a real loopback receiver: routing, retries, dead letters, recovery."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from mantissa_log.clock import epoch
from mantissa_log.domain.alerts import Alert, due_at
from mantissa_log.services.container import Services
from mantissa_log.services.delivery import outbox as outbox_module
from mantissa_log.services.delivery.outbox import IN_FLIGHT_PER_SENDER
from mantissa_log.services.worker import Cadence, Worker
from mantissa_log.state.repositories.alerts import Firing
from mantissa_log.state.tables import DELIVERIES
from tests.clock import ManualClock
from tests.delivery.conftest import ALICE, BACKOFF_CAP, add_webhook
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_alert, now
from tests.fixtures_moto import free_port


def fire(services: Services, n: int = 1, *, destinations: tuple[str, ...] = ("webhook",), user: str = "alice") -> Alert:
    alert = make_alert(
        n,
        user=user,
        group={"n": str(n)},
        severity="critical",
        samples=[{"eventName": "StopLogging"}],
        alert_destinations=list(destinations),
    )
    stored, _ = services.infra.repos.alerts.record_firing(Firing(alert, 0), now())
    services.infra.router.route(stored)
    return stored


def drain(services: Services, clock: ManualClock, rounds: int = 20) -> None:
    """Tick until nothing is queued, moving the clock past every backoff in between."""
    for _ in range(rounds):
        services.infra.outbox.tick()
        if not services.infra.repos.deliveries.due("9" * 15).items:
            return
        clock.advance(BACKOFF_CAP)


def test_routes_only_to_own_enabled_matching_integrations(dlv: Services, receiver: Receiver) -> None:
    add_webhook(dlv, "hook-a", receiver.url + "/a")
    add_webhook(dlv, "hook-off", receiver.url + "/off")
    dlv.integrations.patch(ALICE, "hook-off", {"enabled": False})
    add_webhook(dlv, "hook-bob", receiver.url + "/bob", user="bob")
    alert = fire(dlv)
    assert [d.integration_id for d in dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)] == ["hook-a"]
    dlv.infra.outbox.tick()
    assert [r.path for r in receiver.requests] == ["/a"]
    got = receiver.requests[0]
    assert got.headers["authorization"] == "Bearer whsec_0123456789abcdefABCDEF"
    assert got.json()["alert_id"] == alert.alert_id
    stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
    assert stored is not None
    assert stored.delivery_status == "delivered"
    (delivery,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (delivery.status, delivery.attempts, delivery.queue) == ("delivered", 1, None)


def test_no_matching_integration_means_none(dlv: Services) -> None:
    alert = fire(dlv, destinations=("pagerduty",))
    stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
    assert stored is not None
    assert stored.delivery_status == "none"


def test_500_then_200_retries_and_recovers_integration_status(
    dlv: Services, receiver: Receiver, clock: ManualClock
) -> None:
    add_webhook(dlv, "hook", receiver.url)
    receiver.script = [Reply(500, b"boom")]
    alert = fire(dlv)
    dlv.infra.outbox.tick()
    (pending,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (pending.status, pending.attempts, pending.last_status_code) == ("pending", 1, 500)
    assert pending.last_error
    integration = dlv.integrations.get(ALICE, "hook")
    assert integration.status == "error"
    dlv.infra.outbox.tick()
    assert len(receiver.requests) == 1  # the backoff has not passed: no second attempt yet
    drain(dlv, clock)
    (done,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (done.status, done.attempts) == ("delivered", 2)
    assert done.last_error is None  # the first attempt's 500 no longer describes the delivery
    assert len(receiver.requests) == 2
    assert dlv.integrations.get(ALICE, "hook").status == "configured"


def test_429_retry_after_is_honoured(dlv: Services, receiver: Receiver, clock: ManualClock) -> None:
    add_webhook(dlv, "hook", receiver.url)
    receiver.script = [Reply(429, b"slow down", {"Retry-After": "30"})]
    alert = fire(dlv)
    before = clock.now()
    dlv.infra.outbox.tick()
    (pending,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert pending.status == "pending"
    assert pending.due_at is not None
    # Our own backoff cap is 0.2 s here, but the receiver asked for 30 s: we wait the 30 s.
    assert int(pending.due_at) / 1000 >= epoch(before) + 30
    clock.advance(29)
    dlv.infra.outbox.tick()
    assert len(receiver.requests) == 1  # not due yet: no second attempt
    clock.advance(1)
    dlv.infra.outbox.tick()
    assert len(receiver.requests) == 2
    (delivered,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (delivered.status, delivered.attempts, delivered.last_error) == ("delivered", 2, None)


def test_400_is_permanent_and_visible(dlv: Services, receiver: Receiver, clock: ManualClock) -> None:
    add_webhook(dlv, "hook", receiver.url)
    receiver.script = [Reply(400, b'{"error": "bad payload"}')]
    alert = fire(dlv)
    drain(dlv, clock)
    assert len(receiver.requests) == 1
    (dead,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (dead.status, dead.attempts, dead.last_status_code) == ("dead", 1, 400)
    stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
    assert stored is not None
    assert stored.delivery_status == "dead"


def test_refused_connections_retry_until_the_age_limit_then_dead(dlv: Services, clock: ManualClock) -> None:
    add_webhook(dlv, "hook", f"http://127.0.0.1:{free_port()}/nobody-home", retry_count=2)
    alert = fire(dlv)
    (routed,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert routed.expires_at == "2026-11-28T10:00:00Z"  # 24 h after routing (the default age limit)
    drain(dlv, clock)  # minutes of backoff: far from the limit
    (pending,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert pending.status == "pending"
    assert pending.attempts >= 5
    assert pending.last_error
    clock.advance(86_400)
    drain(dlv, clock)
    (dead,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert dead.status == "dead"
    assert dead.last_error
    stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
    assert stored is not None
    assert stored.delivery_status == "dead"


def test_receiver_down_for_a_while_gets_everything_once_back(dlv: Services, clock: ManualClock) -> None:
    port = free_port()
    add_webhook(dlv, "hook", f"http://127.0.0.1:{port}/in", retry_count=10)
    alerts = [fire(dlv, n) for n in range(1, 6)]
    for _ in range(3):
        dlv.infra.outbox.tick()
        clock.advance(BACKOFF_CAP)
    assert all(d.status == "pending" for a in alerts for d in dlv.infra.repos.deliveries.for_alert("alice", a.alert_id))
    receiver = Receiver(port)
    try:
        drain(dlv, clock, rounds=40)
        got = sorted(r.json()["alert_id"] for r in receiver.requests)
        assert got == sorted(a.alert_id for a in alerts)
        assert all(
            d.status == "delivered" for a in alerts for d in dlv.infra.repos.deliveries.for_alert("alice", a.alert_id)
        )
    finally:
        receiver.stop()


def test_unrouted_alerts_are_routed_by_the_worker(dlv: Services, receiver: Receiver, clock: ManualClock) -> None:
    """An alert stored by a process that died before routing still gets delivered."""
    add_webhook(dlv, "hook", receiver.url)
    alert = make_alert(99, alert_destinations=["webhook"])
    dlv.infra.repos.alerts.record_firing(Firing(alert, 0), now())  # stored, never routed
    report = dlv.infra.outbox.tick()
    assert report.routed == 1
    drain(dlv, clock)
    assert [r.json()["alert_id"] for r in receiver.requests] == [alert.alert_id]


def test_the_worker_loop_pumps_again_soon_while_deliveries_are_in_flight(dlv: Services, receiver: Receiver) -> None:
    """The outbox keeps at most `concurrency * IN_FLIGHT_PER_SENDER` deliveries in flight; with
    one pump per period a backlog drained at that many alerts a second. Here the period is a
    minute: every alert arrives anyway, through quick pumps while any delivery is in hand."""
    add_webhook(dlv, "hook", receiver.url + "/in")
    dlv.infra.outbox.concurrency = 2
    window = dlv.infra.outbox.concurrency * IN_FLIGHT_PER_SENDER
    alerts = [fire(dlv, n) for n in range(1, 2 * window + 17)]  # more than two windows
    idle: Any = SimpleNamespace(maintain=lambda: None, purge_expired=lambda: None)
    worker = Worker(
        detection=SimpleNamespace(tick=lambda: None),  # type: ignore[arg-type]
        delivery=dlv.delivery,
        logs=idle,
        admin=idle,
        cadence=Cadence(delivery_every=60.0, delivery_busy_every=0.01),
    )
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,), kwargs={"only": ("delivery",)}, daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 30  # the minute-long period is what this guards against
        while len(receiver.requests) < len(alerts) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(30)
    assert sorted(r.json()["alert_id"] for r in receiver.requests) == sorted(a.alert_id for a in alerts)
    for alert in alerts:
        stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
        assert stored is not None
        assert stored.delivery_status == "delivered"


def test_pump_answers_what_is_in_flight(dlv: Services, receiver: Receiver) -> None:
    add_webhook(dlv, "hook", receiver.url + "/in")
    assert dlv.delivery.pump() == 0  # nothing due, nothing in hand: the loop may rest
    release = threading.Event()
    receiver.on_request = lambda _request: release.wait(10)
    fire(dlv, 1)
    fire(dlv, 2)
    try:
        assert dlv.delivery.pump() == 2
        assert dlv.delivery.pump() == 2  # still in flight, not handed over twice
    finally:
        release.set()
    dlv.delivery.close()
    assert len(receiver.requests) == 2


def test_due_keys_are_the_due_deliveries_nobody_holds_oldest_first(
    dlv: Services, receiver: Receiver, clock: ManualClock
) -> None:
    add_webhook(dlv, "hook", receiver.url + "/in")
    alerts = [fire(dlv, n) for n in range(1, 5)]
    deliveries = dlv.infra.repos.deliveries
    now = epoch(clock.now())
    keys = [(f"alice/{a.alert_id}", "hook") for a in alerts]
    assert deliveries.due_keys(due_at(now), limit=10, claimable_at=now) == keys
    assert deliveries.due_keys(due_at(now), limit=2, claimable_at=now) == keys[:2]
    assert deliveries.due_keys(due_at(now - 3600), limit=10, claimable_at=now) == []  # not due yet then
    (taken,) = deliveries.claim_keys([keys[1]], "another-worker", now, 300)
    assert taken is not None
    assert taken.lease_owner == "another-worker"
    assert deliveries.due_keys(due_at(now), limit=10, claimable_at=now) == [keys[0], *keys[2:]]
    assert deliveries.due_keys(due_at(now + 301), limit=10, claimable_at=now + 301) == keys  # its lease ran out
    assert deliveries.claim_keys([keys[1]], "a-third", now, 300) == [None]  # held: not taken twice


def test_a_delivery_stored_by_an_older_version_is_read_and_sent(dlv: Services, receiver: Receiver) -> None:
    """Records from before the age limit have no `expires_at` (it is taken from `updated_at`) and may
    hold a field the model no longer has (`max_attempts`, dropped on read, not refused)."""
    add_webhook(dlv, "hook", receiver.url + "/in")
    alert = fire(dlv)
    deliveries = dlv.infra.repos.deliveries
    (current,) = deliveries.for_alert("alice", alert.alert_id)
    old = {k: v for k, v in current.dump().items() if k != "expires_at"} | {"max_attempts": 5}
    dlv.infra.backend.put(DELIVERIES, old)
    (read,) = deliveries.for_alert("alice", alert.alert_id)
    assert read.expires_at == current.updated_at
    assert read.model_dump(exclude={"expires_at"}) == current.model_dump(exclude={"expires_at"})
    assert dlv.infra.outbox.tick().sent == 1
    assert [r.json()["alert_id"] for r in receiver.requests] == [alert.alert_id]


def test_pump_leaves_the_queue_alone_while_less_than_a_share_of_the_window_is_free(
    dlv: Services, receiver: Receiver, clock: ManualClock
) -> None:
    """A refill reads the due queue and claims a batch: it waits until `1 / REFILL_SHARE` of the
    window is free rather than taking one or two deliveries per pump (each refill's reads and
    claim cost the same whatever its size)."""
    add_webhook(dlv, "hook", receiver.url + "/in")
    dlv.infra.outbox.concurrency = 1
    share = IN_FLIGHT_PER_SENDER // outbox_module.REFILL_SHARE
    release = threading.Event()
    receiver.on_request = lambda _request: release.wait(10)
    held = [fire(dlv, n) for n in range(1, IN_FLIGHT_PER_SENDER - share + 2)]  # one less than a share free
    try:
        assert dlv.delivery.pump() == len(held)
        waiting = fire(dlv, 100)  # there is room for it, but less than a share: not taken yet
        assert dlv.delivery.pump() == len(held)
        due = dlv.infra.repos.deliveries.due("9" * 15, claimable_at=epoch(clock.now())).items
        assert [d.alert_id for d in due] == [waiting.alert_id]
    finally:
        release.set()
    deadline = time.monotonic() + 20
    while dlv.delivery.pump() and time.monotonic() < deadline:  # as sends finish, room comes: it is taken
        time.sleep(0.01)
    dlv.delivery.close()
    assert sorted(r.json()["alert_id"] for r in receiver.requests) == sorted(a.alert_id for a in [*held, waiting])
    assert receiver.requests[-1].json()["alert_id"] == waiting.alert_id


def test_the_first_pump_routes_even_on_a_machine_just_booted(
    dlv: Services, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monotonic clock counts from the machine's boot on Linux: a worker started within its first
    routing period after boot must still route leftovers on its first pass (it once waited until the
    clock passed the period; the loop's test failed on any machine up for less than an hour)."""
    add_webhook(dlv, "hook", receiver.url + "/in")
    repos = dlv.infra.repos
    monkeypatch.setattr(outbox_module, "ROUTE_EVERY_SECONDS", 5.0)
    monkeypatch.setattr(outbox_module, "time", SimpleNamespace(monotonic=lambda: 0.2))
    alert = make_alert(1, alert_destinations=["webhook"])
    repos.alerts.record_firing(Firing(alert, 0), now())  # stored, never routed
    dlv.infra.outbox.pump()
    assert len(repos.deliveries.for_alert(alert.user_id, alert.alert_id)) == 1
    dlv.infra.outbox.close()
    assert [r.json()["alert_id"] for r in receiver.requests] == [alert.alert_id]


def test_pump_looks_for_unrouted_alerts_at_most_once_a_period(
    dlv: Services, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unrouted alerts (a crash's leftovers) are routed by the worker's loop too, but looked for
    once per `ROUTE_EVERY_SECONDS`, not on every pump (every 10 ms while sends are in flight)."""
    add_webhook(dlv, "hook", receiver.url + "/in")
    repos = dlv.infra.repos
    monkeypatch.setattr(outbox_module, "ROUTE_EVERY_SECONDS", 3600.0)
    first = make_alert(1, alert_destinations=["webhook"])
    repos.alerts.record_firing(Firing(first, 0), now())  # stored, never routed
    dlv.infra.outbox.pump()
    assert len(repos.deliveries.for_alert(first.user_id, first.alert_id)) == 1
    second = make_alert(2, alert_destinations=["webhook"])
    repos.alerts.record_firing(Firing(second, 0), now())
    dlv.infra.outbox.pump()
    assert repos.deliveries.for_alert(second.user_id, second.alert_id) == []  # within the period
    monkeypatch.setattr(outbox_module, "ROUTE_EVERY_SECONDS", 0.0)
    dlv.infra.outbox.pump()
    assert len(repos.deliveries.for_alert(second.user_id, second.alert_id)) == 1
    dlv.infra.outbox.close()
    assert sorted(r.json()["alert_id"] for r in receiver.requests) == sorted([first.alert_id, second.alert_id])

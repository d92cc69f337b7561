"""A send that outlasts its claim's lease: the claim is renewed while the send runs, so another
worker never takes the delivery and sends it a second time. Real time here (the renewals run on
a thread that waits in real time), a 4 s lease and a receiver that holds the request for 5 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mantissa_log.clock import epoch
from mantissa_log.config import Settings
from mantissa_log.domain.integrations.webhook import WebhookConfig
from mantissa_log.outputs import jira, pagerduty, slack
from mantissa_log.outputs.common import SEND_DEADLINE_TIMEOUTS
from mantissa_log.services.container import Services
from mantissa_log.services.delivery.claims import MAX_HOLD_SECONDS, ClaimKeeper
from mantissa_log.state.tables import DELIVERIES
from tests.clock import ManualClock
from tests.delivery.conftest import add_webhook, delivery_config
from tests.delivery.receiver import Receiver
from tests.delivery.test_outbox import fire
from tests.provisioned import build_provisioned

LEASE = 4.0
HOLD = 5.0  # longer than the lease: without renewals the claim lapses mid-send
MAX_HOLD = 20.0


@pytest.fixture
def workers(
    tmp_path: Path, environment_name: str, backend_kind: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Services, Services]]:
    """Two workers sharing one store, each with its own claims (owner)."""
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    config = delivery_config(backend_kind, tmp_path / "home", environment_name, endpoint).model_copy(
        update={"delivery_lease_seconds": LEASE}
    )
    first = build_provisioned(config)
    second = build_provisioned(config)
    yield first, second
    second.close()
    first.close()


@contextmanager
def ticking_with_the_first_request_held(worker: Services, receiver: Receiver) -> Iterator[threading.Thread]:
    """A `tick` of `worker`'s outbox on its own thread, the receiver holding each request for
    HOLD seconds; entered once the first request has arrived, left once the tick is over."""
    arrived = threading.Event()

    def hold(_request: object) -> None:
        arrived.set()
        time.sleep(HOLD)

    receiver.on_request = hold
    ticking = threading.Thread(target=worker.infra.outbox.tick)
    ticking.start()
    try:
        assert arrived.wait(30)
        yield ticking
    finally:
        ticking.join(30)


def test_a_send_longer_than_the_lease_keeps_its_claim(workers: tuple[Services, Services], receiver: Receiver) -> None:
    first, second = workers
    first.users.create_user("alice")
    add_webhook(first, "hook", receiver.url + "/in", timeout_seconds=30)
    alert = fire(first)
    with ticking_with_the_first_request_held(first, receiver) as ticking:
        taken = 0
        # Past the lease and until the send ends, the other worker keeps looking for due work.
        while ticking.is_alive():
            taken += second.infra.outbox.tick().sent
            time.sleep(0.1)
    assert taken == 0
    assert len(receiver.requests) == 1
    (delivery,) = first.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (delivery.status, delivery.attempts, delivery.lease_owner) == ("delivered", 1, None)


def test_a_claim_lost_to_another_worker_is_dropped_not_renewed(
    workers: tuple[Services, Services], receiver: Receiver
) -> None:
    """A claim that lapsed and was taken over is not renewed (the renewal is conditional on the
    claim still being this worker's): the keeper drops it, and the outbox would not send under
    it (`seconds_left` is None)."""
    first, second = workers
    first.users.create_user("alice")
    add_webhook(first, "hook", receiver.url + "/in")
    alert = fire(first)
    outbox = first.infra.outbox
    now = time.time()
    (due,) = first.infra.repos.deliveries.due("9" * 15, limit=10).items
    (claimed,) = first.infra.repos.deliveries.claim_many([due], outbox.owner, now - LEASE - 1, LEASE)
    assert claimed is not None
    outbox.claims.hold([claimed])  # as `tick` would, but its lease already over
    assert second.infra.outbox.tick().sent == 1  # the other worker takes the lapsed claim and sends
    assert outbox.claims.renew_due() == 0
    assert outbox.claims.seconds_left(claimed) is None
    assert len(receiver.requests) == 1
    (delivery,) = first.infra.repos.deliveries.for_alert("alice", alert.alert_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_a_queued_delivery_whose_claim_was_lost_is_not_sent(
    workers: tuple[Services, Services], receiver: Receiver
) -> None:
    """One sender, two deliveries: the second waits behind a slow first send. Meanwhile its claim
    passes to someone else (as after a lapse while the store could not be reached for renewals):
    the renewal finds it lost, and the sender skips it instead of sending under someone else's
    claim."""
    first, _ = workers
    first.users.create_user("alice")
    add_webhook(first, "hook", receiver.url + "/in", timeout_seconds=30)
    alerts = {fire(first, n).alert_id for n in (1, 2)}
    first.infra.outbox.concurrency = 1
    with ticking_with_the_first_request_held(first, receiver):
        (sent,) = [r.json()["alert_id"] for r in receiver.requests]
        (waiting,) = alerts - {sent}
        deliveries = first.infra.repos.deliveries
        (queued,) = deliveries.for_alert("alice", waiting)
        assert queued.lease_owner == first.infra.outbox.owner
        first.infra.backend.update(
            DELIVERIES,
            {"alert_key": queued.alert_key, "integration_id": queued.integration_id},
            set_values={"lease_owner": "another-worker"},
        )
    assert [r.json()["alert_id"] for r in receiver.requests] == [sent]
    (left,) = deliveries.for_alert("alice", waiting)
    assert (left.status, left.attempts, left.lease_owner) == ("pending", 0, "another-worker")
    (done,) = deliveries.for_alert("alice", sent)
    assert (done.status, done.attempts) == ("delivered", 1)


def test_a_claim_is_renewed_only_up_to_the_longest_send(workers: tuple[Services, Services], receiver: Receiver) -> None:
    """A send still running after the keeper's longest hold (MAX_HOLD_SECONDS by default, here 20 s)
    is stuck (every output's own deadlines end it well before): its claim is no longer renewed, so
    it lapses and the delivery is sent by someone (perhaps again) instead of never."""
    first, _ = workers
    first.users.create_user("alice")
    add_webhook(first, "hook", receiver.url + "/in")
    fire(first)
    clock = ManualClock(datetime.now(UTC))
    deliveries = first.infra.repos.deliveries
    keeper = ClaimKeeper(deliveries, "stuck-worker", LEASE, clock, max_hold=MAX_HOLD)
    (due,) = deliveries.due("9" * 15, limit=10).items
    (claimed,) = deliveries.claim_many([due], keeper.owner, epoch(clock.now()), LEASE)
    assert claimed is not None
    keeper.hold([claimed])
    assert MAX_HOLD_SECONDS >= 3600  # the default leaves every real send (at most 66 min) its renewals
    try:
        renewals = 0
        for _ in range(4 * int(MAX_HOLD / LEASE)):  # renewed at each look while the send is young enough
            clock.advance(LEASE / 2)
            if not keeper.renew_due():
                break
            renewals += 1
        held_for = renewals * LEASE / 2
        assert MAX_HOLD - LEASE < held_for <= MAX_HOLD
        left = keeper.seconds_left(claimed)
        assert left is not None
        assert left <= LEASE / 2  # no longer renewed: it lapses
        clock.advance(LEASE)
        assert keeper.renew_due() == 0
        assert (keeper.seconds_left(claimed) or 0) < 0
    finally:
        keeper.close()


def test_the_longest_hold_outlasts_every_send_the_settings_allow() -> None:
    """MAX_HOLD_SECONDS against the limits the settings and integration configs accept, read from
    their own schemas: raising a limit without the hold fails here."""
    hook = WebhookConfig.model_json_schema()["properties"]
    settings = Settings.model_json_schema()["properties"]
    webhook = (hook["retry_count"]["maximum"] + 1) * SEND_DEADLINE_TIMEOUTS * hook["timeout_seconds"]["maximum"]
    webhook += settings["template_timeout_seconds"]["maximum"]
    mail = SEND_DEADLINE_TIMEOUTS * settings["smtp_timeout_seconds"]["maximum"]
    fixed = SEND_DEADLINE_TIMEOUTS * max(jira.TIMEOUT_SECONDS, slack.TIMEOUT_SECONDS, pagerduty.TIMEOUT_SECONDS)
    assert 1.5 * max(webhook, mail, fixed) <= MAX_HOLD_SECONDS

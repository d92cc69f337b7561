"""`delivery_processes`: helper processes run the outbox beside the worker's own, over one SQLite
home, and every delivery still reaches the receiver exactly once."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

from mantissa_log.config import Settings
from mantissa_log.services.container import build_services
from tests.delivery.conftest import add_webhook
from tests.delivery.receiver import Received, Receiver
from tests.delivery.test_outbox import fire

ALERTS = 300
SENDERS_PER_PROCESS = 8  # the outbox's pool (`Outbox.concurrency`)


def test_two_processes_send_every_delivery_exactly_once(tmp_path: Path, environment_name: str) -> None:
    config = Settings(
        home=tmp_path / "home", environment=environment_name, allow_private_targets=True, delivery_processes=2
    )
    services = build_services(config)
    receiver = Receiver()
    # The first requests are held until more arrive at once than one process's senders can
    # make: proof that the helper process sends beside the worker's own (no timing involved;
    # the bound only keeps a broken build from hanging the suite).
    two_at_work = threading.Event()
    lock = threading.Lock()
    at_once = 0
    give_up_at = time.monotonic() + 120

    def hold(_: Received) -> None:
        nonlocal at_once
        with lock:
            at_once += 1
            if at_once > SENDERS_PER_PROCESS:
                two_at_work.set()
        two_at_work.wait(max(0.0, give_up_at - time.monotonic()))
        with lock:
            at_once -= 1

    receiver.on_request = hold
    stop = threading.Event()
    loop = threading.Thread(target=services.worker.run, args=(stop,), kwargs={"only": ("delivery",)})
    try:
        services.users.create_user("alice")
        add_webhook(services, "hook", receiver.url + "/in", timeout_seconds=120)
        alerts = [fire(services, n) for n in range(ALERTS)]
        loop.start()
        deadline = time.monotonic() + 300
        while services.infra.repos.deliveries.due("9" * 15, limit=1).items and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        loop.join(timeout=600)  # the helper's sends in flight finish and are recorded first
        assert not loop.is_alive()
        assert two_at_work.is_set(), "never more requests at once than one process sends"
        seen = collections.Counter(r.headers["x-mantissa-delivery"] for r in receiver.requests)
        assert len(seen) == ALERTS
        assert set(seen.values()) == {1}, [k for k, v in seen.items() if v > 1][:5]
        for alert in alerts:
            (delivery,) = services.infra.repos.deliveries.for_alert("alice", alert.alert_id)
            assert (delivery.status, delivery.attempts, delivery.lease_owner) == ("delivered", 1, None)
            stored = services.infra.repos.alerts.get_alert("alice", alert.alert_id)
            assert stored is not None
            assert stored.delivery_status == "delivered"
        assert services.worker.delivery_helpers is not None
        assert services.worker.delivery_helpers.alive() == 0
    finally:
        stop.set()
        receiver.stop()
        services.close()

"""kill -9 of a worker between "sent" and "recorded": the delivery is resent, never lost or faked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from mantissa_log.clock import from_epoch
from mantissa_log.services.container import build_services
from tests.clock import ManualClock
from tests.delivery.conftest import add_webhook, delivery_config, use_clock
from tests.delivery.receiver import Received, Receiver
from tests.delivery.test_outbox import fire

EXE = str(Path(sys.executable).parent / "mantissa-log")


def test_worker_killed_after_sending_resends_on_restart(tmp_path: Path, environment_name: str) -> None:
    home = tmp_path / "home"
    services = build_services(delivery_config("sqlite", home, environment_name, None))
    receiver = Receiver()
    try:
        services.users.create_user("alice")
        add_webhook(services, "hook", receiver.url + "/in")
        alert = fire(services)
        env = os.environ | {
            "MANTISSA_HOME": str(home),
            "MANTISSA_ENVIRONMENT": environment_name,
            "MANTISSA_ALLOW_PRIVATE_TARGETS": "true",
            "MANTISSA_DELIVERY_LEASE_SECONDS": "1",
        }
        worker = subprocess.Popen([EXE, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def kill_worker(_: Received) -> None:
            # The request has reached us, so it was sent; the worker dies before it can record that.
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)

        receiver.on_request = kill_worker
        worker.wait(timeout=120)
        assert worker.returncode == -signal.SIGKILL
        assert len(receiver.requests) == 1
        (delivery,) = services.infra.repos.deliveries.for_alert("alice", alert.alert_id)
        assert delivery.status == "pending"  # nothing marked delivered that we did not see recorded
        assert delivery.lease_owner is not None

        receiver.on_request = None
        # Another worker (this process, on a clock it moves) must wait out the dead worker's claim.
        assert delivery.lease_until is not None
        lease_end = from_epoch(delivery.lease_until)
        clock = ManualClock(lease_end - timedelta(seconds=0.5))
        use_clock(services, clock)
        assert services.infra.outbox.tick().sent == 0
        assert len(receiver.requests) == 1  # the claim is still live: not taken over
        clock.set(lease_end + timedelta(seconds=0.5))
        assert services.infra.outbox.tick().sent == 1
        assert len(receiver.requests) == 2
        first, second = receiver.requests
        assert first.headers["x-mantissa-delivery"] == second.headers["x-mantissa-delivery"]  # receivers can dedup
        assert first.body == second.body
        (delivered,) = services.infra.repos.deliveries.for_alert("alice", alert.alert_id)
        assert (delivered.status, delivered.attempts) == ("delivered", 1)
    finally:
        receiver.stop()
        services.close()

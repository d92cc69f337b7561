"""kill -9 of a worker between "sent" and "recorded": the delivery is resent, never lost or faked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mantissa_log.services.container import build_services
from tests.delivery.conftest import add_webhook, delivery_config
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
        time.sleep(1.2)  # the dead worker's claim expires
        again = subprocess.run(
            [EXE, "worker", "--once"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert again.returncode == 0, again.stderr
        assert "sent=1" in again.stdout
        assert len(receiver.requests) == 2
        first, second = receiver.requests
        assert first.headers["x-mantissa-delivery"] == second.headers["x-mantissa-delivery"]  # receivers can dedup
        assert first.body == second.body
        (delivered,) = services.infra.repos.deliveries.for_alert("alice", alert.alert_id)
        assert (delivered.status, delivered.attempts) == ("delivered", 1)
    finally:
        receiver.stop()
        services.close()

"""One user's integration cannot stall another's work, relay mail, or flood test sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services
from mantissa_log.services.worker import Cadence, Worker
from tests.clock import ManualClock
from tests.delivery.conftest import add_webhook, delivery_config
from tests.delivery.receiver import Receiver
from tests.delivery.test_outbox import fire
from tests.provisioned import build_provisioned

LOOPS = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
# Passes the save-time render (the sample alert's rule is `sample-rule`), loops on real alerts.
LATE_BOMB = "{% if alert.rule_name != 'sample-rule' %}" + LOOPS + "{% endif %}done"


@pytest.fixture
def dlv(
    tmp_path: Path, environment_name: str, backend_kind: str, request: pytest.FixtureRequest, clock: ManualClock
) -> Iterator[Services]:
    """The delivery services of an installation whose operator sends mail from company.com."""
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    config = delivery_config(
        backend_kind, tmp_path / "home", environment_name, endpoint, smtp_from="alerts@company.com"
    )
    services = build_provisioned(config, clock)
    services.users.create_user("alice")
    services.users.create_user("bob")
    yield services
    services.close()


@pytest.fixture
def client(dlv: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    alice = {"Authorization": f"Bearer {dlv.users.issue_token('alice')}"}
    bob = {"Authorization": f"Bearer {dlv.users.issue_token('bob')}"}
    with TestClient(create_app(dlv.config, dlv)) as api:
        yield api, alice, bob


def test_a_looping_template_does_not_delay_another_users_delivery(dlv: Services, receiver: Receiver) -> None:
    add_webhook(dlv, "bomb", receiver.url + "/alice", payload_template="custom", template=LATE_BOMB)
    add_webhook(dlv, "plain", receiver.url + "/bob", user="bob")
    bombs = [fire(dlv, n) for n in range(3)]
    fire(dlv, 9, user="bob")
    started = time.monotonic()
    dlv.infra.outbox.tick()
    assert time.monotonic() - started < 6  # one deadline (2 s) for the first bomb, the rest quarantined
    assert [r.path for r in receiver.requests] == ["/bob"]
    for alert in bombs:
        (delivery,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
        assert delivery.status == "dead"
        assert "exceeded its limits" in (delivery.last_error or "")


def test_a_template_over_its_limits_is_refused_at_save(
    client: tuple[TestClient, dict[str, str], dict[str, str]], receiver: Receiver
) -> None:
    api, alice, _ = client
    for template in (LOOPS, "{{ 'x'|center(1000000000) }}", "{{ '%1000000000s'|format('x') }}", "{% if %}"):
        started = time.monotonic()
        response = api.post(
            "/api/v1/integrations",
            headers=alice,
            json={
                "integration_id": "hook",
                "integration_type": "webhook",
                "config": {"url": receiver.url, "payload_template": "custom", "template": template},
            },
        )
        assert time.monotonic() - started < 3.5
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "config.template"
    assert api.get("/api/v1/integrations/hook", headers=alice).status_code == 404


def test_a_slow_outbox_never_delays_detection() -> None:
    detected = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow_delivery() -> None:
        runs.append("outbox")
        release.wait(10)

    def detection() -> None:
        runs.append("detection")
        if runs.count("detection") >= 3:
            detected.set()

    idle: Any = SimpleNamespace(maintain=lambda: None, purge_expired=lambda: None)
    worker = Worker(
        detection=SimpleNamespace(tick=detection),  # type: ignore[arg-type]
        delivery=SimpleNamespace(pump=slow_delivery, close=lambda: None),  # type: ignore[arg-type]
        logs=idle,
        admin=idle,
        cadence=Cadence(detection_every=0.05, delivery_every=0.05),
    )
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,), kwargs={"only": ("detection", "delivery")}, daemon=True)
    loop.start()
    try:
        assert detected.wait(3), runs  # three detection ticks while the first outbox tick is stuck
        assert runs.count("outbox") == 1
    finally:
        stop.set()
        release.set()
        loop.join(5)


def _email(integration_id: str, **config: Any) -> dict[str, Any]:
    return {
        "integration_id": integration_id,
        "integration_type": "email",
        "config": {"recipients": ["soc@company.com"], **config},
    }


def test_email_senders_are_the_operators_domains(client: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    api, alice, _ = client
    spoof = api.post("/api/v1/integrations", headers=alice, json=_email("e1", from_address="ceo@bank.example"))
    assert spoof.status_code == 422, spoof.text
    assert spoof.json()["error"]["field"] == "config.from_address"
    assert "bank.example" not in spoof.json()["error"]["message"]  # the input is never echoed
    allowed = _email("e2", from_address="alerts@company.com", reply_to="alice@personal.example")
    assert api.post("/api/v1/integrations", headers=alice, json=allowed).status_code == 201
    assert api.post("/api/v1/integrations", headers=alice, json=_email("e3")).status_code == 201
    many = _email("e4", recipients=[f"r{i}@company.com" for i in range(11)])
    too_many = api.post("/api/v1/integrations", headers=alice, json=many)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "config.recipients"


def test_test_sends_are_rate_limited_per_user_for_every_type(
    dlv: Services, clock: ManualClock, receiver: Receiver, client: tuple[TestClient, dict[str, str], dict[str, str]]
) -> None:
    api, alice, bob = client
    add_webhook(dlv, "hook", receiver.url + "/a")
    api.post("/api/v1/integrations", headers=alice, json=_email("mail"))
    add_webhook(dlv, "hook", receiver.url + "/b", user="bob")
    answers = [api.post(f"/api/v1/integrations/{i}/test", headers=alice) for i in ("hook", "mail") * 3]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["field"] == "integration_id"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert api.post("/api/v1/integrations/hook/test", headers=bob).status_code == 200  # per user
    clock.advance(60)
    assert api.post("/api/v1/integrations/mail/test", headers=alice).status_code == 200
    assert len([r for r in receiver.requests if r.path == "/a"]) == 3

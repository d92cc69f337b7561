"""A receiver down for ten minutes gets everything once it is back; dead deliveries can be sent again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services
from tests.clock import ManualClock
from tests.delivery.conftest import add_webhook
from tests.delivery.receiver import Receiver, Reply
from tests.delivery.test_outbox import fire
from tests.fixtures_moto import free_port


def test_ten_minutes_down_then_up_delivers_everything_once(dlv: Services, clock: ManualClock) -> None:
    port = free_port()
    add_webhook(dlv, "hook", f"http://127.0.0.1:{port}/in", retry_count=3)
    alerts = [fire(dlv, n) for n in range(1, 6)]
    # Down: nothing listens. The worker's loop asks the outbox every few seconds for ten minutes.
    for _ in range(120):
        dlv.delivery.tick()
        clock.advance(5)
    states = {d.status for a in alerts for d in dlv.infra.repos.deliveries.for_alert("alice", a.alert_id)}
    assert states == {"pending"}
    receiver = Receiver(port)
    try:
        for _ in range(200):  # up again: within the backoff ceiling everything is sent
            dlv.delivery.tick()
            clock.advance(5)
            if len(receiver.requests) == len(alerts):
                break
        got = sorted(r.json()["alert_id"] for r in receiver.requests)
        assert got == sorted(a.alert_id for a in alerts)  # each exactly once
        for alert in alerts:
            (delivery,) = dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)
            assert (delivery.status, delivery.last_error) == ("delivered", None)
    finally:
        receiver.stop()


def test_dead_deliveries_are_redelivered_with_the_same_id(dlv: Services, receiver: Receiver) -> None:
    _, token = dlv.users.create_user("carol")
    headers = {"Authorization": f"Bearer {token}"}
    add_webhook(dlv, "hook", receiver.url + "/in", user="carol")
    add_webhook(dlv, "other", receiver.url + "/other", user="carol")
    receiver.script = [Reply(400, b"bad config")] * 4  # permanent: every delivery dies at once
    alerts = [fire(dlv, n, user="carol") for n in (1, 2)]
    dlv.delivery.tick()
    assert all(d.status == "dead" for a in alerts for d in dlv.infra.repos.deliveries.for_alert("carol", a.alert_id))
    first_ids = sorted(r.headers["x-mantissa-delivery"] for r in receiver.requests)
    with TestClient(create_app(dlv.config, dlv)) as api:
        # One delivery.
        one = api.post(f"/api/v1/alerts/{alerts[0].alert_id}/deliveries/hook/redeliver", headers=headers)
        assert one.status_code == 200, one.text
        assert one.json()["redelivered"] == 1
        # Not dead any more: a second request for it is refused, naming the field.
        again = api.post(f"/api/v1/alerts/{alerts[0].alert_id}/deliveries/hook/redeliver", headers=headers)
        assert (again.status_code, again.json()["error"]["field"]) == (422, "integration_id")
        # Every dead delivery of an integration, in bulk.
        bulk = api.post("/api/v1/integrations/other/redeliver", headers=headers)
        assert bulk.json()["redelivered"] == 2
        # Someone else's alert or integration is not found.
        assert api.post("/api/v1/integrations/hook/redeliver", headers=dlv_headers(dlv)).status_code == 404
        dlv.delivery.tick()
        repeats = sorted(r.headers["x-mantissa-delivery"] for r in receiver.requests[4:])
        assert len(repeats) == 3
        assert set(repeats) <= set(first_ids)  # the same delivery ids: receivers can drop a repeat
        audit = dlv.audit.newest(limit=50, action="delivery.redeliver").items
        assert [r.actor for r in audit] == ["carol", "carol"]
        detail = api.get(f"/api/v1/alerts/{alerts[0].alert_id}", headers=headers).json()
        states = {d["integration_id"]: d["status"] for d in detail["deliveries"]}
        assert states == {"hook": "delivered", "other": "delivered"}


def dlv_headers(dlv: Services) -> dict[str, str]:
    _, token = dlv.users.create_user("dave")
    return {"Authorization": f"Bearer {token}"}

"""Alert triage over the API: who and when, allowed moves, conflicts, scoping and the status filter."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from mantissa_log.state.repositories.alerts import Firing
from tests.factories import make_alert, now
from tests.fixtures_api import ApiUser


def stored_alert(services: Services, n: int = 1, user: str = "alice") -> str:
    alert, _ = services.infra.repos.alerts.record_firing(Firing(make_alert(n, user=user, rule_name=f"r{n}"), 0), now())
    return alert.alert_id


def test_triage_records_who_when_and_note(api: TestClient, services: Services, alice: ApiUser) -> None:
    alert_id = stored_alert(services)
    url = f"/api/v1/alerts/{alert_id}/status"
    acked = api.post(url, headers=alice.headers, json={"status": "acknowledged", "note": "looking"})
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert (body["status"], body["status_by"], body["status_note"]) == ("acknowledged", "alice", "looking")
    assert body["status_at"].endswith("Z")
    resolved = api.post(url, headers=alice.headers, json={"status": "resolved"}).json()
    assert [(e["previous"], e["status"]) for e in resolved["triage"]] == [
        ("open", "acknowledged"),
        ("acknowledged", "resolved"),
    ]
    read = api.get(f"/api/v1/alerts/{alert_id}", headers=alice.headers).json()
    assert read["status"] == "resolved"
    assert read["status_by"] == "alice"


def test_triage_refuses_what_makes_no_sense(api: TestClient, services: Services, alice: ApiUser) -> None:
    alert_id = stored_alert(services)
    url = f"/api/v1/alerts/{alert_id}/status"
    same = api.post(url, headers=alice.headers, json={"status": "open"})
    assert same.status_code == 409
    assert same.json()["error"]["field"] == "status"
    bad = api.post(url, headers=alice.headers, json={"status": "closed"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "status"
    long_note = api.post(url, headers=alice.headers, json={"status": "resolved", "note": "x" * 2001})
    assert long_note.status_code == 422
    assert long_note.json()["error"]["field"] == "note"
    extra = api.post(url, headers=alice.headers, json={"status": "resolved", "by": "mallory"})
    assert extra.status_code == 422
    assert api.get(f"/api/v1/alerts/{alert_id}", headers=alice.headers).json()["status"] == "open"


def test_another_users_alert_cannot_be_triaged(
    api: TestClient, services: Services, alice: ApiUser, bob: ApiUser
) -> None:
    alert_id = stored_alert(services)
    response = api.post(f"/api/v1/alerts/{alert_id}/status", headers=bob.headers, json={"status": "resolved"})
    assert response.status_code == 404
    assert api.get(f"/api/v1/alerts/{alert_id}", headers=alice.headers).json()["status"] == "open"


def test_list_filters_by_status(api: TestClient, services: Services, alice: ApiUser) -> None:
    first, second = stored_alert(services, 1), stored_alert(services, 2)
    api.post(f"/api/v1/alerts/{second}/status", headers=alice.headers, json={"status": "false_positive"})
    ids = lambda q: [a["alert_id"] for a in api.get(f"/api/v1/alerts?{q}", headers=alice.headers).json()["items"]]  # noqa: E731
    assert ids("status=open") == [first]
    assert ids("status=false_positive") == [second]
    assert ids("") == [second, first]
    assert api.get("/api/v1/alerts?status=nope", headers=alice.headers).status_code == 400

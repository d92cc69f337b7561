"""Every request and state change lands in the hash chain; tampering is detected."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from mantissa_log.state.tables import AUDIT_LOG
from tests.api.test_integrations_api import SLACK, SLACK_URL
from tests.fixtures_api import ApiUser


def test_requests_and_changes_are_recorded(api: TestClient, alice: ApiUser, root: ApiUser, services: Services) -> None:
    api.get("/api/v1/settings", headers=alice.headers)
    api.post("/api/v1/integrations", headers=alice.headers, json=SLACK)
    api.get("/api/v1/integrations/nope", headers=alice.headers)
    api.get("/api/v1/settings", headers={"Authorization": "Bearer mlt_wrong"})
    api.get("/api/v1/admin/audit", headers=alice.headers)
    body = api.get("/api/v1/admin/audit?limit=200", headers=root.headers).json()
    assert body["verification"]["ok"] is True
    records = body["items"]
    assert [r["seq"] for r in records] == sorted((r["seq"] for r in records), reverse=True)
    # One record per request, named after the action.
    seen = [(r["actor"], r["action"], r.get("status"), r["outcome"]) for r in records]
    assert seen[::-1] == [
        ("alice", "settings.read", 200, "success"),
        ("alice", "integration.create", 201, "success"),
        ("alice", "integration.read", 404, "failure"),
        ("anonymous", "settings.read", 401, "denied"),
        ("alice", "admin.audit.read", 403, "denied"),
    ]
    assert [r["target"] for r in records][::-1][:3] == [
        "/api/v1/settings",
        "/api/v1/integrations",
        "/api/v1/integrations/nope",
    ]
    assert all(r["client"] for r in records)
    assert SLACK_URL not in str(body)
    assert alice.token not in str(body)


def test_tampering_breaks_verification(api: TestClient, alice: ApiUser, services: Services) -> None:
    for _ in range(3):
        api.get("/api/v1/me", headers=alice.headers)
    assert services.audit.verify().ok
    second = services.infra.backend.get(AUDIT_LOG, {"chain": "main", "seq": 2})
    assert second is not None
    services.infra.backend.put(AUDIT_LOG, second | {"actor": "mallory"})
    verdict = services.audit.verify()
    assert not verdict.ok
    assert verdict.first_bad_seq == 2
    services.infra.backend.put(AUDIT_LOG, second)
    assert services.audit.verify().ok
    services.infra.backend.delete(AUDIT_LOG, {"chain": "main", "seq": 2})
    gap = services.audit.verify()
    assert (gap.ok, gap.first_bad_seq) == (False, 3)


def test_concurrent_appends_keep_one_linear_chain(services: Services) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: services.audit.record(actor="w", action=f"a{i}"), range(40)))
    verdict = services.audit.verify()
    assert verdict.ok
    assert verdict.records == 40

"""Every request authenticated; another user's items answer 404; admin routes answer 403."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.domain.rules import DetectionRule, rule_s3_key
from mantissa_log.services.container import Services
from tests.api.test_integrations_api import ALL, SLACK
from tests.fixtures_api import ApiUser

PROTECTED = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/settings"),
    ("PUT", "/api/v1/settings"),
    ("PATCH", "/api/v1/settings"),
    ("GET", "/api/v1/integrations"),
    ("POST", "/api/v1/integrations"),
    ("GET", "/api/v1/integrations/slack-main"),
    ("PUT", "/api/v1/integrations/slack-main"),
    ("PATCH", "/api/v1/integrations/slack-main"),
    ("DELETE", "/api/v1/integrations/slack-main"),
    ("GET", "/api/v1/admin/rules/enabled"),
    ("GET", "/api/v1/admin/integrations?type=slack"),
    ("GET", "/api/v1/admin/audit"),
]


def test_healthz_needs_no_token(api: TestClient) -> None:
    assert api.get("/healthz").json()["status"] == "ok"


def test_every_route_refuses_missing_or_bad_tokens(api: TestClient, alice: ApiUser) -> None:
    for method, url in PROTECTED:
        for headers in ({}, {"Authorization": "Bearer mlt_not-a-real-token"}, {"Authorization": "Basic YTpi"}):
            response = api.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, url, headers, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"


def test_me(api: TestClient, alice: ApiUser, root: ApiUser) -> None:
    assert api.get("/api/v1/me", headers=alice.headers).json() == {
        "user_id": "alice",
        "is_admin": False,
        "role": "analyst",
    }
    assert api.get("/api/v1/me", headers=root.headers).json() == {"user_id": "root", "is_admin": True, "role": "admin"}


def test_another_users_integrations_are_invisible(
    api: TestClient, alice: ApiUser, bob: ApiUser, services: Services
) -> None:
    for body in ALL:
        assert api.post("/api/v1/integrations", headers=alice.headers, json=body).status_code == 201
    for body in ALL:
        url = f"/api/v1/integrations/{body['integration_id']}"
        assert api.get(url, headers=bob.headers).status_code == 404
        assert api.patch(url, headers=bob.headers, json={"enabled": False}).status_code == 404
        put_body = {k: v for k, v in body.items() if k != "integration_id"}
        assert api.put(url, headers=bob.headers, json=put_body).status_code == 404
        assert api.delete(url, headers=bob.headers).status_code == 404
        assert api.post(f"{url}/test", headers=bob.headers).status_code in (404, 405)
    assert api.get("/api/v1/integrations", headers=bob.headers).json()["items"] == []
    # Bob may use the same id for his own item; Alice's stays untouched.
    assert (
        api.post("/api/v1/integrations", headers=bob.headers, json=SLACK | {"config": {"channel": "bobs"}}).status_code
        == 201
    )
    mine = api.get("/api/v1/integrations/slack-main", headers=alice.headers).json()
    assert mine["config"]["channel"] == "siem-alerts"
    assert mine["enabled"] is True
    # Alice's settings are not Bob's either.
    api.patch("/api/v1/settings", headers=alice.headers, json={"llm_provider": "google"})
    assert api.get("/api/v1/settings", headers=bob.headers).json().get("llm_provider") is None


def test_a_cursor_cannot_reach_into_another_partition(api: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps({"user_id": "alice", "integration_id": "a"}).encode()).decode()
    response = api.get(f"/api/v1/integrations?next={forged}", headers=bob.headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "next"


def test_admin_routes(api: TestClient, alice: ApiUser, root: ApiUser, services: Services) -> None:
    for _, url in PROTECTED[-3:]:
        response = api.get(url, headers=alice.headers)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "forbidden"
    for name, severity, enabled in (("a", "high", "true"), ("b", "low", "true"), ("c", "high", "false")):
        services.infra.repos.rules.create_rule(
            DetectionRule(
                user_id="alice",
                rule_name=name,
                s3_key=rule_s3_key("alice", name),
                severity=severity,  # type: ignore[arg-type]
                enabled=enabled,  # type: ignore[arg-type]
                created_at="2026-11-27T10:00:00Z",
                updated_at="2026-11-27T10:00:00Z",
            )
        )
    enabled = api.get("/api/v1/admin/rules/enabled", headers=root.headers).json()
    assert sorted(r["rule_name"] for r in enabled["items"]) == ["a", "b"]
    high = api.get("/api/v1/admin/rules/enabled?severity=high", headers=root.headers).json()
    assert [r["rule_name"] for r in high["items"]] == ["a"]
    api.post("/api/v1/integrations", headers=alice.headers, json=SLACK)
    slack = api.get("/api/v1/admin/integrations?type=slack", headers=root.headers).json()
    assert [(i["user_id"], i["integration_id"]) for i in slack["items"]] == [("alice", "slack-main")]
    assert api.get("/api/v1/admin/integrations", headers=root.headers).status_code == 400

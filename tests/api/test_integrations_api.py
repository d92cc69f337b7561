"""Integrations over HTTP: per-type configs, write-only secrets, partial updates, clear errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.fixtures_api import ApiUser

SLACK_URL = "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx"
PD_KEY = "R0ut1ngK3yAbCdEf0123456789abcdef"
JIRA_TOKEN = "ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz0123456789"
BEARER = "whk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"

SLACK: dict[str, Any] = {
    "integration_id": "slack-main",
    "integration_type": "slack",
    "config": {
        "channel": "siem-alerts",
        "severity_filter": ["critical", "high"],
        "mention_on_critical": True,
        "mention_user": "@oncall",
    },
    "secret": SLACK_URL,
}
JIRA: dict[str, Any] = {
    "integration_id": "jira-security",
    "integration_type": "jira",
    "config": {
        "jira_url": "https://company.atlassian.net",
        "project_key": "SEC",
        "issue_type": "Security Finding",
        "labels": ["mantissa-log"],
    },
    "secret": JIRA_TOKEN,
}
PAGERDUTY: dict[str, Any] = {
    "integration_id": "pagerduty-oncall",
    "integration_type": "pagerduty",
    "config": {"severity_threshold": "high", "dedup_key_prefix": "mantissa-log"},
    "secret": PD_KEY,
}
EMAIL: dict[str, Any] = {
    "integration_id": "email-team",
    "integration_type": "email",
    "config": {
        "recipients": ["security@company.com"],
        "from_address": "mantissa-log@company.com",
        "include_query_results": True,
    },
}
WEBHOOK: dict[str, Any] = {
    "integration_id": "webhook-siem",
    "integration_type": "webhook",
    "config": {"url": "https://siem.company.com/api/alerts", "headers": {"Authorization": "Bearer ${SECRET}"}},
    "secret": BEARER,
}
ALL = [SLACK, JIRA, PAGERDUTY, EMAIL, WEBHOOK]


def test_create_each_type_keeps_only_references(api: TestClient, alice: ApiUser, services: Services) -> None:
    for body in ALL:
        response = api.post("/api/v1/integrations", headers=alice.headers, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert "secret" not in created
        if "secret" in body:
            assert body["secret"] not in response.text
            assert services.infra.secrets.get(created["secret_arn"]) == body["secret"]
            assert created["status"] == "configured"
        assert created["integration_type"] == body["integration_type"]
    slack = api.get("/api/v1/integrations/slack-main", headers=alice.headers).json()
    assert slack["config"]["webhook_url_secret"] == slack["secret_arn"]
    pd = api.get("/api/v1/integrations/pagerduty-oncall", headers=alice.headers).json()
    assert pd["config"]["service_key"] == pd["secret_arn"]
    listing = api.get("/api/v1/integrations", headers=alice.headers).json()
    assert sorted(i["integration_id"] for i in listing["items"]) == sorted(b["integration_id"] for b in ALL)
    for secret in (SLACK_URL, PD_KEY, JIRA_TOKEN, BEARER):
        assert secret not in str(listing)
    only_slack = api.get("/api/v1/integrations?type=slack", headers=alice.headers).json()
    assert [i["integration_id"] for i in only_slack["items"]] == ["slack-main"]


def test_slack_without_secret_is_not_configured(api: TestClient, alice: ApiUser) -> None:
    body = {k: v for k, v in SLACK.items() if k != "secret"}
    created = api.post("/api/v1/integrations", headers=alice.headers, json=body).json()
    assert created["status"] == "not_configured"
    assert "secret_arn" not in created
    patched = api.patch("/api/v1/integrations/slack-main", headers=alice.headers, json={"secret": SLACK_URL}).json()
    assert patched["status"] == "configured"
    assert patched["config"]["webhook_url_secret"] == patched["secret_arn"]


def test_patch_changes_config_and_keeps_secret(api: TestClient, alice: ApiUser, services: Services) -> None:
    created = api.post("/api/v1/integrations", headers=alice.headers, json=SLACK).json()
    patched = api.patch(
        "/api/v1/integrations/slack-main", headers=alice.headers, json={"config": {"channel": "soc"}, "enabled": False}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["config"]["channel"] == "soc"
    assert body["config"]["severity_filter"] == ["critical", "high"]
    assert body["enabled"] is False
    assert body["secret_arn"] == created["secret_arn"]
    assert services.infra.secrets.get(body["secret_arn"]) == SLACK_URL


def test_new_secret_replaces_old_one(api: TestClient, alice: ApiUser, services: Services) -> None:
    old = api.post("/api/v1/integrations", headers=alice.headers, json=PAGERDUTY).json()["secret_arn"]
    new_key = "N3wR0ut1ngK3yAbCdEf0123456789abc"
    new = api.patch("/api/v1/integrations/pagerduty-oncall", headers=alice.headers, json={"secret": new_key}).json()
    assert new["secret_arn"] != old
    assert services.infra.secrets.get(new["secret_arn"]) == new_key
    assert not services.infra.secrets.exists(old)


def test_put_replaces_and_delete_removes_secret(api: TestClient, alice: ApiUser, services: Services) -> None:
    ref = api.post("/api/v1/integrations", headers=alice.headers, json=WEBHOOK).json()["secret_arn"]
    replaced = api.put(
        "/api/v1/integrations/webhook-siem",
        headers=alice.headers,
        json={
            "integration_type": "webhook",
            "config": {
                "url": "https://other.company.com/hook",
                "method": "PUT",
                "headers": {"Authorization": "Bearer ${SECRET}"},
            },
        },
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["config"]["method"] == "PUT"
    assert replaced.json()["secret_arn"] == ref  # no new secret given: the old one is kept
    assert api.delete("/api/v1/integrations/webhook-siem", headers=alice.headers).status_code == 204
    assert api.get("/api/v1/integrations/webhook-siem", headers=alice.headers).status_code == 404
    assert not services.infra.secrets.exists(ref)


def test_duplicate_is_409_and_writes_nothing(api: TestClient, alice: ApiUser) -> None:
    assert api.post("/api/v1/integrations", headers=alice.headers, json=EMAIL).status_code == 201
    again = api.post(
        "/api/v1/integrations",
        headers=alice.headers,
        json=EMAIL | {"config": EMAIL["config"] | {"recipients": ["x@y.io"]}},
    )
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "integration_id"
    assert api.get("/api/v1/integrations/email-team", headers=alice.headers).json()["config"]["recipients"] == [
        "security@company.com"
    ]


def test_plaintext_secrets_in_config_are_refused(api: TestClient, alice: ApiUser) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (SLACK | {"config": {"channel": "siem-alerts", "webhook_url_secret": SLACK_URL}}, "config.webhook_url_secret"),
        (WEBHOOK | {"config": {"url": SLACK_URL}}, "config.url"),
        (
            WEBHOOK
            | {"config": {"url": "https://x.company.com", "headers": {"Authorization": "Bearer abc123def456ghi789"}}},
            "config.headers",
        ),
        (
            WEBHOOK
            | {"config": {"url": "https://x.company.com", "headers": {"X-Token": "xoxb-123456789012-abcdefghijkl"}}},
            "config.headers.X-Token",
        ),
        (JIRA | {"config": JIRA["config"] | {"assignee": JIRA_TOKEN}}, "config.assignee"),
        (PAGERDUTY | {"config": {"service_key": PD_KEY}}, "config.service_key"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/integrations", headers=alice.headers, json=body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field, (field, response.text)
        for secret in (SLACK_URL, JIRA_TOKEN, PD_KEY, "abc123def456ghi789", "xoxb-123456789012-abcdefghijkl"):
            assert secret not in response.text  # errors never echo the value
    assert api.get("/api/v1/integrations", headers=alice.headers).json()["items"] == []


def test_bad_input_gets_field_named_never_500(api: TestClient, alice: ApiUser) -> None:
    api.post("/api/v1/integrations", headers=alice.headers, json=EMAIL)
    cases: list[tuple[str, str, Any, int, str]] = [
        (
            "POST",
            "/api/v1/integrations",
            {"integration_type": "teams", "integration_id": "x", "config": {}},
            422,
            "integration_type",
        ),
        ("POST", "/api/v1/integrations", {"integration_id": "x", "config": {}}, 422, "integration_type"),
        (
            "POST",
            "/api/v1/integrations",
            {"integration_type": "email", "config": {"recipients": ["a@b.co"], "from_address": "c@d.co"}},
            422,
            "integration_id",
        ),
        (
            "POST",
            "/api/v1/integrations",
            {"integration_type": "email", "integration_id": "bad id!", "config": EMAIL["config"]},
            422,
            "integration_id",
        ),
        (
            "POST",
            "/api/v1/integrations",
            EMAIL | {"integration_id": "e2", "config": {"recipients": "a@b.co", "from_address": "c@d.co"}},
            422,
            "config.recipients",
        ),
        ("POST", "/api/v1/integrations", EMAIL | {"integration_id": "e2", "extra": 1}, 422, "extra"),
        ("POST", "/api/v1/integrations", SLACK | {"integration_id": "s2", "secret": "not-a-url"}, 422, "secret"),
        ("POST", "/api/v1/integrations", [1, 2], 400, "body"),
        ("PATCH", "/api/v1/integrations/email-team", {"integration_type": "slack"}, 422, "integration_type"),
        (
            "PATCH",
            "/api/v1/integrations/email-team",
            {"config": {"max_results_in_email": -1}},
            422,
            "config.max_results_in_email",
        ),
        ("PATCH", "/api/v1/integrations/email-team", {"config": "x"}, 422, "config"),
        ("PATCH", "/api/v1/integrations/email-team", {"status": "configured"}, 422, "status"),
        ("PUT", "/api/v1/integrations/email-team", EMAIL | {"integration_id": "other"}, 422, "integration_id"),
        ("GET", "/api/v1/integrations?limit=0", None, 400, "limit"),
        ("GET", "/api/v1/integrations?type=teams", None, 400, "type"),
        ("GET", "/api/v1/integrations?next=%%%", None, 400, "next"),
    ]
    for method, url, body, status, field in cases:
        response = api.request(method, url, headers=alice.headers, json=body)
        assert response.status_code == status, (method, url, body, response.text)
        assert response.json()["error"]["field"] == field, (method, url, body, response.text)
    assert (
        api.get("/api/v1/integrations/email-team", headers=alice.headers).json()["config"]["max_results_in_email"] == 10
    )


def test_pagination_visits_everything_once(api: TestClient, alice: ApiUser) -> None:
    for i in range(7):
        api.post("/api/v1/integrations", headers=alice.headers, json=EMAIL | {"integration_id": f"mail-{i}"})
    seen: list[str] = []
    url = "/api/v1/integrations?limit=3"
    while True:
        page = api.get(url, headers=alice.headers).json()
        seen.extend(i["integration_id"] for i in page["items"])
        if not page["next"]:
            break
        url = f"/api/v1/integrations?limit=3&next={page['next']}"
    assert seen == [f"mail-{i}" for i in range(7)]

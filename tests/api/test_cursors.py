"""A forged `next` cursor is a 400 naming `next` on every list route, on both backends; real ones page."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.api.test_integrations_api import SLACK
from tests.fixtures_api import ApiUser

LISTS = [
    "/api/v1/rules",
    "/api/v1/rules?enabled=true&severity=high",
    "/api/v1/integrations",
    "/api/v1/integrations?type=slack",
    "/api/v1/alerts",
    "/api/v1/alerts?since=2026-01-01T00:00:00Z",
    "/api/v1/admin/rules/enabled",
    "/api/v1/admin/rules/enabled?severity=high",
    "/api/v1/admin/integrations?type=slack",
    "/api/v1/admin/audit",
]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor(value: object) -> str:
    return b64(json.dumps(value))


FORGED = [
    "e30",  # {}
    "%%%",
    "bm90IGpzb24",  # "not json"
    b64("[]"),
    b64('"x"'),
    b64("1"),
    b64("null"),
    b64("[" * 5000 + "]" * 5000),
    b64('{"seq": ' + "9" * 5000 + "}"),
    b64('{"user_id": "root", "rule_name": "\\ud800"}'),
    b64('{"chain": "main", "seq": NaN}'),
    b64('{"chain": "main", "seq": Infinity}'),
    b64("\xff\xfe"),
    cursor({"_pos": ["a"]}),
    cursor({"_pos": 5}),
    cursor({"user_id": "root"}),
    cursor({"user_id": "root", "rule_name": 5}),
    cursor({"user_id": "root", "rule_name": ""}),
    cursor({"user_id": "root", "rule_name": ["a"]}),
    cursor({"user_id": "root", "rule_name": {"S": "a"}}),
    cursor({"user_id": "root", "rule_name": "a" * 2000}),
    cursor({"user_id": "root", "rule_name": "a", "extra": "b"}),
    cursor({"user_id": "root", "integration_id": "a", "integration_type": 5}),
    cursor({"user_id": "root", "alert_id": None}),
    cursor({"user_id": "someone-else", "rule_name": "a"}),
    cursor({"user_id": "root", "rule_name": "a", "enabled": "false", "severity": "high"}),
    cursor({"user_id": "root", "rule_name": "a", "enabled": "true", "severity": True}),
    cursor({"chain": "main", "seq": "1"}),
    cursor({"chain": "main", "seq": 1.5}),
    cursor({"chain": "main", "seq": True}),
    cursor({"chain": "main", "seq": 2**70}),
    cursor({"chain": "other", "seq": 1}),
]


def test_forged_cursors_are_400_naming_next_on_every_list(api: TestClient, root: ApiUser) -> None:
    failures = []
    for url in LISTS:
        for forged in FORGED:
            joiner = "&" if "?" in url else "?"
            response = api.get(f"{url}{joiner}next={forged}", headers=root.headers)
            error = response.json().get("error", {})
            if (response.status_code, error.get("field")) != (400, "next"):
                failures.append((url, forged[:40], response.status_code, response.text[:200]))
    assert not failures


def test_a_cursor_only_continues_its_own_list(api: TestClient, root: ApiUser, services: Services) -> None:
    for n in range(3):
        body = SLACK | {"integration_id": f"slack-{n}"}
        assert api.post("/api/v1/integrations", headers=root.headers, json=body).status_code == 201
    page = api.get("/api/v1/integrations?limit=1", headers=root.headers).json()
    assert page["next"]
    following = api.get(f"/api/v1/integrations?limit=1&next={page['next']}", headers=root.headers)
    assert following.status_code == 200
    assert following.json()["items"][0]["integration_id"] == "slack-1"
    # The same cursor handed to another list is not one of its cursors.
    for url in ("/api/v1/rules", "/api/v1/alerts", "/api/v1/admin/audit", "/api/v1/admin/rules/enabled"):
        response = api.get(f"{url}?next={page['next']}", headers=root.headers)
        assert (response.status_code, response.json()["error"]["field"]) == (400, "next"), url
    by_type = api.get("/api/v1/admin/integrations?type=slack&limit=1", headers=root.headers).json()
    assert by_type["next"]
    response = api.get(f"/api/v1/admin/integrations?type=email&next={by_type['next']}", headers=root.headers)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "next")
    response = api.get(f"/api/v1/admin/integrations?type=slack&next={by_type['next']}", headers=root.headers)
    assert response.status_code == 200


def test_alert_cursors_stay_within_since(api: TestClient, root: ApiUser) -> None:
    inside = cursor({"user_id": "root", "alert_id": "29990101T000000000000Z-x"})
    before = cursor({"user_id": "root", "alert_id": "19990101T000000000000Z-x"})
    since = "/api/v1/alerts?since=2026-01-01T00:00:00Z"
    assert api.get(f"{since}&next={inside}", headers=root.headers).status_code == 200
    response = api.get(f"{since}&next={before}", headers=root.headers)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "next")

"""Every route of the app against every kind of caller: who may do what is a table, and it holds.

The table names every route; a route added without an entry here fails `test_every_route_is_in_the_table`.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import api_routes
from mantissa_log.services.container import Services
from tests.fixtures_api import ApiUser

ALL = frozenset({"admin", "analyst", "ingest"})
USERS = frozenset({"admin", "analyst"})
ADMIN = frozenset({"admin"})
INGEST = frozenset({"ingest"})
PUBLIC = None  # no token needed

# Route name -> the roles that may call it.
ACCESS: dict[str, frozenset[str] | None] = {
    "health": PUBLIC,
    "me.read": ALL,
    "openapi.read": ALL,
    "settings.read": USERS,
    "settings.replace": USERS,
    "settings.update": USERS,
    "integration.list": USERS,
    "integration.create": USERS,
    "integration.read": USERS,
    "integration.replace": USERS,
    "integration.update": USERS,
    "integration.delete": USERS,
    "integration.test": USERS,
    "rule.list": USERS,
    "rule.validate": USERS,
    "rule.create": USERS,
    "rule.read": USERS,
    "rule.replace": USERS,
    "rule.delete": USERS,
    "rule.enable": USERS,
    "rule.disable": USERS,
    "rule.run": USERS,
    "rule.test": USERS,
    "alert.list": USERS,
    "alert.read": USERS,
    "alert.redeliver": USERS,
    "alert.status": USERS,
    "delivery.redeliver": USERS,
    "integration.redeliver": USERS,
    "rule.draft": USERS,
    "query.ask": USERS,
    "query.sql": USERS,
    "query.conversation.list": USERS,
    "query.conversation.read": USERS,
    "query.conversation.delete": USERS,
    "llm.usage": USERS,
    "logs.ingest": INGEST,
    "logs.sources": USERS,
    "admin.rules.enabled": ADMIN,
    "admin.integrations.by_type": ADMIN,
    "admin.audit.read": ADMIN,
    "collector.list": ADMIN,
    "collector.create": ADMIN,
    "collector.read": ADMIN,
    "collector.replace": ADMIN,
    "collector.delete": ADMIN,
    "collector.test": ADMIN,
    "collector.run": ADMIN,
    "hec.event": INGEST,
    "hec.raw": INGEST,
    "hec.health": INGEST,
}
# The HTTP Event Collector answers in Splunk's words: `{"text", "code"}`, 401 without a token,
# 403 "Invalid token" (code 4) for a token that is unknown or may not ingest.
HEC_ROUTES = frozenset({"hec.event", "hec.raw", "hec.health"})


def requests() -> list[tuple[str, str, str]]:
    """(route name, method, concrete path) for every route of the app."""
    found = []
    for route in api_routes():
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            found.append((route.name, method, path))
    return found


def test_every_route_is_in_the_table() -> None:
    names = {name for name, _, _ in requests()}
    assert names == set(ACCESS), f"classify: {names ^ set(ACCESS)}"


@pytest.fixture
def callers(services: Services, root: ApiUser, alice: ApiUser, shipper: ApiUser) -> dict[str, dict[str, str]]:
    # An admin's token narrowed to ingest is an ingest token too: it may not read anything.
    narrowed = services.users.issue_token("root", scope="ingest")
    return {
        "admin": root.headers,
        "analyst": alice.headers,
        "ingest": shipper.headers,
        "admin-ingest-token": {"Authorization": f"Bearer {narrowed}"},
    }


ROLE_OF = {"admin": "admin", "analyst": "analyst", "ingest": "ingest", "admin-ingest-token": "ingest"}


def test_every_route_against_every_role(api: TestClient, callers: dict[str, dict[str, str]], alice: ApiUser) -> None:
    anonymous: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer mlt_not-a-real-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": f"Splunk {alice.token}"},  # the HEC scheme counts on /services/collector only
    ]
    failures = []
    for name, method, path in requests():
        allowed = ACCESS[name]
        hec = name in HEC_ROUTES
        for headers in anonymous:
            # A valid token in the query string is never taken (URLs end up in logs).
            response = api.request(method, f"{path}?token={alice.token}", headers=headers, json={})
            if hec:
                if (response.status_code, response.json().get("code")) not in ((401, 2), (401, 3), (403, 4)):
                    failures.append((name, method, "anonymous", headers, response.status_code, response.text))
                continue
            expected = 200 if allowed is PUBLIC else 401
            if response.status_code != expected:
                failures.append((name, method, "anonymous", headers, response.status_code))
        for caller, headers in callers.items():
            response = api.request(method, path, headers=headers, json={})
            may = allowed is PUBLIC or ROLE_OF[caller] in allowed
            if may and response.status_code in (401, 403):
                failures.append((name, method, caller, response.status_code, response.text))
            refused = (403, 4) if hec else (403, "forbidden")
            got = response.json().get("code") if hec else response.json().get("error", {}).get("code")
            if not may and (response.status_code, got) != refused:
                failures.append((name, method, caller, response.status_code, response.text))
    assert not failures


def test_me_names_the_role(api: TestClient, callers: dict[str, dict[str, str]]) -> None:
    got = {caller: api.get("/api/v1/me", headers=headers).json() for caller, headers in callers.items()}
    assert got["admin"] == {"user_id": "root", "is_admin": True, "role": "admin"}
    assert got["analyst"] == {"user_id": "alice", "is_admin": False, "role": "analyst"}
    assert got["ingest"] == {"user_id": "shipper", "is_admin": False, "role": "ingest"}
    assert got["admin-ingest-token"] == {"user_id": "root", "is_admin": False, "role": "ingest"}


def test_an_ingest_user_cannot_get_a_broader_token(services: Services, shipper: ApiUser) -> None:
    token = services.users.issue_token("shipper", scope="user")
    assert services.users.authenticate(token).role == "ingest"


def test_users_stored_before_roles_keep_their_rights(services: Services) -> None:
    from mantissa_log.state.tables import USERS

    services.infra.backend.put(USERS, {"user_id": "old-admin", "is_admin": True, "created_at": "2026-01-01T00:00:00Z"})
    services.infra.backend.put(USERS, {"user_id": "old-user", "is_admin": False, "created_at": "2026-01-01T00:00:00Z"})
    admin = services.users.authenticate(services.users.issue_token("old-admin"))
    user = services.users.authenticate(services.users.issue_token("old-user"))
    assert (admin.role, admin.is_admin, user.role, user.is_admin) == ("admin", True, "analyst", False)

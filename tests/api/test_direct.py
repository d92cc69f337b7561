"""`GET /api/v1/alerts` answered inside the edge (`api/direct.py`) is the route's own answer.

A parameter the route does not declare is ignored by FastAPI but makes the direct layer decline,
so `?Q` (direct when it can be) and `?Q&zz=1` (always the route) must answer the same, byte for
byte, with the same headers and the same audit record, on both state backends.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api import direct
from mantissa_log.api.deps import encode_cursor
from mantissa_log.api.direct import _Declined, _list_arguments
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing
from tests.factories import make_alert, now
from tests.fixtures_api import ApiUser

ALICE = Principal("alice", "analyst")


def _store(services: Services) -> None:
    for n in range(5):
        severity = ("high", "low", "critical")[n % 3]
        alert = make_alert(n + 1, user="alice", rule_name=f"r{n % 2}", severity=severity)
        services.infra.repos.alerts.record_firing(Firing(alert, 0), now())
    services.infra.repos.alerts.record_firing(Firing(make_alert(1, user="bob", rule_name="r0"), 0), now())


def _same_answer(api: TestClient, query: str, headers: dict[str, str]) -> None:
    direct = api.get(f"/api/v1/alerts?{query}", headers=headers)
    routed = api.get(f"/api/v1/alerts?{query}&zz=1", headers=headers)
    assert direct.status_code == routed.status_code, query
    assert direct.content == routed.content, query
    assert direct.headers == routed.headers, query


def test_direct_answers_are_the_routes(api: TestClient, services: Services, alice: ApiUser) -> None:
    _store(services)
    first = api.get("/api/v1/alerts?limit=2", headers=alice.headers).json()
    assert first["next"] is not None
    assert len(first["items"]) == 2
    queries = [
        "",
        "limit=2",
        "limit=200",
        f"limit=2&next={first['next']}",
        "severity=high",
        "status=open",
        "status=resolved",
        "since=2026-01-01T00:00:00Z",
        "since=2026-01-01T00:00:00.5Z&severity=critical&limit=1",
        # Refused or left to the route: the same refusal either way.
        "limit=0",
        "limit=201",
        "limit=050",
        "limit=",
        "severity=urgent",
        "status=",
        "since=yesterday",
        "next=@@@",
        "next=" + "A" * 4097,
        "rule_name=r0",
        "limit=1&limit=3",
    ]
    for query in queries:
        _same_answer(api, query, alice.headers)


def test_another_users_cursor_and_an_ingest_token_are_refused_as_before(
    api: TestClient, services: Services, alice: ApiUser, shipper: ApiUser
) -> None:
    _store(services)
    bobs = encode_cursor({"user_id": "bob", "alert_id": "x"})
    _same_answer(api, f"next={bobs}", alice.headers)
    refused = api.get("/api/v1/alerts?limit=2", headers=shipper.headers)
    assert refused.status_code == 403
    _same_answer(api, "limit=2", shipper.headers)


def test_the_direct_answer_is_audited_as_the_route(
    api: TestClient, services: Services, alice: ApiUser, root: ApiUser
) -> None:
    api.get("/api/v1/alerts?limit=2", headers=alice.headers)
    api.get("/api/v1/alerts?limit=2&zz=1", headers=alice.headers)
    records = api.get("/api/v1/admin/audit?limit=10", headers=root.headers).json()["items"]
    listed = [
        (r["actor"], r["action"], r["target"], r["status"], r["outcome"]) for r in records if r["actor"] == "alice"
    ]
    assert listed == [("alice", "alert.list", "/api/v1/alerts", 200, "success")] * 2


def test_the_direct_checks_follow_the_routes_declaration(api: TestClient, alice: ApiUser) -> None:
    """A parameter added to the route, or a bound or default changed, fails here until
    `api/direct.py` follows (the direct layer only ever declines what it does not know)."""
    document = api.get("/openapi.json", headers=alice.headers).json()
    parameters = document["paths"]["/api/v1/alerts"]["get"]["parameters"]
    declared = {p["name"]: p["schema"] for p in parameters}
    assert all(p["in"] == "query" for p in parameters)
    assert set(declared) == direct.KNOWN | {"rule_name"}  # rule_name: always left to the route
    limit = declared["limit"]
    assert (limit["default"], limit["minimum"], limit["maximum"]) == (direct.DEFAULT_LIMIT, 1, direct.MAX_LIMIT)
    assert len(str(direct.MAX_LIMIT)) == 3  # the digits `direct.LIMIT` lets through

    def variant(name: str) -> dict[str, object]:
        return next(v for v in declared[name]["anyOf"] if v.get("type") == "string")

    assert tuple(variant("severity")["enum"]) == direct.SEVERITIES
    assert tuple(variant("status")["enum"]) == direct.ALERT_STATUSES
    assert variant("since")["pattern"] == direct.SINCE.pattern
    assert variant("next")["maxLength"] == direct.MAX_CURSOR


@pytest.mark.parametrize(
    "query",
    [b"", b"limit=7", b"severity=low&status=acknowledged", b"since=2026-11-27T10:00:00.000001Z", b"next="],
)
def test_plain_valid_queries_are_answered_directly(query: bytes) -> None:
    arguments = _list_arguments(query, ALICE)
    assert arguments["rule_name"] is None
    assert 1 <= arguments["limit"] <= 200


@pytest.mark.parametrize(
    "query",
    [
        b"limit=1&limit=2",  # given twice: left to the route's own reading
        b"rule_name=r0",  # a pattern checked by pydantic only
        b"unknown=1",
        b"limit=+5",
        b"limit=5.0",
        b"since=\xd9\xa2026-11-27T10:00:00Z",  # non-ASCII digits
        b"since=2026-11-27T10:00:00Z%0A",
        b"next=not-a-cursor!",
    ],
)
def test_anything_else_goes_to_the_route(query: bytes) -> None:
    with pytest.raises(_Declined):
        _list_arguments(query, ALICE)

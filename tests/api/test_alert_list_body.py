"""The alert list is serialised straight to bytes (`page_response`): the same body the declared
`Page[Alert]` with null fields of items dropped gives, `next` kept (null on the last page), and
the same schema in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mantissa_log.api.deps import decode_cursor, encode_cursor
from mantissa_log.api.schemas.common import Page, page_response
from mantissa_log.domain.alerts import Alert
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing
from mantissa_log.state.tables import ALERTS
from tests.factories import make_alert, now
from tests.fixtures_api import ApiUser


def test_the_list_body_is_the_declared_page(api: TestClient, services: Services, alice: ApiUser) -> None:
    for n in range(3):
        services.infra.repos.alerts.record_firing(Firing(make_alert(n, user="alice", rule_name=f"r{n}"), 0), now())
    first = api.get("/api/v1/alerts?limit=2", headers=alice.headers)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    assert body["next"] is not None
    last = api.get(f"/api/v1/alerts?limit=2&next={body['next']}", headers=alice.headers).json()
    assert last["next"] is None  # kept, and null: the last page

    page = services.alerts.list(Principal("alice", "analyst"), limit=2)
    declared = Page[Alert](items=page.items, next=body["next"]).model_dump(mode="json", exclude_none=True)
    assert body == declared
    assert all(None not in item.values() for item in body["items"])


def test_the_openapi_document_still_names_the_page_schema(api: TestClient, alice: ApiUser) -> None:
    document = api.get("/openapi.json", headers=alice.headers).json()
    answer = document["paths"]["/api/v1/alerts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/Page_Alert_"}


def _store_varied_alerts(services: Services) -> None:
    """Alerts with what changes a listed body: null and absent fields, groups, samples over the
    list's preview limit, triage history, another user's alerts, a field older versions stored."""
    repo = services.infra.repos.alerts
    for n in range(7):
        fields: dict[str, Any] = {"severity": ("high", "low", "critical")[n % 3]}
        if n % 2:
            fields["rule_id"] = f"rule-{n}"
        if n == 3:
            fields["samples"] = [{"blob": "x" * 3000, "i": i} for i in range(6)]  # over 8 KB: cut in lists
        group = {"user": f"u{n}", "ip": None} if n % 3 == 0 else None
        repo.record_firing(
            Firing(make_alert(n + 1, user="alice", rule_name=f"r{n % 3}", group=group, **fields), 0), now()
        )
    repo.record_firing(Firing(make_alert(1, user="bob", rule_name="r0"), 0), now())
    first = services.alerts.list(ALICE, limit=1).items[0]
    services.alerts.set_status(ALICE, first.alert_id, "acknowledged", "looking")
    # Stored by an older version with a retired field: dropped on read, not refused.
    old = make_alert(20, user="alice", rule_name="r9").dump() | {"routed": True}
    services.infra.backend.put(ALERTS, old)


ALICE = Principal("alice", "analyst")
QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 1},
    {"limit": 3},
    {"severity": "high"},
    {"severity": "low", "limit": 1},
    {"rule_name": "r1"},
    {"rule_name": "r0", "limit": 2},
    {"status": "open", "limit": 2},
    {"status": "acknowledged"},
    {"status": "resolved"},
    {"since": "2026-11-27T10:00:00.000004Z", "limit": 2},
    {"severity": "critical", "rule_name": "r2", "status": "open"},
]


def _old_body(services: Services, query: dict[str, Any], cursor: str | None) -> bytes:
    """The body as the route built it before list_json: validated models, previewed, encoded per request."""
    status = query.get("status")
    page = services.alerts.list(
        ALICE,
        severity=query.get("severity"),
        rule_name=query.get("rule_name"),
        since=query.get("since"),
        statuses=() if status is None else (status,),
        limit=query.get("limit", 50),
        start_key=decode_cursor(cursor, "alice"),
    )
    return bytes(page_response(Alert, page.items, encode_cursor(page.next_key)).body)


def _walk(api: TestClient, services: Services, alice: ApiUser) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for query in QUERIES:
        cursor: str | None = None
        while True:
            params = query | ({"next": cursor} if cursor else {})
            answer = api.get("/api/v1/alerts", params=params, headers=alice.headers)
            assert answer.status_code == 200, answer.text
            assert answer.content == _old_body(services, query, cursor), query
            body = answer.json()
            seen.extend(body["items"])
            cursor = body["next"]
            if cursor is None:
                break
    return seen


def test_the_list_body_is_byte_for_byte_the_old_one_across_filters_and_pages(
    api: TestClient, services: Services, alice: ApiUser
) -> None:
    _store_varied_alerts(services)
    seen = _walk(api, services, alice)
    assert {item["user_id"] for item in seen} == {"alice"}
    assert any(item["status"] == "acknowledged" for item in seen)
    assert any(len(item["samples"]) < 6 for item in seen if item["rule_name"] == "r0")  # a preview cut
    # Served again (remembered views on SQLite): still the same bytes, and a change shows at once.
    _walk(api, services, alice)
    listed = services.alerts.list(ALICE, statuses=("acknowledged",)).items
    assert len(listed) == 1
    services.alerts.set_status(ALICE, listed[0].alert_id, "resolved", None)
    resolved = api.get("/api/v1/alerts", params={"status": "resolved"}, headers=alice.headers).json()["items"]
    assert [item["alert_id"] for item in resolved] == [listed[0].alert_id]
    _walk(api, services, alice)

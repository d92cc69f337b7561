"""The alert list is serialised straight to bytes (`page_response`): the same body the declared
`Page[Alert]` with null fields of items dropped gives, `next` kept (null on the last page), and
the same schema in the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.api.schemas.common import Page
from mantissa_log.domain.alerts import Alert
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing
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

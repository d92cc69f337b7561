"""Detection rules: CRUD (body in the rule store, metadata row), validate, test, run now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.domain.common import Severity, StrictModel
from mantissa_log.domain.rule_document import RuleTestCase
from mantissa_log.services.detection.adhoc import run_tests
from mantissa_log.services.detection.rules import RuleWrite

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class ValidateBody(StrictModel):
    body: str = Field(min_length=1, max_length=256 * 1024)
    schedule: str | None = None


class RunWindow(BaseModel):
    # Not strict: ISO 8601 strings from JSON become datetimes; a time zone is required (e.g. Z).
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class TestBody(StrictModel):
    cases: list[RuleTestCase] = Field(default_factory=list, max_length=1000)


@router.get("")
def list_rules(
    user: CurrentUser,
    services: ServicesDep,
    enabled: bool | None = None,
    severity: Severity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = services.rule_service.list(
        user, enabled=enabled, severity=severity, limit=limit, start_key=decode_cursor(cursor, user.user_id)
    )
    return {"items": [r.dump() for r in page.items], "next": encode_cursor(page.next_key)}


@router.post("/validate")
def validate(user: CurrentUser, services: ServicesDep, body: ValidateBody) -> dict[str, Any]:
    checked = services.rule_service.validate(body.body, body.schedule)
    compiled = checked.compiled
    return {
        "valid": True,
        "title": checked.document.title,
        "source": compiled.source,
        "sql": {"duckdb": compiled.predicate, "athena": compiled.athena_predicate},
        "schedule": checked.schedule.expression,
        "severity": checked.document.severity,
        "tests": len(checked.document.mantissa.tests),
    }


@router.post("", status_code=201)
def create_rule(user: CurrentUser, services: ServicesDep, body: RuleWrite) -> dict[str, Any]:
    view = services.rule_service.create(user, body, "api")
    services.audit.record(actor=user.user_id, action="rule.create", target=view.rule.rule_name, client=user.client)
    return view.public()


@router.get("/{rule_name}")
def get_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    return services.rule_service.get(user, rule_name).public()


@router.put("/{rule_name}")
def replace_rule(rule_name: str, user: CurrentUser, services: ServicesDep, body: RuleWrite) -> dict[str, Any]:
    view = services.rule_service.replace(user, rule_name, body)
    services.audit.record(actor=user.user_id, action="rule.replace", target=rule_name, client=user.client)
    return view.public()


@router.delete("/{rule_name}", status_code=204)
def delete_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> Response:
    services.rule_service.delete(user, rule_name)
    services.audit.record(actor=user.user_id, action="rule.delete", target=rule_name, client=user.client)
    return Response(status_code=204)


@router.post("/{rule_name}/enable")
def enable_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    rule = services.rule_service.set_enabled(user, rule_name, True)
    services.audit.record(actor=user.user_id, action="rule.enable", target=rule_name, client=user.client)
    return rule.dump()


@router.post("/{rule_name}/disable")
def disable_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    rule = services.rule_service.set_enabled(user, rule_name, False)
    services.audit.record(actor=user.user_id, action="rule.disable", target=rule_name, client=user.client)
    return rule.dump()


@router.post("/{rule_name}/run")
def run_rule(
    rule_name: str,
    user: CurrentUser,
    services: ServicesDep,
    window: Annotated[RunWindow | None, Body()] = None,
) -> dict[str, Any]:
    window = window or RunWindow()
    result = services.adhoc.run_now(user, rule_name, since=window.since, until=window.until)
    services.audit.record(actor=user.user_id, action="rule.run", target=rule_name, client=user.client)
    return result.public()


@router.post("/{rule_name}/test")
def run_rule_tests(
    rule_name: str,
    user: CurrentUser,
    services: ServicesDep,
    body: Annotated[TestBody | None, Body()] = None,
    include_stored: bool = Query(default=True, description="also run the rule's own `tests:`"),
) -> dict[str, Any]:
    view = services.rule_service.get(user, rule_name)
    checked = view.validated or services.rule_service.validate(view.body, view.rule.schedule)
    outcomes = run_tests(checked, (body or TestBody()).cases, include_stored=include_stored)
    return {
        "passed": all(o.passed for o in outcomes),
        "results": [o.public() for o in outcomes],
    }

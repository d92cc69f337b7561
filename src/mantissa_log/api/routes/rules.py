"""Detection rules: CRUD (body in the rule store, metadata row), validate, test, run now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.api.schemas.common import Page
from mantissa_log.api.schemas.rules import RuleDetail, RulePublic, RunResultPublic, TestResults, ValidateResult
from mantissa_log.domain.common import Severity, StrictModel
from mantissa_log.domain.rule_document import RuleTestCase
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


@router.get("", name="rule.list", response_model_exclude_none=True)
def list_rules(
    user: CurrentUser,
    services: ServicesDep,
    enabled: bool | None = None,
    severity: Severity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[RulePublic]:
    page = services.rules.list(
        user, enabled=enabled, severity=severity, limit=limit, start_key=decode_cursor(cursor, user.user_id)
    )
    return Page[RulePublic](items=[RulePublic.of(r) for r in page.items], next=encode_cursor(page.next_key))


@router.post("/validate", name="rule.validate")
def validate(_: CurrentUser, services: ServicesDep, body: ValidateBody) -> ValidateResult:
    return ValidateResult.of(services.rules.validate(body.body, body.schedule))


@router.post("", status_code=201, name="rule.create", response_model_exclude_none=True)
def create_rule(user: CurrentUser, services: ServicesDep, body: RuleWrite) -> RuleDetail:
    return RuleDetail.of_view(services.rules.create(user, body, "api"))


@router.get("/{rule_name}", name="rule.read", response_model_exclude_none=True)
def get_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> RuleDetail:
    return RuleDetail.of_view(services.rules.get(user, rule_name))


@router.put("/{rule_name}", name="rule.replace", response_model_exclude_none=True)
def replace_rule(rule_name: str, user: CurrentUser, services: ServicesDep, body: RuleWrite) -> RuleDetail:
    return RuleDetail.of_view(services.rules.replace(user, rule_name, body))


@router.delete("/{rule_name}", status_code=204, name="rule.delete")
def delete_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> Response:
    services.rules.delete(user, rule_name)
    return Response(status_code=204)


@router.post("/{rule_name}/enable", name="rule.enable", response_model_exclude_none=True)
def enable_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> RulePublic:
    return RulePublic.of(services.rules.set_enabled(user, rule_name, True))


@router.post("/{rule_name}/disable", name="rule.disable", response_model_exclude_none=True)
def disable_rule(rule_name: str, user: CurrentUser, services: ServicesDep) -> RulePublic:
    return RulePublic.of(services.rules.set_enabled(user, rule_name, False))


@router.post("/{rule_name}/run", name="rule.run")
def run_rule(
    rule_name: str,
    user: CurrentUser,
    services: ServicesDep,
    window: Annotated[RunWindow | None, Body()] = None,
) -> RunResultPublic:
    window = window or RunWindow()
    return RunResultPublic.of(services.detection.run_now(user, rule_name, since=window.since, until=window.until))


@router.post("/{rule_name}/test", name="rule.test")
def run_rule_tests(
    rule_name: str,
    user: CurrentUser,
    services: ServicesDep,
    body: Annotated[TestBody | None, Body()] = None,
    include_stored: bool = Query(default=True, description="also run the rule's own `tests:`"),
) -> TestResults:
    cases = (body or TestBody()).cases
    return TestResults.of(services.detection.test_rule(user, rule_name, cases, include_stored=include_stored))

"""Rules: metadata and statistics (the seed's item), bodies, validation, tests and runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mantissa_log.domain.common import Severity
from mantissa_log.domain.rules import DetectionRule
from mantissa_log.services.detection.adhoc import TestOutcome
from mantissa_log.services.detection.rules import RuleView
from mantissa_log.services.detection.runner import RunResult, RunStatus
from mantissa_log.services.detection.validation import ValidatedRule


class RulePublic(DetectionRule):
    """The detection-rules item as the seed shows it (the internal running total is left out)."""

    total_duration_ms: float = Field(default=0, exclude=True)

    @classmethod
    def of(cls, rule: DetectionRule) -> RulePublic:
        return cls.model_validate(rule.model_dump())


class RuleDetail(RulePublic):
    body: str
    title: str | None = None
    source: str | None = None

    @classmethod
    def of_view(cls, view: RuleView) -> RuleDetail:
        extra: dict[str, object] = {"body": view.body}
        if view.validated is not None:
            extra |= {"title": view.validated.document.title, "source": view.validated.source}
        return cls.model_validate(view.rule.model_dump() | extra)


class CompiledSql(BaseModel):
    duckdb: str
    athena: str


class ValidateResult(BaseModel):
    valid: bool
    title: str
    source: str
    sql: CompiledSql
    schedule: str
    severity: Severity
    tests: int

    @classmethod
    def of(cls, checked: ValidatedRule) -> ValidateResult:
        compiled = checked.compiled
        return cls(
            valid=True,
            title=checked.document.title,
            source=compiled.source,
            sql=CompiledSql(duckdb=compiled.predicate, athena=compiled.athena_predicate),
            schedule=checked.schedule.expression,
            severity=checked.document.severity,
            tests=len(checked.document.mantissa.tests),
        )


class RunResultPublic(BaseModel):
    rule_name: str
    status: RunStatus
    window_start: str
    window_end: str
    matches: int
    new_matches: int
    alerts_created: list[str]
    alerts_folded: list[str]
    duration_ms: float
    data_scanned_mb: float
    error: str | None = None
    samples: list[dict[str, Any]] = Field(default_factory=list, description="up to 10 matched events")

    @classmethod
    def of(cls, result: RunResult) -> RunResultPublic:
        fields = {name: getattr(result, name) for name in cls.model_fields}
        return cls.model_validate(fields)


class TestCaseResult(BaseModel):
    name: str
    expected_match: bool
    matched: bool
    passed: bool


class TestResults(BaseModel):
    passed: bool
    results: list[TestCaseResult]

    @classmethod
    def of(cls, outcomes: list[TestOutcome]) -> TestResults:
        return cls(
            passed=all(o.passed for o in outcomes),
            results=[
                TestCaseResult(name=o.name, expected_match=o.expected_match, matched=o.matched, passed=o.passed)
                for o in outcomes
            ],
        )

"""Validating a rule body: the document, its Mantissa fields, and its compilation by pySigma."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mantissa_log.domain.rule_document import RuleDocument, parse_rule_document
from mantissa_log.domain.schedule import Schedule, parse_duration, parse_schedule
from mantissa_log.errors import ValidationFailed
from mantissa_log.sigma.compiler import CompiledRule, compile_sigma

DEFAULT_SCHEDULE = "rate(5 minutes)"
# The longest stretch of data a rule may count over, hold repeats for, or correlate across: beyond
# it a run would scan unbounded history (and window arithmetic can overflow).
MAX_SPAN = timedelta(days=30)


@dataclass
class ValidatedRule:
    document: RuleDocument
    compiled: CompiledRule
    schedule: Schedule
    lookback: timedelta
    suppression: timedelta

    @property
    def source(self) -> str:
        return self.compiled.source


def _pick(compiled: list[CompiledRule]) -> CompiledRule:
    """The rule that alerts: the correlation when the document has one, else its only rule."""
    for rule in compiled:
        if rule.correlation is not None:
            return rule
    return compiled[0]


def validate_rule_text(text: str, *, schedule_override: str | None = None) -> ValidatedRule:
    document = parse_rule_document(text)
    expression = schedule_override or document.mantissa.schedule or DEFAULT_SCHEDULE
    try:
        schedule = parse_schedule(expression)
    except ValidationFailed as exc:
        exc.line = None if schedule_override else document.line_of("schedule")
        raise
    try:
        compiled = compile_sigma(text, source=document.mantissa.source)
    except ValidationFailed as exc:
        if exc.line is None:
            exc.line = document.line_of(exc.field or "detection")
        raise
    if not compiled:
        raise ValidationFailed("the document holds no Sigma rule", field="body", line=1)
    chosen = _pick(compiled)
    # A schedule's own period is only a default: a yearly cron still counts over at most MAX_SPAN.
    lookback = _duration(document, "lookback") or min(schedule.interval_hint(), MAX_SPAN)
    if chosen.correlation is not None:
        timespan = chosen.correlation.timespan_seconds
        if timespan > MAX_SPAN.total_seconds():
            raise ValidationFailed(
                f"correlation timespan is over {MAX_SPAN.days} days",
                field="correlation.timespan",
                line=document.line_of("correlation.timespan"),
            )
        lookback = max(lookback, timedelta(seconds=timespan))
    suppression = _duration(document, "suppression") or timedelta(0)
    return ValidatedRule(document, chosen, schedule, lookback, suppression)


def _duration(document: RuleDocument, name: str) -> timedelta | None:
    text = getattr(document.mantissa, name)
    if text is None:
        return None
    try:
        value = parse_duration(str(text), name)
    except ValidationFailed as exc:
        exc.line = document.line_of(name)
        raise
    if value > MAX_SPAN:
        raise ValidationFailed(f"{name} is over {MAX_SPAN.days} days", field=name, line=document.line_of(name))
    return value

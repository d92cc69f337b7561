"""Rule use cases: the body lives in the rule store at `s3_key`, the metadata row in the table.

The YAML's Mantissa fields are the defaults; fields given explicitly (API body, CLI options)
win and are what the metadata row holds. The row is authoritative for scheduling.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import Field

from mantissa_log.clock import Clock, iso, iso_us, parse_iso
from mantissa_log.domain.common import BoolString, CreatedFrom, IntegrationType, Name, Severity, StrictModel, Timestamp
from mantissa_log.domain.rules import DetectionRule, rule_s3_key
from mantissa_log.errors import NotFound, ValidationFailed
from mantissa_log.rulestore.base import RuleStore
from mantissa_log.services.detection.validation import ValidatedRule, validate_rule_text
from mantissa_log.services.identity import Principal
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.rule_runs import RuleRunRepository
from mantissa_log.state.repositories.rules import DetectionRuleRepository, RuleFilter


class RuleWrite(StrictModel):
    """POST/PUT body of /api/v1/rules: the YAML plus optional explicit metadata."""

    rule_name: Name | None = None
    body: str = Field(min_length=1, max_length=256 * 1024)
    schedule: str | None = None
    threshold: int | None = Field(default=None, ge=1, le=1_000_000)
    severity: Severity | None = None
    enabled: bool | BoolString | None = None
    alert_destinations: list[IntegrationType] | None = None
    # Backfill: the rule's first run covers what was ingested since this time (default: from now on).
    since: Timestamp | None = None


@dataclass
class RuleView:
    rule: DetectionRule
    body: str
    validated: ValidatedRule | None = None


def _enabled(value: bool | str | None, default: bool) -> BoolString:
    if value is None:
        return "true" if default else "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "true" if value == "true" else "false"


LOADED_LIMIT = 5_000


class RuleService:
    def __init__(self, repo: DetectionRuleRepository, bodies: RuleStore, runs: RuleRunRepository, clock: Clock) -> None:
        self.repo = repo
        self.bodies = bodies
        self.runs = runs
        self.clock = clock
        # Compiled stored rules by (text, schedule): validation is a pure function of them, and
        # many users store the same text (starter rules, shared packs): 1,000 rules of 20 distinct
        # texts compile 20 times, not 1,000 (~20 ms each).
        self._loaded: dict[tuple[str, str | None], ValidatedRule] = {}

    def validate(self, body: str, schedule: str | None = None) -> ValidatedRule:
        return validate_rule_text(body, schedule_override=schedule)

    def _metadata(
        self, who: Principal, name: str, write: RuleWrite, checked: ValidatedRule, created_from: CreatedFrom
    ) -> DetectionRule:
        own = checked.document.mantissa
        moment = self.clock.now()
        now = iso(moment)
        return DetectionRule(
            user_id=who.user_id,
            rule_name=name,
            # A new body key for every write: see `rule_s3_key`.
            s3_key=rule_s3_key(who.user_id, name, f"{moment:%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"),
            schedule=checked.schedule.expression,
            threshold=write.threshold or own.threshold or 1,
            severity=write.severity or checked.document.severity,
            enabled=_enabled(write.enabled, own.enabled if own.enabled is not None else True),
            alert_destinations=list(write.alert_destinations or own.alert_destinations or []),
            created_at=now,
            updated_at=now,
            created_from=created_from,
        )

    def create(self, who: Principal, write: RuleWrite, created_from: CreatedFrom = "api") -> RuleView:
        if write.rule_name is None:
            raise ValidationFailed("field required", field="rule_name")
        checked = self.validate(write.body, write.schedule)
        rule = self._metadata(who, write.rule_name, write, checked, created_from)
        since = self._since(write)
        self.bodies.put(rule.s3_key, write.body.encode())
        try:
            self.repo.create_rule(rule)  # conditional: only one of two concurrent creates wins
        except BaseException:
            self.bodies.delete(rule.s3_key)  # our own new body, never the winner's
            raise
        if rule.enabled == "true":
            self._start(rule, since)
        return RuleView(rule, write.body, checked)

    def _since(self, write: RuleWrite) -> str | None:
        if write.since is None:
            return None
        since = parse_iso(write.since)
        if since > self.clock.now():
            raise ValidationFailed("a backfill starts in the past", field="since")
        return iso_us(since)

    def _start(self, rule: DetectionRule, since: str | None = None) -> None:
        """The rule sees every event ingested from now on (or from `since`): its watermark starts here."""
        self.runs.start(rule.user_id, rule.rule_name, since or iso_us(self.clock.now()))

    def replace(self, who: Principal, rule_name: str, write: RuleWrite) -> RuleView:
        if write.rule_name not in (None, rule_name):
            raise ValidationFailed("does not match the path", field="rule_name")
        existing = self._get_row(who, rule_name)
        checked = self.validate(write.body, write.schedule)
        fresh = self._metadata(who, rule_name, write, checked, existing.created_from)
        stats = existing.dump()
        keep = {k: stats[k] for k in stats if k not in fresh.model_fields_set and k not in ("updated_at",)}
        rule = DetectionRule.model_validate(keep | fresh.dump() | {"created_at": existing.created_at})
        since = self._since(write)
        self.bodies.put(rule.s3_key, write.body.encode())
        try:
            self.repo.replace_rule(rule, body_key=existing.s3_key)
        except BaseException:
            self.bodies.delete(rule.s3_key)  # the previous body and row stay as they were
            raise
        self.bodies.delete(existing.s3_key)
        if rule.enabled == "true" and (existing.enabled == "false" or since is not None):
            self._start(rule, since)
        return RuleView(rule, write.body, checked)

    def _get_row(self, who: Principal, rule_name: str) -> DetectionRule:
        rule = self.repo.get_rule(who.user_id, rule_name)
        if rule is None:
            raise NotFound(f"no rule {rule_name}", field="rule_name")
        return rule

    def get(self, who: Principal, rule_name: str) -> RuleView:
        rule = self._get_row(who, rule_name)
        body = self.bodies.get(rule.s3_key).decode()
        try:
            checked: ValidatedRule | None = self.validate(body, rule.schedule)
        except ValidationFailed:
            checked = None
        return RuleView(rule, body, checked)

    def list(
        self,
        who: Principal,
        *,
        enabled: bool | None = None,
        severity: Severity | None = None,
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ModelPage[DetectionRule]:
        """The caller's rules; filters apply within their own partition (the GSI spans every user)."""
        wanted = RuleFilter(enabled=None if enabled is None else _enabled(enabled, True), severity=severity)
        return self.repo.list_rules_for_user(who.user_id, wanted, limit=limit, start_key=start_key)

    def set_enabled(self, who: Principal, rule_name: str, enabled: bool) -> DetectionRule:
        existing = self._get_row(who, rule_name)
        rule = self.repo.set_enabled(who.user_id, rule_name, enabled, iso(self.clock.now()))
        if enabled and existing.enabled == "false":
            self._start(rule)  # what arrived while it was off is not its business; use a backfill for that
        return rule

    def delete(self, who: Principal, rule_name: str) -> None:
        rule = self._get_row(who, rule_name)
        if self.repo.delete_rule(who.user_id, rule_name, body_key=rule.s3_key):
            self.bodies.delete(rule.s3_key)
        self.runs.reset(who.user_id, rule_name)

    def load(self, rule: DetectionRule) -> ValidatedRule:
        """The compiled form of a stored rule (the scheduler's view, any user)."""
        key = (self.bodies.get(rule.s3_key).decode(), rule.schedule)
        found = self._loaded.get(key)
        if found is None:
            if len(self._loaded) >= LOADED_LIMIT:
                self._loaded.clear()  # old texts pile up in a long-lived worker
            found = self._loaded[key] = self.validate(*key)
        return found

"""Detection-rule metadata: the seed's five access patterns plus create/replace/delete/toggle."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from mantissa_log.domain.common import BoolString, Severity
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord
from mantissa_log.errors import Conflict, NotFound
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, Condition, Exists, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import DETECTION_RULES, ENABLED_RULES_INDEX


def _key(user_id: str, rule_name: str) -> Key:
    return {"user_id": user_id, "rule_name": rule_name}


@dataclass(frozen=True)
class RuleFilter:
    enabled: BoolString | None = None
    severity: Severity | None = None

    def condition(self) -> Condition | None:
        parts: list[Condition] = []
        if self.enabled is not None:
            parts.append(Compare("enabled", "=", self.enabled))
        if self.severity is not None:
            parts.append(Compare("severity", "=", self.severity))
        return all_of(*parts) if parts else None


class DetectionRuleRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    # -- seed access patterns --------------------------------------------------------------
    def list_rules_for_user(
        self, user_id: str, wanted: RuleFilter | None = None, *, limit: int | None = None, start_key: Key | None = None
    ) -> ModelPage[DetectionRule]:
        """Pattern 1: Query(user_id), optionally filtered (pages stay full)."""
        condition = None if wanted is None else wanted.condition()
        page = self.backend.query(DETECTION_RULES, user_id, limit=limit, start_key=start_key, filter=condition)
        return ModelPage([DetectionRule.model_validate(i) for i in page.items], page.next_key)

    def get_rule(self, user_id: str, rule_name: str) -> DetectionRule | None:
        """Pattern 2: GetItem(user_id, rule_name)."""
        item = self.backend.get(DETECTION_RULES, _key(user_id, rule_name))
        return None if item is None else DetectionRule.model_validate(item)

    def list_enabled_rules(self, *, limit: int | None = None, start_key: Key | None = None) -> ModelPage[DetectionRule]:
        """Pattern 3: Query EnabledRulesIndex where enabled = "true" (all users: scheduler, admin)."""
        page = self.backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, limit=limit, start_key=start_key)
        return ModelPage([DetectionRule.model_validate(i) for i in page.items], page.next_key)

    def list_enabled_rules_by_severity(
        self, severity: Severity, *, limit: int | None = None, start_key: Key | None = None
    ) -> ModelPage[DetectionRule]:
        """Pattern 4: Query EnabledRulesIndex where enabled = "true" AND severity = :s."""
        page = self.backend.query(
            DETECTION_RULES,
            "true",
            index=ENABLED_RULES_INDEX,
            range_value=severity,
            limit=limit,
            start_key=start_key,
        )
        return ModelPage([DetectionRule.model_validate(i) for i in page.items], page.next_key)

    def record_execution(self, user_id: str, rule_name: str, run: ExecutionRecord) -> DetectionRule:
        """Pattern 5: UpdateItem(executions++, last_execution, ...) — atomic under concurrency.

        Counters move by ADD in one conditional update, so concurrent workers never lose an
        increment. The average is then derived from the returned totals and written only if no
        other run landed in between (that run's own follow-up writes the newer average).
        """
        set_values: dict[str, object] = {
            "last_execution": run.at,
            "last_execution_status": run.status,
            "lag_seconds": round(run.lag_seconds, 3),
        }
        remove: list[str] = []
        if run.status == "error":
            set_values["last_error"] = (run.error or "unknown error")[:2000]
        else:
            remove.append("last_error")
        if run.alerts > 0:
            set_values["last_alert"] = run.at
        condition: Condition = Exists("rule_name")
        if run.run_id is not None:
            # A run repeated after a crash carries the same id: it is counted once.
            set_values["last_run_id"] = run.run_id
            condition = all_of(condition, any_of(NotExists("last_run_id"), Compare("last_run_id", "<>", run.run_id)))
        try:
            item = self.backend.update(
                DETECTION_RULES,
                _key(user_id, rule_name),
                set_values=set_values,
                add_values={
                    "executions": 1,
                    "alert_count": run.alerts,
                    "data_scanned_mb": run.data_scanned_mb,
                    "total_duration_ms": run.duration_ms,
                },
                remove=remove,
                condition=condition,
            )
        except Conflict:
            current = self.get_rule(user_id, rule_name)
            if current is None:
                raise NotFound(f"no rule {rule_name}", field="rule_name") from None
            return current  # this run was counted already
        executions = int(item["executions"])
        average = round(float(item["total_duration_ms"]) / executions, 3)
        # If this fails, a later run superseded this one and writes its own (newer) average.
        with contextlib.suppress(Conflict):
            item = self.backend.update(
                DETECTION_RULES,
                _key(user_id, rule_name),
                set_values={"avg_duration_ms": average},
                condition=Compare("executions", "=", executions),
            )
        return DetectionRule.model_validate(item)

    # -- lifecycle -------------------------------------------------------------------------
    def create_rule(self, rule: DetectionRule) -> None:
        try:
            self.backend.put(DETECTION_RULES, rule.dump(), condition=NotExists("rule_name"))
        except Conflict:
            raise Conflict(f"rule {rule.rule_name} already exists", field="rule_name") from None

    def replace_rule(self, rule: DetectionRule, *, body_key: str) -> None:
        """Replace the row, only while it still points at `body_key` (the body its writer read).

        Raises NotFound when the rule is gone and Conflict when someone else replaced it meanwhile.
        """
        try:
            self.backend.put(DETECTION_RULES, rule.dump(), condition=Compare("s3_key", "=", body_key))
        except Conflict:
            if self.get_rule(rule.user_id, rule.rule_name) is None:
                raise NotFound(f"no rule {rule.rule_name}", field="rule_name") from None
            raise Conflict(f"rule {rule.rule_name} was changed meanwhile; read it again", field="rule_name") from None

    def set_enabled(self, user_id: str, rule_name: str, enabled: bool, updated_at: str) -> DetectionRule:
        try:
            item = self.backend.update(
                DETECTION_RULES,
                _key(user_id, rule_name),
                set_values={"enabled": "true" if enabled else "false", "updated_at": updated_at},
                condition=Exists("rule_name"),
            )
        except Conflict:
            raise NotFound(f"no rule {rule_name}", field="rule_name") from None
        return DetectionRule.model_validate(item)

    def delete_rule(self, user_id: str, rule_name: str, *, body_key: str | None = None) -> bool:
        """Delete the row (only while it points at `body_key`, when given); True when it was there."""
        condition = None if body_key is None else Compare("s3_key", "=", body_key)
        try:
            return self.backend.delete(DETECTION_RULES, _key(user_id, rule_name), condition=condition)
        except Conflict:
            if self.get_rule(user_id, rule_name) is None:
                return False
            raise Conflict(f"rule {rule_name} was changed meanwhile; read it again", field="rule_name") from None

    def get_rules(self, keys: Sequence[tuple[str, str]]) -> list[DetectionRule]:
        """Batch read (BatchGetItem, 25 keys a request)."""
        items = self.backend.batch_get(DETECTION_RULES, [_key(u, r) for u, r in keys])
        return [DetectionRule.model_validate(i) for i in items]

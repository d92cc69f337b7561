"""Running rules: windows from watermarks, one scan per source, alerts, statistics.

Window semantics (documented in docs/DETECTION.md):
- A run covers ingest time up to `until` (now minus a short settle delay, so files still being
  written are not skipped). New data is what arrived after the rule's watermark; the count for
  `threshold` runs from min(watermark, until - lookback). An event that arrives late with an
  old event time has a new ingest time, so the next run still sees it.
- A rule alerts when the count reaches `threshold` and at least one match is new; a second
  run over the same data has nothing new and stays quiet. Repeats inside the rule's
  suppression window fold into the open alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mantissa_log.clock import iso
from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord
from mantissa_log.lake.store import LogLake
from mantissa_log.services.detection.engine import GroupResult, RuleWindow, evaluate_correlation, evaluate_plain
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.state.repositories.alerts import AlertRepository, Firing, new_alert_id
from mantissa_log.state.repositories.rules import DetectionRuleRepository

log = logging.getLogger("mantissa_log.runner")


def iso_us(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class PlannedRun:
    rule: DetectionRule
    checked: ValidatedRule
    window: RuleWindow


@dataclass
class RunResult:
    user_id: str
    rule_name: str
    status: str
    window_start: str
    window_end: str
    matches: int = 0
    new_matches: int = 0
    alerts_created: list[str] = field(default_factory=list)
    alerts_folded: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    data_scanned_mb: float = 0.0
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "user_id"}


def plan_window(checked: ValidatedRule, until: datetime, watermark: str | None, since: datetime | None) -> RuleWindow:
    """Explicit `since`: everything in (since, until] is new. Otherwise: from the watermark."""
    if since is not None:
        return RuleWindow(start=since, watermark=since)
    lookback_start = until - checked.lookback
    mark = parse_iso(watermark) if watermark else lookback_start
    return RuleWindow(start=min(mark, lookback_start), watermark=mark)


class DetectionRunner:
    def __init__(
        self,
        lake: LogLake,
        stats: DetectionRuleRepository,
        alerts: AlertRepository,
        on_alert: Callable[[Alert], object] | None = None,
    ) -> None:
        self.lake = lake
        self.stats = stats
        self.alerts = alerts
        # Called with each new alert (the delivery router); if it fails the outbox routes later.
        self.on_alert = on_alert

    def run_source(self, source: str, planned: Sequence[PlannedRun], until: datetime) -> list[RunResult]:
        """Evaluate every planned rule of one source over one scan; never let one rule stop the others."""
        started = time.perf_counter()
        relation = f"({self.lake.relation_sql(source, min(p.window.start for p in planned), until)})"
        plain = [p for p in planned if p.checked.compiled.correlation is None]
        outcomes: dict[int, list[GroupResult] | Exception] = {}
        con = self.lake.connect()
        try:
            try:
                batch = evaluate_plain(con, relation, [p.checked.compiled for p in plain], [p.window for p in plain])
                for run, result in zip(plain, batch, strict=True):
                    outcomes[id(run)] = [result]
            except Exception:
                for run in plain:
                    try:
                        outcomes[id(run)] = evaluate_plain(con, relation, [run.checked.compiled], [run.window])
                    except Exception as exc:
                        outcomes[id(run)] = exc
            for run in planned:
                if run.checked.compiled.correlation is not None:
                    try:
                        outcomes[id(run)] = evaluate_correlation(con, relation, run.checked.compiled, run.window)
                    except Exception as exc:
                        outcomes[id(run)] = exc
        finally:
            con.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        scanned = self.lake.data_scanned_mb(source, min(p.window.start for p in planned), until)
        return [self._finish(run, outcomes[id(run)], until, elapsed_ms, scanned) for run in planned]

    def _finish(
        self,
        run: PlannedRun,
        outcome: list[GroupResult] | Exception,
        until: datetime,
        elapsed_ms: float,
        scanned_mb: float,
    ) -> RunResult:
        rule = run.rule
        result = RunResult(
            rule.user_id,
            rule.rule_name,
            "success",
            iso_us(run.window.start),
            iso_us(until),
            duration_ms=round(elapsed_ms, 3),
            data_scanned_mb=round(scanned_mb, 6),
        )
        if isinstance(outcome, Exception):
            result.status = "error"
            result.error = f"{type(outcome).__name__}: {str(outcome)[:500]}"
        else:
            for group in outcome:
                result.matches += group.count
                result.new_matches += group.new
                if group.count >= rule.threshold and group.new > 0:
                    self._alert(run, group, until, result)
        self.stats.record_execution(
            rule.user_id,
            rule.rule_name,
            ExecutionRecord(
                at=iso(datetime.now(UTC)),
                status="error" if result.error else "success",
                duration_ms=result.duration_ms,
                data_scanned_mb=result.data_scanned_mb,
                alerts=len(result.alerts_created),
                error=result.error,
            ),
        )
        return result

    def _alert(self, run: PlannedRun, group: GroupResult, until: datetime, result: RunResult) -> None:
        rule, checked = run.rule, run.checked
        now = iso(datetime.now(UTC))
        alert = Alert(
            user_id=rule.user_id,
            alert_id=new_alert_id(iso_us(datetime.now(UTC))),
            rule_name=rule.rule_name,
            rule_title=checked.document.title,
            rule_id=checked.document.rule_id,
            severity=rule.severity,
            source=checked.source,
            window_start=iso(run.window.start),
            window_end=iso(until),
            match_count=group.count,
            group=group.group,
            samples=group.samples,
            dedup_key=dedup_key(rule.user_id, rule.rule_name, group.group),
            created_at=now,
            last_seen=now,
            alert_destinations=list(rule.alert_destinations),
            delivery_status="routing" if rule.alert_destinations else "none",
        )
        stored, created = self.alerts.record_firing(Firing(alert, int(checked.suppression.total_seconds())))
        (result.alerts_created if created else result.alerts_folded).append(stored.alert_id)
        if created and self.on_alert is not None:
            try:
                self.on_alert(stored)
            except Exception:
                log.exception("routing alert %s failed; the outbox will retry", stored.alert_id)


def default_until(lake: LogLake, settle_seconds: float = 2.0) -> datetime:
    """Now minus a settle delay, and never past an ingest still being written (its rows carry
    its start time but appear only when it finishes)."""
    return min(datetime.now(UTC) - timedelta(seconds=settle_seconds), lake.visible_until())

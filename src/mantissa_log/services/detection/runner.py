"""Running rules: windows from watermarks, one scan per source, alerts, statistics.

Window semantics (documented in docs/DETECTION.md):
- A run covers ingest time up to `until` (now minus a short settle delay, so files still being
  written are not skipped). New data is what arrived after the rule's watermark; the count for
  `threshold` runs from min(watermark, until - lookback). An event that arrives late with an
  old event time has a new ingest time, so the next run still sees it.
- A rule alerts when the count reaches `threshold` and at least one match is new; a second
  run over the same data has nothing new and stays quiet. Repeats inside the rule's
  suppression window fold into the open alert.

How the rules are evaluated (SQL, scans) is the detection engine's business (`lake.detect`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mantissa_log.clock import Clock, iso, iso_us, parse_iso
from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord
from mantissa_log.lake.detect import DetectionEngine, GroupResult, RuleFailure, RuleScan, RuleWindow
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.state.repositories.alerts import AlertRepository, Firing, new_alert_id
from mantissa_log.state.repositories.rules import DetectionRuleRepository

log = logging.getLogger("mantissa_log.runner")
RunStatus = Literal["success", "error"]


@dataclass
class PlannedRun:
    rule: DetectionRule
    checked: ValidatedRule
    window: RuleWindow


@dataclass
class RunResult:
    user_id: str
    rule_name: str
    status: RunStatus
    window_start: str
    window_end: str
    matches: int = 0
    new_matches: int = 0
    alerts_created: list[str] = field(default_factory=list)
    alerts_folded: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    data_scanned_mb: float = 0.0
    error: str | None = None


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
        engine: DetectionEngine,
        stats: DetectionRuleRepository,
        alerts: AlertRepository,
        clock: Clock,
        on_alert: Callable[[Alert], object] | None = None,
    ) -> None:
        self.engine = engine
        self.stats = stats
        self.alerts = alerts
        self.clock = clock
        # Called with each new alert (the delivery router); if it fails the outbox routes later.
        self.on_alert = on_alert

    def default_until(self, settle_seconds: float = 2.0) -> datetime:
        """Now minus a settle delay, and never past an ingest still being written (its rows carry
        its start time but appear only when it finishes)."""
        return min(self.clock.now() - timedelta(seconds=settle_seconds), self.engine.visible_until())

    def run_source(self, source: str, planned: Sequence[PlannedRun], until: datetime) -> list[RunResult]:
        """Evaluate every planned rule of one source over one scan; never let one rule stop the others."""
        outcome = self.engine.scan(source, [RuleScan(p.checked.compiled, p.window) for p in planned], until)
        return [
            self._finish(run, found, until, outcome.duration_ms, outcome.data_scanned_mb)
            for run, found in zip(planned, outcome.results, strict=True)
        ]

    def _finish(
        self,
        run: PlannedRun,
        found: list[GroupResult] | RuleFailure,
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
            duration_ms=elapsed_ms,
            data_scanned_mb=scanned_mb,
        )
        if isinstance(found, RuleFailure):
            result.status = "error"
            result.error = found.message
        else:
            for group in found:
                result.matches += group.count
                result.new_matches += group.new
                if group.count >= rule.threshold and group.new > 0:
                    self._alert(run, group, until, result)
        self.stats.record_execution(
            rule.user_id,
            rule.rule_name,
            ExecutionRecord(
                at=iso(self.clock.now()),
                status=result.status,
                duration_ms=result.duration_ms,
                data_scanned_mb=result.data_scanned_mb,
                alerts=len(result.alerts_created),
                error=result.error,
            ),
        )
        return result

    def _alert(self, run: PlannedRun, group: GroupResult, until: datetime, result: RunResult) -> None:
        rule, checked = run.rule, run.checked
        moment = self.clock.now()
        now = iso(moment)
        alert = Alert(
            user_id=rule.user_id,
            alert_id=new_alert_id(iso_us(moment)),
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
        firing = Firing(alert, int(checked.suppression.total_seconds()))
        stored, created = self.alerts.record_firing(firing, int(moment.timestamp()))
        (result.alerts_created if created else result.alerts_folded).append(stored.alert_id)
        if created and self.on_alert is not None:
            try:
                self.on_alert(stored)
            except Exception:
                log.exception("routing alert %s failed; the outbox will retry", stored.alert_id)

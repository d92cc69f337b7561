"""Running rules: windows from watermarks, one scan per source, alerts, statistics.

Window semantics (docs/DETECTION.md; crashes and repeats: docs/RELIABILITY.md):
- A run covers ingest time up to `until` (now minus a short settle delay, so files still being
  written are not skipped). New data is what arrived after the rule's watermark, which starts
  when the rule is created or enabled; the count for `threshold` runs from
  min(watermark, end - lookback). An event that arrives late with an old event time has a new
  ingest time, so the next run still sees it.
- What a run writes (alert ids, the statistics' run id) is derived from its window, so a run
  repeated after a crash finds its own work instead of doing it twice.
- A rule alerts when the count reaches `threshold` and at least one match is new; a second
  run over the same data has nothing new and stays quiet. Repeats inside the rule's
  suppression window fold into the open alert.

How the rules are evaluated (SQL, scans) is the detection engine's business (`lake.detect`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from mantissa_log.clock import Clock, iso, iso_us, parse_iso
from mantissa_log.domain.alert_size import fit_alert
from mantissa_log.domain.alerts import MAX_SAMPLES, Alert, alert_id_for, dedup_key
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord
from mantissa_log.lake.detect import DetectionEngine, GroupResult, RuleFailure, RuleScan, RuleWindow
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.state.repositories.alerts import AlertRepository, Firing
from mantissa_log.state.repositories.rule_runs import RunState
from mantissa_log.state.repositories.rules import DetectionRuleRepository

log = logging.getLogger("mantissa_log.runner")

# A scheduled run stops this far behind now, so files still being written are read by the next run.
SETTLE_SECONDS = 2.0

RunStatus = Literal["success", "error"]


@dataclass
class PlannedRun:
    rule: DetectionRule
    checked: ValidatedRule
    window: RuleWindow
    run_id: str  # the same for a window re-run after a crash: statistics count it once
    lag_seconds: float = 0.0  # how far the window's end is behind `until` (catching up)
    resumed: bool = False  # re-running a window a dead worker began


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
    # Alerts this very run (same window) had recorded before: a repeated run finds, never re-opens.
    alerts_repeated: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    data_scanned_mb: float = 0.0
    lag_seconds: float = 0.0
    error: str | None = None
    # A few matched events (up to MAX_SAMPLES over every group), for whoever ran the rule by hand.
    samples: list[dict[str, Any]] = field(default_factory=list)


def run_id_for(rule: DetectionRule, window_from: str, window_end: str) -> str:
    basis = json.dumps([rule.user_id, rule.rule_name, window_from, window_end], separators=(",", ":"))
    return hashlib.sha256(basis.encode()).hexdigest()[:24]


def plan_scheduled(
    rule: DetectionRule, checked: ValidatedRule, state: RunState, until: datetime, max_window: timedelta
) -> PlannedRun | None:
    """The next run from the watermark, or the run a dead worker began; None when nothing is new yet.

    The watermark is set when the rule is created or enabled (`created_at` stands in for rules
    from before that); one run covers at most `max_window`, a rule further behind catches up
    over several runs and never skips.
    """
    mark = parse_iso(state.watermark) if state.watermark else parse_iso(rule.created_at)
    resumed = state.run_until is not None
    end = parse_iso(state.run_until) if state.run_until else min(until, mark + max_window)
    if end <= mark:
        return None
    window = RuleWindow(start=min(mark, end - checked.lookback), watermark=mark, end=end)
    lag = max((until - end).total_seconds(), 0.0)
    return PlannedRun(rule, checked, window, run_id_for(rule, iso_us(mark), iso_us(end)), lag, resumed)


def plan_explicit(rule: DetectionRule, checked: ValidatedRule, since: datetime, until: datetime) -> PlannedRun:
    """A run over `(since, until]` that ignores the watermark: everything in it counts as new.

    Each explicit run is counted in the statistics; its alerts are still derived from the window,
    so running the same window again finds them instead of opening new ones.
    """
    window = RuleWindow(start=since, watermark=since, end=until)
    return PlannedRun(rule, checked, window, uuid.uuid4().hex[:24])


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

    def default_until(self, settle_seconds: float = SETTLE_SECONDS) -> datetime:
        """Now minus a settle delay, and never past an ingest still being written (its rows carry
        its start time but appear only when it finishes)."""
        return min(self.clock.now() - timedelta(seconds=settle_seconds), self.engine.visible_until())

    def run_source(self, source: str, planned: Sequence[PlannedRun]) -> list[RunResult]:
        """Evaluate every planned rule of one source over one scan; never let one rule stop the others."""
        outcome = self.engine.scan(source, [RuleScan(p.checked.compiled, p.window) for p in planned])
        results = []
        for run, found in zip(planned, outcome.results, strict=True):
            try:
                results.append(self._finish(run, found, outcome.duration_ms, outcome.data_scanned_mb))
            except Exception as exc:  # a store failure while recording one rule's outcome is that rule's
                log.exception("rule %s/%s: recording the run failed", run.rule.user_id, run.rule.rule_name)
                results.append(self.failed(run, f"recording the run failed: {type(exc).__name__}"))
        return results

    def failed(self, run: PlannedRun, message: str) -> RunResult:
        window = run.window
        return RunResult(
            run.rule.user_id, run.rule.rule_name, "error", iso_us(window.start), iso_us(window.end), error=message
        )

    def _finish(
        self, run: PlannedRun, found: list[GroupResult] | RuleFailure, elapsed_ms: float, scanned_mb: float
    ) -> RunResult:
        rule = run.rule
        result = RunResult(
            rule.user_id,
            rule.rule_name,
            "success",
            iso_us(run.window.start),
            iso_us(run.window.end),
            duration_ms=elapsed_ms,
            data_scanned_mb=scanned_mb,
            lag_seconds=run.lag_seconds,
        )
        if isinstance(found, RuleFailure):
            result.status = "error"
            result.error = found.message
        else:
            for group in found:
                result.matches += group.count
                result.new_matches += group.new
                result.samples += group.samples[: MAX_SAMPLES - len(result.samples)]
                if group.count >= rule.threshold and group.new > 0:
                    self._alert(run, group, result)
        # A resumed run counts the alerts its dead first attempt opened: that attempt was never counted.
        opened = len(result.alerts_created) + (len(result.alerts_repeated) if run.resumed else 0)
        self.stats.record_execution(
            rule.user_id,
            rule.rule_name,
            ExecutionRecord(
                at=iso(self.clock.now()),
                status=result.status,
                duration_ms=result.duration_ms,
                data_scanned_mb=result.data_scanned_mb,
                alerts=opened,
                error=result.error,
                run_id=run.run_id,
                lag_seconds=run.lag_seconds,
            ),
        )
        return result

    def _alert(self, run: PlannedRun, group: GroupResult, result: RunResult) -> None:
        rule, checked, window = run.rule, run.checked, run.window
        moment = self.clock.now()
        now = iso(moment)
        alert = Alert(
            user_id=rule.user_id,
            alert_id=alert_id_for(
                rule.user_id, rule.rule_name, iso_us(window.watermark), iso_us(window.end), group.group
            ),
            rule_name=rule.rule_name,
            rule_title=checked.document.title,
            rule_id=checked.document.rule_id,
            severity=rule.severity,
            source=checked.source,
            window_start=iso(window.start),
            window_end=iso(window.end),
            match_count=group.count,
            group=group.group,
            samples=group.samples,
            dedup_key=dedup_key(rule.user_id, rule.rule_name, group.group),
            created_at=now,
            last_seen=now,
            alert_destinations=list(rule.alert_destinations),
            delivery_status="routing" if rule.alert_destinations else "none",
        )
        # Bounded for the store (a DynamoDB item is at most 400 KB): ids and keys came from full values.
        alert = fit_alert(alert)
        firing = Firing(alert, int(checked.suppression.total_seconds()), new_matches=group.new)
        stored, outcome = self.alerts.record_firing(firing, int(moment.timestamp()))
        {"created": result.alerts_created, "folded": result.alerts_folded, "repeated": result.alerts_repeated}[
            outcome
        ].append(stored.alert_id)
        # A repeated alert that was never routed is still `routing`: the outbox routes it.
        if outcome == "created" and self.on_alert is not None:
            try:
                self.on_alert(stored)
            except Exception:
                log.exception("routing alert %s failed; the outbox will retry", stored.alert_id)

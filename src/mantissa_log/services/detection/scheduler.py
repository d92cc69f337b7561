"""The scheduler: which enabled rules are due, leases so several workers never run one rule twice.

Any number of worker processes may call `tick` against one state store. A rule is taken only by
a conditional write on its run-state item (free, lease expired, or already ours) and kept by a
heartbeat while its run lives; its watermark moves only while the lease is held. Everything about
one rule (loading, planning, the run, its bookkeeping) fails alone: that rule records the error
and is retried at its next fire time, every other rule runs. See docs/RELIABILITY.md.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from mantissa_log.clock import Clock, iso, iso_us
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord
from mantissa_log.lake.detect import failure
from mantissa_log.services.detection.leases import LeaseKeeper
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner, PlannedRun, RunResult, plan_scheduled
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.rule_runs import RuleRunRepository, RunState, rule_key
from mantissa_log.state.repositories.rules import DetectionRuleRepository

log = logging.getLogger("mantissa_log.scheduler")
NEVER = 4_102_444_800.0  # 2100-01-01: a schedule with no future fire (DynamoDB has no infinity)
BROKEN_RULE_RETRY = timedelta(minutes=5)
COMPILED_CACHE_LIMIT = 20_000


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Scheduler:
    def __init__(
        self,
        rules: DetectionRuleRepository,
        rule_service: RuleService,
        runs: RuleRunRepository,
        runner: DetectionRunner,
        clock: Clock,
        owner: str | None = None,
        *,
        lease_seconds: float = 60.0,
        max_window: timedelta = timedelta(days=1),
    ) -> None:
        self.rules = rules
        self.rule_service = rule_service
        self.runs = runs
        self.runner = runner
        self.clock = clock
        self.owner = owner or worker_id()
        self.lease_seconds = lease_seconds
        self.max_window = max_window
        self._compiled: dict[tuple[str, str], ValidatedRule] = {}

    def enabled_rules(self) -> list[DetectionRule]:
        found: list[DetectionRule] = []
        start: Key | None = None
        while True:
            page = self.rules.list_enabled_rules(limit=200, start_key=start)
            found.extend(page.items)
            if page.next_key is None:
                return found
            start = page.next_key

    def _load(self, rule: DetectionRule) -> ValidatedRule:
        # Compiled rules are cached per body version: the body key changes whenever the body does.
        cache_key = (rule_key(rule.user_id, rule.rule_name), rule.s3_key)
        if cache_key not in self._compiled:
            if len(self._compiled) > COMPILED_CACHE_LIMIT:
                self._compiled.clear()  # old body versions pile up in a long-lived worker
            self._compiled[cache_key] = self.rule_service.load(rule)
        return self._compiled[cache_key]

    def tick(self, now: datetime | None = None, until: datetime | None = None) -> list[RunResult]:
        """Run every due rule once; returns what ran."""
        now = now or self.clock.now()
        until = until or self.runner.default_until()
        enabled = self.enabled_rules()
        states = self.runs.states([(r.user_id, r.rule_name) for r in enabled])
        by_source: dict[str, list[PlannedRun]] = defaultdict(list)
        results: list[RunResult] = []
        with LeaseKeeper(self.runs, self.owner, self.lease_seconds, self.clock) as keeper:
            for rule in enabled:
                state = states.get(rule_key(rule.user_id, rule.rule_name), RunState())
                if state.next_due > now.timestamp():
                    continue
                if not self.runs.acquire(rule.user_id, rule.rule_name, self.owner, now.timestamp(), self.lease_seconds):
                    continue
                keeper.hold(rule.user_id, rule.rule_name)
                try:
                    planned = self._plan(rule, state, now, until)
                except Exception as exc:  # compiling, window arithmetic, the run record: this rule only
                    results.append(self._broken(rule, exc, now, until))
                    continue
                if planned is not None:
                    by_source[planned.checked.source].append(planned)
            for source, planned_runs in by_source.items():
                results.extend(self._run_source(source, planned_runs, now))
        return results

    def _plan(self, rule: DetectionRule, state: RunState, now: datetime, until: datetime) -> PlannedRun | None:
        checked = self._load(rule)
        planned = plan_scheduled(rule, checked, state, until, self.max_window)
        if planned is None:  # nothing ingested since the watermark could be read yet
            self.runs.complete(rule.user_id, rule.rule_name, self.owner, watermark=None, next_due=None)
            return None
        if not planned.resumed:
            self.runs.begin(rule.user_id, rule.rule_name, self.owner, iso_us(planned.window.end))
        else:
            log.warning("rule %s/%s: re-running the window a stopped worker began", rule.user_id, rule.rule_name)
        return planned

    def _run_source(self, source: str, planned: list[PlannedRun], now: datetime) -> list[RunResult]:
        try:
            ran = self.runner.run_source(source, planned)
        except Exception as exc:  # the engine contains rule failures; this is the engine itself failing
            log.error("source %s failed: %s", source, type(exc).__name__)
            message = failure(exc).message
            ran = [self.runner.failed(run, message) for run in planned]
        for run, result in zip(planned, ran, strict=True):
            rule = run.rule
            try:
                self.runs.complete(
                    rule.user_id,
                    rule.rule_name,
                    self.owner,
                    watermark=iso_us(run.window.end) if result.status == "success" else None,
                    next_due=self._next_due(run, now, caught_up=result.status != "success" or run.lag_seconds == 0),
                )
            except Exception:
                log.exception("rule %s/%s: recording the run's end failed", rule.user_id, rule.rule_name)
            if run.lag_seconds > 0 and result.status == "success":
                log.warning(
                    "rule %s/%s is catching up: its last window ended %.0f s behind now",
                    rule.user_id,
                    rule.rule_name,
                    run.lag_seconds,
                )
        return ran

    @staticmethod
    def _next_due(run: PlannedRun, now: datetime, *, caught_up: bool) -> float:
        if not caught_up:
            return now.timestamp()  # behind: the next tick runs the next window
        next_fire = run.checked.schedule.next_fire(now)
        return next_fire.timestamp() if next_fire else NEVER

    def _broken(self, rule: DetectionRule, exc: Exception, now: datetime, until: datetime) -> RunResult:
        message = failure(exc).message
        log.warning("rule %s/%s cannot run: %s", rule.user_id, rule.rule_name, message)
        try:
            self.rules.record_execution(
                rule.user_id,
                rule.rule_name,
                ExecutionRecord(at=iso(now), status="error", duration_ms=0, error=message),
            )
            retry = now + BROKEN_RULE_RETRY
            self.runs.complete(rule.user_id, rule.rule_name, self.owner, watermark=None, next_due=retry.timestamp())
        except Exception:
            log.exception("rule %s/%s: recording its error failed", rule.user_id, rule.rule_name)
        return RunResult(rule.user_id, rule.rule_name, "error", iso_us(until), iso_us(until), error=message)

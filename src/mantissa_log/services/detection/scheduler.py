"""The scheduler: which enabled rules are due, leases so several workers never run one rule twice.

Any number of worker processes may call `tick` against one state store. A rule is taken only by
a conditional write on its run-state item (free, lease expired, or already ours); its watermark
moves only while the lease is held. A rule whose body no longer compiles records an error and
is retried at its next fire time, without holding up the others.
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
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner, PlannedRun, RunResult, plan_window
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.rule_runs import RuleRunRepository, RunState, rule_key
from mantissa_log.state.repositories.rules import DetectionRuleRepository

log = logging.getLogger("mantissa_log.scheduler")
LEASE_SECONDS = 300.0
NEVER = 4_102_444_800.0  # 2100-01-01: a schedule with no future fire (DynamoDB has no infinity)
BROKEN_RULE_RETRY = timedelta(minutes=5)


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
    ) -> None:
        self.rules = rules
        self.rule_service = rule_service
        self.runs = runs
        self.runner = runner
        self.clock = clock
        self.owner = owner or worker_id()
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
        # Compiled rules are cached per body version: updated_at changes whenever the body does.
        cache_key = (rule_key(rule.user_id, rule.rule_name), rule.updated_at)
        if cache_key not in self._compiled:
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
        for rule in enabled:
            state = states.get(rule_key(rule.user_id, rule.rule_name), RunState())
            if state.next_due > now.timestamp():
                continue
            if not self.runs.acquire(rule.user_id, rule.rule_name, self.owner, now.timestamp(), LEASE_SECONDS):
                continue
            try:
                checked = self._load(rule)
            except Exception as exc:
                results.append(self._broken(rule, exc, now, until))
                continue
            by_source[checked.source].append(
                PlannedRun(rule, checked, plan_window(checked, until, state.watermark, None))
            )
        for source, planned in by_source.items():
            try:
                ran = self.runner.run_source(source, planned, until)
            except Exception as exc:
                log.error("source %s failed: %s", source, type(exc).__name__)
                for run in planned:
                    self.runs.release(run.rule.user_id, run.rule.rule_name, self.owner)
                continue
            for run, result in zip(planned, ran, strict=True):
                next_fire = run.checked.schedule.next_fire(now)
                self.runs.complete(
                    run.rule.user_id,
                    run.rule.rule_name,
                    self.owner,
                    watermark=iso_us(until) if result.status == "success" else None,
                    next_due=next_fire.timestamp() if next_fire else NEVER,
                )
            results.extend(ran)
        return results

    def _broken(self, rule: DetectionRule, exc: Exception, now: datetime, until: datetime) -> RunResult:
        message = f"{type(exc).__name__}: {str(exc)[:500]}"
        self.rules.record_execution(
            rule.user_id,
            rule.rule_name,
            ExecutionRecord(at=iso(now), status="error", duration_ms=0, error=message),
        )
        retry = now + BROKEN_RULE_RETRY
        self.runs.complete(rule.user_id, rule.rule_name, self.owner, watermark=None, next_due=retry.timestamp())
        return RunResult(rule.user_id, rule.rule_name, "error", iso_us(until), iso_us(until), error=message)

"""Interactive detection use cases: run a rule now, run its tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from mantissa_log.clock import as_utc, iso_us
from mantissa_log.domain.rule_document import RuleTestCase
from mantissa_log.errors import Conflict, ValidationFailed
from mantissa_log.lake.detect import DetectionEngine
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner, RunResult, plan_explicit, plan_scheduled
from mantissa_log.services.detection.validation import ValidatedRule
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.rule_runs import RuleRunRepository

RUN_NOW_LEASE_SECONDS = 300.0


@dataclass(frozen=True)
class TestOutcome:
    name: str
    expected_match: bool
    matched: bool

    @property
    def passed(self) -> bool:
        return self.expected_match == self.matched


def run_tests(
    engine: DetectionEngine,
    checked: ValidatedRule,
    extra: list[RuleTestCase] | None = None,
    *,
    include_stored: bool = True,
) -> list[TestOutcome]:
    """The rule's own `tests:` (and any given cases) evaluated exactly as the lake evaluates them."""
    cases = (list(checked.document.mantissa.tests) if include_stored else []) + list(extra or [])
    if not cases:
        return []
    raws = [json.dumps(case.event, separators=(",", ":")) for case in cases]
    matched = engine.match_events(checked.source, raws, checked.compiled)
    return [TestOutcome(case.name or f"test {i + 1}", case.match, i in matched) for i, case in enumerate(cases)]


class AdhocRuns:
    def __init__(
        self, rules: RuleService, runs: RuleRunRepository, runner: DetectionRunner, max_window: timedelta
    ) -> None:
        self.rules = rules
        self.runs = runs
        self.runner = runner
        self.max_window = max_window

    def run_now(
        self, who: Principal, rule_name: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> RunResult:
        """Without a window: the rule's next scheduled run, now (from its watermark, under its lease).
        With `since`: everything ingested in (since, until] counts as new; the watermark stays."""
        view = self.rules.get(who, rule_name)
        if view.validated is None:
            self.rules.validate(view.body, view.rule.schedule)  # raises the precise error
            raise ValidationFailed("the stored rule does not compile", field="body")
        checked = view.validated
        # Interactive runs need no settle delay: in-flight ingests are excluded by the lake itself.
        until = as_utc(until or self.runner.default_until(settle_seconds=0))
        if since is not None:
            if as_utc(since) >= until:
                raise ValidationFailed("must be before `until`", field="since")
            planned = plan_explicit(view.rule, checked, as_utc(since), until)
            return self.runner.run_source(checked.source, [planned])[0]
        owner = f"run-now:{who.user_id}"
        now = self.runner.clock.now().timestamp()
        if not self.runs.acquire(who.user_id, rule_name, owner, now, RUN_NOW_LEASE_SECONDS):
            raise Conflict("the rule is being run by a worker right now; try again shortly", field="rule_name")
        try:
            scheduled = plan_scheduled(
                view.rule, checked, self.runs.state(who.user_id, rule_name), until, self.max_window
            )
            if scheduled is None:
                self.runs.release(who.user_id, rule_name, owner)
                mark = iso_us(until)
                return RunResult(who.user_id, rule_name, "success", mark, mark)
            if not scheduled.resumed:
                self.runs.begin(who.user_id, rule_name, owner, iso_us(scheduled.window.end))
            result = self.runner.run_source(checked.source, [scheduled])[0]
        except BaseException:
            self.runs.release(who.user_id, rule_name, owner)
            raise
        watermark = iso_us(scheduled.window.end) if result.status == "success" else None
        self.runs.complete(who.user_id, rule_name, owner, watermark=watermark, next_due=None)
        return result

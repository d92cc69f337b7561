"""Interactive detection use cases: run a rule now, run its tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mantissa_log.clock import as_utc, iso_us
from mantissa_log.domain.rule_document import RuleTestCase
from mantissa_log.errors import Conflict, ValidationFailed
from mantissa_log.lake.detect import DetectionEngine
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner, PlannedRun, RunResult, plan_window
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
    def __init__(self, rules: RuleService, runs: RuleRunRepository, runner: DetectionRunner) -> None:
        self.rules = rules
        self.runs = runs
        self.runner = runner

    def run_now(
        self, who: Principal, rule_name: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> RunResult:
        """Without a window: a scheduled run now (watermark used and advanced, under the lease).
        With `since`: everything ingested in (since, until] counts as new; the watermark stays."""
        view = self.rules.get(who, rule_name)
        if view.validated is None:
            self.rules.validate(view.body, view.rule.schedule)  # raises the precise error
            raise ValidationFailed("the stored rule does not compile", field="body")
        checked = view.validated
        # Interactive runs need no settle delay: in-flight ingests are excluded by the lake itself.
        until = as_utc(until or self.runner.default_until(settle_seconds=0))
        if since is not None and as_utc(since) >= until:
            raise ValidationFailed("must be before `until`", field="since")
        owner = f"run-now:{who.user_id}"
        state = self.runs.state(who.user_id, rule_name)
        now = self.runner.clock.now().timestamp()
        if since is None and not self.runs.acquire(who.user_id, rule_name, owner, now, RUN_NOW_LEASE_SECONDS):
            raise Conflict("the rule is being run by a worker right now; try again shortly", field="rule_name")
        window = plan_window(checked, until, state.watermark, as_utc(since) if since else None)
        try:
            result = self.runner.run_source(checked.source, [PlannedRun(view.rule, checked, window)], until)[0]
        except BaseException:
            if since is None:
                self.runs.release(who.user_id, rule_name, owner)
            raise
        if since is None:
            watermark = iso_us(until) if result.status == "success" else None
            self.runs.complete(who.user_id, rule_name, owner, watermark=watermark, next_due=None)
        return result

"""Detection use cases the edges call: validate, test and run rules; one scheduler tick."""

from __future__ import annotations

from datetime import datetime

from mantissa_log.domain.rule_document import RuleTestCase
from mantissa_log.lake.detect import DetectionEngine
from mantissa_log.services.detection.adhoc import AdhocRuns, TestOutcome, run_tests
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import RunResult
from mantissa_log.services.detection.scheduler import Scheduler
from mantissa_log.services.detection.validation import ValidatedRule, validate_rule_text
from mantissa_log.services.identity import Principal


class DetectionService:
    def __init__(self, rules: RuleService, engine: DetectionEngine, adhoc: AdhocRuns, scheduler: Scheduler) -> None:
        self.rules = rules
        self.engine = engine
        self.adhoc = adhoc
        self.scheduler = scheduler

    @property
    def worker_name(self) -> str:
        return self.scheduler.owner

    def validate_text(self, text: str, schedule: str | None = None) -> ValidatedRule:
        return validate_rule_text(text, schedule_override=schedule)

    def test_text(self, text: str) -> list[TestOutcome]:
        """A rule body's own `tests:` (CLI `rules test`)."""
        return run_tests(self.engine, validate_rule_text(text))

    def test_rule(
        self, who: Principal, rule_name: str, cases: list[RuleTestCase], *, include_stored: bool = True
    ) -> list[TestOutcome]:
        """A stored rule's `tests:` and/or the given cases, evaluated as the lake evaluates them."""
        view = self.rules.get(who, rule_name)
        checked = view.validated or self.rules.validate(view.body, view.rule.schedule)
        return run_tests(self.engine, checked, cases, include_stored=include_stored)

    def run_now(
        self, who: Principal, rule_name: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> RunResult:
        return self.adhoc.run_now(who, rule_name, since=since, until=until)

    def tick(self) -> list[RunResult]:
        """Run every due rule once (any number of workers may tick against one store)."""
        return self.scheduler.tick()

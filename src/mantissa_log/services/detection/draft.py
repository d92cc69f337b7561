"""Drafting a rule from a description with the user's `detection_model`; nothing is saved.

The model answers with one ```yaml block; the rule is validated as a rule body is (the project's
format, compiled to SQL) and by pySigma's validators, must carry two generated tests (one event that
must match, one that must not) which are run as rule tests are; a draft with errors goes back to the
model once with them. A valid draft is evaluated over the user's default time range (ingest time)
with the detection engine directly: no watermark moves, no statistics, no alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import ValidationFailed
from mantissa_log.lake.detect import DetectionEngine, RuleFailure, RuleScan, RuleWindow
from mantissa_log.lake.store import LogLake
from mantissa_log.services.detection.adhoc import TestOutcome, run_tests
from mantissa_log.services.detection.draft_prompt import draft_system_prompt, fix_message
from mantissa_log.services.detection.validation import ValidatedRule, check_rule_files
from mantissa_log.services.identity import Principal
from mantissa_log.services.llm.fenced import read_fenced
from mantissa_log.services.llm.gateway import ChatResult, LlmService
from mantissa_log.services.llm.types import ChatMessage

MAX_DESCRIPTION_CHARS = 4000
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DRAFT_PATH = "draft.yml"


@dataclass(frozen=True)
class DraftIssue:
    level: Literal["error", "warning"]
    message: str
    line: int | None = None
    check: str | None = None  # which check found it: mantissa, tests, or a pySigma validator


@dataclass
class RuleDraft:
    body: str | None  # the rule as YAML (None when the model gave no yaml block)
    explanation: str
    valid: bool
    issues: list[DraftIssue]
    tests: list[TestOutcome] = field(default_factory=list)
    title: str | None = None
    source: str | None = None
    severity: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    match_count: int | None = None  # None: not evaluated (invalid draft, or the evaluation failed)
    groups: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    data_scanned_mb: float = 0.0
    evaluation_error: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    attempts: int = 0


class RuleDraftService:
    def __init__(
        self,
        llm: LlmService,
        engine: DetectionEngine,
        clock: Clock,
        *,
        lake: LogLake,
        attack_data: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.llm = llm
        self.engine = engine
        self.clock = clock
        self.lake = lake
        self.attack_data = attack_data
        self.cache_dir = cache_dir

    def draft(self, who: Principal, description: str) -> RuleDraft:
        description = description.strip()
        if not description or len(description) > MAX_DESCRIPTION_CHARS:
            raise ValidationFailed(f"a description is 1 to {MAX_DESCRIPTION_CHARS} characters", field="description")
        llm = self.llm.resolve(who, "detection")
        system = draft_system_prompt([name for name in SOURCE_NAMES if self.lake.files(name)])
        messages = [ChatMessage("user", description)]
        used: list[ChatResult] = []
        for _ in range(2):  # a draft that fails validation goes back to the model once, with the errors
            reply = self.llm.chat(who, llm, system, messages)
            used.append(reply)
            draft, checked = self._check(reply.text)
            if draft.valid:
                break
            problems = [
                f"line {i.line}: {i.message}" if i.line else i.message for i in draft.issues if i.level == "error"
            ]
            messages += [ChatMessage("assistant", reply.text), ChatMessage("user", fix_message(problems))]
        draft.provider, draft.model = llm.provider, used[-1].model
        draft.input_tokens = sum(r.input_tokens for r in used)
        draft.output_tokens = sum(r.output_tokens for r in used)
        draft.attempts = len(used)
        if checked is not None and draft.valid:
            self._evaluate(draft, checked, llm.default_time_range)
        return draft

    def _check(self, text: str) -> tuple[RuleDraft, ValidatedRule | None]:
        fenced = read_fenced(text, ("yaml", "yml"))
        if fenced.code is None:
            cut = " (the answer was cut off: max_tokens is too small)" if fenced.unterminated else ""
            issue = DraftIssue("error", f"the answer held no ```yaml block{cut}", check="format")
            return RuleDraft(None, fenced.prose, False, [issue]), None
        body = fenced.code + "\n"
        report = check_rule_files([(DRAFT_PATH, body)], attack_data=self.attack_data, cache_dir=self.cache_dir)
        issues = [DraftIssue(f.level, f.message, f.line, f.check) for f in report.findings]
        checked = report.files[0].validated
        draft = RuleDraft(body, fenced.prose, False, issues)
        if checked is None:
            return draft, None
        draft.title, draft.source, draft.severity = checked.document.title, checked.source, checked.document.severity
        cases = checked.document.mantissa.tests
        tests_line = checked.document.line_of("tests")
        if not any(c.match for c in cases) or all(c.match for c in cases):
            issues.append(
                DraftIssue(
                    "error", "tests: one event that must match and one that must not are needed", tests_line, "tests"
                )
            )
        try:
            draft.tests = run_tests(self.engine, checked)
        except Exception as exc:  # an event the source cannot read is the draft's problem, not a 500
            issues.append(DraftIssue("error", f"tests could not run: {type(exc).__name__}", tests_line, "tests"))
        for outcome in draft.tests:
            if not outcome.passed:
                expected = "match" if outcome.expected_match else "not match"
                found = "it matched" if outcome.matched else "it did not"
                issues.append(
                    DraftIssue("error", f"test '{outcome.name}' should {expected}, but {found}", tests_line, "tests")
                )
        draft.valid = not any(i.level == "error" for i in issues)
        return draft, checked

    def _evaluate(self, draft: RuleDraft, checked: ValidatedRule, default_range: str) -> None:
        until = min(self.clock.now(), self.engine.visible_until())
        since = until - RANGES.get(default_range, RANGES["24h"])
        draft.window_start, draft.window_end = iso(since), iso(until)
        outcome = self.engine.scan(checked.source, [RuleScan(checked.compiled, RuleWindow(since, since, until))])
        found = outcome.results[0]
        draft.data_scanned_mb = outcome.data_scanned_mb
        if isinstance(found, RuleFailure):
            draft.evaluation_error = found.message
            return
        draft.match_count = sum(group.count for group in found)
        draft.groups = len(found)
        draft.samples = [sample for group in found for sample in group.samples][:10]

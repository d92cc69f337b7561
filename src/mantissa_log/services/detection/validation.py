"""Validating rules: one body (document, Mantissa fields, compilation) or many files (plus pySigma's checks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mantissa_log.domain.rule_document import RuleDocument, parse_rule_document
from mantissa_log.domain.rule_findings import RuleFinding
from mantissa_log.domain.schedule import Schedule, parse_duration, parse_schedule
from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.sigma.compiled import CompiledRule
from mantissa_log.sigma.compiler import compile_sigma
from mantissa_log.sigma.lint import lint_rules

DEFAULT_SCHEDULE = "rate(5 minutes)"
# The longest stretch of data a rule may count over, hold repeats for, or correlate across: beyond
# it a run would scan unbounded history (and window arithmetic can overflow).
MAX_SPAN = timedelta(days=30)


@dataclass
class ValidatedRule:
    document: RuleDocument
    compiled: CompiledRule
    schedule: Schedule
    lookback: timedelta
    suppression: timedelta

    @property
    def source(self) -> str:
        return self.compiled.source


def _pick(compiled: list[CompiledRule]) -> CompiledRule:
    """The rule that alerts: the correlation when the document has one, else its only rule."""
    for rule in compiled:
        if rule.correlation is not None:
            return rule
    return compiled[0]


def validate_rule_text(text: str, *, schedule_override: str | None = None) -> ValidatedRule:
    try:
        return _validate(text, schedule_override)
    except (RecursionError, OverflowError) as exc:
        # Backstops: the YAML guard and the compiler's budget bound nesting and sizes before
        # anything recursive runs, so reaching here means a limit was missed; still a 422.
        what = "nests too deeply" if isinstance(exc, RecursionError) else "holds a number out of range"
        raise ValidationFailed(f"the rule {what} to validate", field="body") from None


def _validate(text: str, schedule_override: str | None) -> ValidatedRule:
    document = parse_rule_document(text)
    expression = schedule_override or document.mantissa.schedule or DEFAULT_SCHEDULE
    try:
        schedule = parse_schedule(expression)
    except ValidationFailed as exc:
        exc.line = None if schedule_override else document.line_of("schedule")
        raise
    try:
        compiled = compile_sigma(text, source=document.mantissa.source, documents=document.documents)
    except ValidationFailed as exc:
        if exc.line is None:
            exc.line = document.line_of(exc.field or "detection")
        raise
    if not compiled:
        raise ValidationFailed("the document holds no Sigma rule", field="body", line=1)
    chosen = _pick(compiled)
    # A schedule's own period is only a default: a yearly cron still counts over at most MAX_SPAN.
    lookback = _duration(document, "lookback") or min(schedule.interval_hint(), MAX_SPAN)
    if chosen.correlation is not None:
        timespan = chosen.correlation.timespan_seconds
        if timespan > MAX_SPAN.total_seconds():
            raise ValidationFailed(
                f"correlation timespan is over {MAX_SPAN.days} days",
                field="correlation.timespan",
                line=document.line_of("correlation.timespan"),
            )
        lookback = max(lookback, timedelta(seconds=timespan))
    suppression = _duration(document, "suppression") or timedelta(0)
    return ValidatedRule(document, chosen, schedule, lookback, suppression)


def _duration(document: RuleDocument, name: str) -> timedelta | None:
    text = getattr(document.mantissa, name)
    if text is None:
        return None
    try:
        value = parse_duration(str(text), name)
    except ValidationFailed as exc:
        exc.line = document.line_of(name)
        raise
    if value > MAX_SPAN:
        raise ValidationFailed(f"{name} is over {MAX_SPAN.days} days", field=name, line=document.line_of(name))
    return value


@dataclass
class RuleFileCheck:
    path: str
    validated: ValidatedRule | None  # None when the file does not parse or compile
    findings: list[RuleFinding] = field(default_factory=list)  # ours first, then pySigma's by line

    @property
    def failed(self) -> bool:
        return any(f.level == "error" for f in self.findings)


@dataclass
class RuleFilesReport:
    files: list[RuleFileCheck]
    skipped: dict[str, str]  # pySigma check that could not run -> why (e.g. no ATT&CK data)
    strict: bool

    @property
    def findings(self) -> list[RuleFinding]:
        return [f for file in self.files for f in file.findings]

    @property
    def errors(self) -> int:
        return sum(f.level == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def failed(self) -> bool:
        """Any error; under --strict a check that could not run fails too (unchecked is not clean)."""
        return any(file.failed for file in self.files) or (self.strict and bool(self.skipped))


def _own_finding(path: str, exc: MantissaError) -> RuleFinding:
    message = f"{exc.message} (field {exc.field})" if exc.field else exc.message
    return RuleFinding(path, exc.line, "error", message, "mantissa")


def check_rule_files(
    sources: Sequence[tuple[str, str]],
    *,
    strict: bool = False,
    attack_data: str | None = None,
    cache_dir: Path | None = None,
) -> RuleFilesReport:
    """Each `(path, yaml_text)` validated as a rule body, then pySigma's validators over all of them together.

    `strict` turns warnings into errors. `attack_data` names MITRE's enterprise-attack.json (file or
    URL) for the ATT&CK tag check; `cache_dir` is where pySigma keeps the parsed lists.
    """
    lint = lint_rules(sources, attack_source=attack_data, cache_dir=cache_dir)
    files = {path: RuleFileCheck(path, None) for path, _ in sources}
    for path, text in sources:
        try:
            files[path].validated = validate_rule_text(text)
        except MantissaError as exc:
            files[path].findings.append(_own_finding(path, exc))
    for finding in lint.findings:
        files[finding.path].findings.append(finding.as_error() if strict else finding)
    return RuleFilesReport(list(files.values()), lint.skipped, strict)

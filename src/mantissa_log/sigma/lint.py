"""pySigma's rule validators over many rule files at once; each finding at the line of its key.

    lint_rules([(path, yaml_text), ...], attack_source=None, cache_dir=None) -> LintReport

All files are validated together, so the checks across rules (duplicate ids, titles, file names)
see every rule given. Mantissa's own keys (schedule, tests, ...) are removed first, as the rule
document does. Files pySigma cannot load are left out here: the compiler reports them, with the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.policy.profiles import TrustedPolicy
from sigma.rule import SigmaRule
from sigma.validators.base import SigmaRuleValidator, SigmaValidationIssue
from sigma.validators.core import validators as core_validators
from sigma.validators.core.condition import DanglingConditionIssue, DanglingDetectionIssue
from sigma.validators.core.metadata import DuplicateFilenameIssue, DuplicateTitleIssue, IdentifierCollisionIssue
from sigma.validators.core.modifiers import (
    AllWithoutContainsModifierIssue,
    Base64OffsetWithoutContainsModifierIssue,
    WindowsDashCombinedWithAllModifierIssue,
)
from sigma.validators.core.values import ControlCharacterIssue

from mantissa_log.domain.rule_document import MANTISSA_KEYS
from mantissa_log.domain.rule_findings import FindingLevel, RuleFinding
from mantissa_log.domain.rule_yaml import load_documents
from mantissa_log.errors import ValidationFailed
from mantissa_log.sigma.attack_data import load_attack_data
from mantissa_log.sigma.budget import RuleTooLarge, check_rule_size
from mantissa_log.sigma.lint_place import issue_line, issue_message
from mantissa_log.sigma.yaml_lines import DocumentLines, index_nodes

AnyRule = SigmaRule | SigmaCorrelationRule
ATTACK = "attacktag"
# pySigma's core validators we do not run, and why.
LEFT_OUT = {
    "d3_fendtag": "downloads MITRE's D3FEND ontology at the first tag of any namespace; no offline source",
    "tlpv1_tag": "tlptag accepts both TLP versions; the single-version checks would contradict it",
    "tlpv2_tag": "tlptag accepts both TLP versions; the single-version checks would contradict it",
}
# Errors: the rule's identity is ambiguous (one id, title or file name for two rules: references,
# alert titles and imported rule names collide) or its logic is not what it says (a detection the
# condition never uses, a condition naming no detection, modifiers that make a value match nothing,
# a control character left by a missing backslash). Everything else is advice (warnings): metadata
# and tag hygiene, wildcard spelling, ATT&CK tags (pySigma drops revoked and deprecated techniques,
# so older upstream rules are flagged, and a tag never changes what a rule matches).
ERRORS: tuple[type[SigmaValidationIssue], ...] = (
    IdentifierCollisionIssue,
    DuplicateTitleIssue,
    DuplicateFilenameIssue,
    DanglingDetectionIssue,
    DanglingConditionIssue,
    AllWithoutContainsModifierIssue,
    Base64OffsetWithoutContainsModifierIssue,
    WindowsDashCombinedWithAllModifierIssue,
    ControlCharacterIssue,
)


@dataclass
class LintReport:
    findings: list[RuleFinding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # check that did not run -> why


@dataclass
class _Rule:
    rule: AnyRule
    path: str
    doc: DocumentLines


def _load(path: str, text: str) -> list[_Rule]:
    """The file's rules, each with the lines of the YAML document it came from; [] if pySigma can't load it."""
    try:
        loaded = load_documents(text, field="rule")
    except ValidationFailed:
        return []
    docs: list[Any] = loaded.documents
    lines = index_nodes(loaded.nodes)
    try:
        for doc in docs:
            if isinstance(doc, dict):
                check_rule_size(doc)  # an oversized rule is the compiler's to report
    except RuleTooLarge:
        return []
    if not docs or len(docs) != len(lines) or not all(isinstance(d, dict) for d in docs):
        return []
    # pySigma turns one document into one rule, except `action: global` / `reset` and filters.
    producing = [n for n, d in enumerate(docs) if "filter" not in d and d.get("action") in (None, "repeat")]
    sigma_docs = [{k: v for k, v in d.items() if k not in MANTISSA_KEYS} for d in docs]
    try:
        collection = SigmaCollection.from_dicts(sigma_docs, source=SigmaRuleLocation(Path(path)), policy=TrustedPolicy)
    except SigmaError:
        return []
    if len(producing) != len(collection.rules):  # a layout pySigma reads otherwise: place by the first document
        producing = [0] * len(collection.rules)
    return [_Rule(rule, path, lines[n]) for rule, n in zip(collection.rules, producing, strict=True)]


def _validators(
    rules: list[_Rule], attack_source: str | None, cache_dir: Path | None
) -> tuple[dict[str, SigmaRuleValidator], dict[str, str]]:
    skipped: dict[str, str] = {}
    names = set(core_validators) - set(LEFT_OUT)
    # The ATT&CK check loads its data at the first tag of any namespace, so it runs only when the
    # data is there; it is reported as skipped only when some rule has an attack.* tag.
    if any(tag.namespace == "attack" for r in rules for tag in r.rule.tags):
        reason = load_attack_data(attack_source, cache_dir)
        if reason is not None:
            skipped[ATTACK] = reason
            names.discard(ATTACK)
    else:
        names.discard(ATTACK)
    return {name: core_validators[name]() for name in sorted(names)}, skipped


def _findings(check: str, issue: SigmaValidationIssue, owners: dict[int, _Rule]) -> list[RuleFinding]:
    """One finding per rule the issue names; an issue across files says where the others are."""
    level: FindingLevel = "error" if isinstance(issue, ERRORS) else "warning"
    message = issue_message(issue)
    placed: list[tuple[_Rule, int]] = []
    for rule in issue.rules:
        owner = owners[id(rule)]
        placed.append((owner, issue_line(issue, owner.doc) or owner.doc.line_of("title") or owner.doc.first_line))
    found: list[RuleFinding] = []
    for owner, line in placed:
        others = [f"{o.path}:{n}" for o, n in placed if o is not owner]
        also = f" (also {', '.join(others)})" if others else ""
        found.append(RuleFinding(owner.path, line, level, message + also, check))
    return found


def lint_rules(
    sources: Sequence[tuple[str, str]], *, attack_source: str | None = None, cache_dir: Path | None = None
) -> LintReport:
    """Run pySigma's core validators over the rules of all `(path, yaml_text)` sources together."""
    rules = [rule for path, text in sources for rule in _load(path, text)]
    validators, skipped = _validators(rules, attack_source, cache_dir)
    owners = {id(r.rule): r for r in rules}
    report = LintReport(skipped=skipped)
    for rule in rules:
        for check, validator in validators.items():
            try:
                issues = validator.validate(rule.rule)
            except Exception as exc:  # a validator's bug must cost one rule's check, not the whole report
                failed = f"pySigma's {check} check failed on this rule: {exc!r}"
                report.findings.append(RuleFinding(rule.path, rule.doc.first_line, "error", failed, check))
                continue
            for issue in issues:
                report.findings.extend(_findings(check, issue, owners))
    for check, validator in validators.items():
        for issue in validator.finalize():
            report.findings.extend(_findings(check, issue, owners))
    order = {path: n for n, (path, _) in reversed(list(enumerate(sources)))}
    report.findings.sort(key=lambda f: (order.get(f.path, 0), f.line or 0, f.message))
    return report

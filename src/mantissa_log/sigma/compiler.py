"""Sigma rule -> SQL: the API the rest of the project uses.

    compile_sigma(yaml_text, source=None) -> [CompiledRule, ...]   # one document (may hold a correlation)
    compile_sigma_rule(rule, source=None) -> CompiledRule          # one parsed pySigma rule

A CompiledRule carries the same detection three ways: `predicate` (DuckDB, plain AND/OR, for WHERE),
`flag_expression` (DuckDB, CASE chains, for one projection computing a flag per rule) and
`athena_predicate` (Trino). All are never-NULL booleans over the columns `raw` and `event`. It also
carries the rule's gate (`sigma.gates`): what every event it matches holds, for a hunt to skip
rules its input cannot match.
Everything we cannot run faithfully raises RuleCompileError naming the reason, never a weaker query.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.exceptions import SigmaError
from sigma.policy.profiles import TrustedPolicy
from sigma.rule import SigmaRule

from mantissa_log.domain.log_sources import SOURCES, LogSource
from mantissa_log.domain.rule_yaml import load_documents
from mantissa_log.errors import ValidationFailed
from mantissa_log.sigma.backend_athena import AthenaBackend
from mantissa_log.sigma.backend_base import SqlPredicateBackend
from mantissa_log.sigma.backend_duckdb import DuckDBBackend
from mantissa_log.sigma.budget import check_rule_size
from mantissa_log.sigma.common import UnsupportedSigma
from mantissa_log.sigma.compiled import SQL_OPERATORS, CompiledRule, Correlation, Gate, RuleCompileError
from mantissa_log.sigma.gates import rule_gate
from mantissa_log.sigma.pipelines import map_field, pipeline_for, source_for_rule


def _line(error: SigmaError) -> int | None:
    return error.source.line if error.source is not None else None


def _reason(error: Exception) -> str:
    return str(error.args[0]) if error.args else type(error).__name__


def _pick_source(rule: SigmaRule, source: str | None) -> LogSource:
    if source is not None:
        if source not in SOURCES:
            raise RuleCompileError(f"unknown log source '{source}' (known: {', '.join(SOURCES)})", field="source")
        return SOURCES[source]
    found = source_for_rule(rule.logsource)
    if found is None:
        product, service = rule.logsource.product, rule.logsource.service
        raise RuleCompileError(
            f"rule '{rule.title}': no log source for logsource product={product} service={service}; "
            "name one explicitly (e.g. source='json' for generic JSON events)",
            field="logsource",
        )
    return found


def _backends(source: LogSource) -> tuple[DuckDBBackend, AthenaBackend]:
    return (
        DuckDBBackend(pipeline_for(source.name), structure=source.structure),
        AthenaBackend(pipeline_for(source.name), structure=source.structure),
    )


def _expressions(rule: SigmaRule, source: LogSource) -> tuple[str, str, str, Gate]:
    """(DuckDB predicate, DuckDB flag expression, Athena predicate, gate) of one rule."""
    duck, athena = _backends(source)
    try:
        # Both backends are built with the source's pipeline: one processed copy serves both.
        processed = duck.processed(rule)
        predicate, flag = duck.processed_expressions(processed, (False, True))
        athena_predicate = athena.processed_expressions(processed, (athena.flag,))[0]
        return predicate, flag, athena_predicate, rule_gate(processed, duck)
    except UnsupportedSigma as error:
        raise RuleCompileError(f"rule '{rule.title}': {_reason(error)}", field=error.field or "detection") from error
    except SigmaError as error:
        raise RuleCompileError(
            f"rule '{rule.title}': {_reason(error)}", field="detection", line=_line(error)
        ) from error


def compile_sigma_rule(rule: SigmaRule, source: str | None = None) -> CompiledRule:
    """Compile one parsed Sigma rule for `source` (a key of SOURCES; default: from its logsource)."""
    log_source = _pick_source(rule, source)
    predicate, flag, athena, gate = _expressions(rule, log_source)
    return CompiledRule(
        rule_id=str(rule.id) if rule.id else None,
        title=rule.title,
        source=log_source.name,
        predicate=predicate,
        flag_expression=flag,
        athena_predicate=athena,
        gates=gate,
    )


def _group_key(backend: SqlPredicateBackend, field: str) -> str:
    try:
        return backend.field_value(field)
    except UnsupportedSigma as error:
        raise RuleCompileError(_reason(error), field="group-by") from error


def _group_fields(corr: SigmaCorrelationRule, title: str) -> list[str]:
    fields: list[str] = []
    for name in corr.group_by or []:
        alias = next((a for a in corr.aliases if a.alias == name), None)
        if alias is None:
            fields.append(name)
            continue
        targets = set(alias.mapping.values())
        if len(targets) != 1:
            raise RuleCompileError(
                f"correlation '{title}': alias '{name}' maps to different fields per rule ({sorted(targets)})",
                field="aliases",
            )
        fields.append(targets.pop())
    return fields


def _compile_correlation(corr: SigmaCorrelationRule, source: str | None) -> CompiledRule:
    title = corr.title
    if corr.type != SigmaCorrelationType.EVENT_COUNT:
        raise RuleCompileError(
            f"correlation '{title}': type {corr.type.name.lower()} is not supported (only event_count)",
            field="correlation.type",
        )
    condition = corr.condition
    if not isinstance(condition, SigmaCorrelationCondition) or condition.op.name.lower() not in SQL_OPERATORS:
        raise RuleCompileError(f"correlation '{title}': unsupported condition", field="correlation.condition")
    bases: list[SigmaRule] = []
    for reference in corr.rules or []:
        base = reference.rule
        if not isinstance(base, SigmaRule):
            raise RuleCompileError(
                f"correlation '{title}': '{reference.reference}' is a correlation; nesting is not supported",
                field="correlation.rules",
            )
        bases.append(base)
    if not bases:
        raise RuleCompileError(f"correlation '{title}': references no rule", field="correlation.rules")
    sources = {_pick_source(base, source).name for base in bases}
    if len(sources) != 1:
        raise RuleCompileError(
            f"correlation '{title}': referenced rules read different log sources ({sorted(sources)})",
            field="correlation.rules",
        )
    log_source = SOURCES[sources.pop()]
    parts = [_expressions(base, log_source) for base in bases]
    duck, athena = _backends(log_source)
    names = _group_fields(corr, title)
    fields = [map_field(log_source.name, name) for name in names]
    return CompiledRule(
        rule_id=str(corr.id) if corr.id else None,
        title=title,
        source=log_source.name,
        predicate=duck.any_of([p[0] for p in parts], flag=False),
        flag_expression=duck.any_of([p[1] for p in parts], flag=True),
        athena_predicate=athena.any_of([p[2] for p in parts], flag=False),
        correlation=Correlation(
            type="event_count",
            group_by=tuple(_group_key(duck, name) for name in fields),
            athena_group_by=tuple(_group_key(athena, name) for name in fields),
            group_names=tuple(names),
            timespan_seconds=corr.timespan.seconds,
            condition_op=condition.op.name.lower(),
            condition_count=int(condition.count),
            rule_refs=tuple(reference.reference for reference in corr.rules or []),
        ),
    )


def _parse(yaml_text: str, parsed: list[Any] | None) -> SigmaCollection:
    try:
        documents = parsed if parsed is not None else load_documents(yaml_text, field="rule").documents
    except ValidationFailed as error:
        raise RuleCompileError(error.message, field=error.field, line=error.line) from None
    if not documents:
        raise RuleCompileError("the document holds no Sigma rule", field="rule")
    if not all(isinstance(doc, dict) for doc in documents):
        raise RuleCompileError("every YAML document must be a Sigma rule (a mapping)", field="rule")
    for doc in documents:
        try:
            check_rule_size(doc)
        except UnsupportedSigma as error:
            raise RuleCompileError(f"rule '{doc.get('title', '')}': {_reason(error)}", field=error.field) from None
    if parsed is not None:
        # Documents the caller read already (the rule document keeps using them): pySigma gets a copy.
        documents = copy.deepcopy(parsed)
    try:
        # pySigma's default policy compiles regexes with RE2 and fails the whole document on the first
        # look-around, without saying which rule. Parse with Python's engine; the DuckDB backend then
        # refuses RE2-incompatible regexes naming the rule and the construct.
        return SigmaCollection.from_dicts(documents, policy=TrustedPolicy)
    except SigmaError as error:
        raise RuleCompileError(f"not a valid Sigma rule: {_reason(error)}", field="rule", line=_line(error)) from error


def _locate(yaml_text: str, error: RuleCompileError) -> int | None:
    """The 1-based line an error is about, found by its field name or modifier in the text."""
    modifier = re.search(r"Unknown modifier '([^']+)'", error.message)
    if modifier:
        pattern = rf"\|{re.escape(modifier.group(1))}\b"
    elif error.field == "logsource":
        pattern = r"^logsource\s*:"
    elif error.field and error.field not in ("rule", "detection", "source"):
        pattern = rf"^\s*-?\s*[\"']?{re.escape(error.field)}[\"']?\s*[|:]"
    else:
        return None
    for number, line in enumerate(yaml_text.splitlines(), start=1):
        if re.search(pattern, line):
            return number
    return None


def compile_sigma(
    yaml_text: str, *, source: str | None = None, documents: list[Any] | None = None
) -> list[CompiledRule]:
    """Compile a Sigma document: one rule, or a correlation with its base rule(s) (multi-document YAML).

    Base rules referenced by a correlation are part of the correlation's predicate; they are also
    returned on their own only when a referencing correlation says `generate: true`. `documents`:
    the text's YAML documents when the caller has read them already (with `rule_yaml.load_documents`).
    """
    try:
        return _compile_document(yaml_text, source, documents)
    except RecursionError:
        # A backstop: `budget` bounds nesting before pySigma's recursive parsers see it.
        raise RuleCompileError("the rule nests too deeply to compile", field="detection") from None
    except RuleCompileError as error:
        line = error.line if error.line is not None else _locate(yaml_text, error)
        if line is None or line == error.line:
            raise
        raise RuleCompileError(error.message, field=error.field, line=line) from error


def _compile_document(yaml_text: str, source: str | None, documents: list[Any] | None) -> list[CompiledRule]:
    collection = _parse(yaml_text, documents)
    correlations = [rule for rule in collection.rules if isinstance(rule, SigmaCorrelationRule)]
    # A base rule is returned alone unless every correlation that references it says generate: false.
    referenced = {id(ref.rule): ref for corr in correlations for ref in corr.rules or [] if hasattr(ref, "rule")}
    generated = {
        id(ref.rule) for corr in correlations if corr.generate for ref in corr.rules or [] if hasattr(ref, "rule")
    }
    hidden = set(referenced) - generated
    compiled: list[CompiledRule] = []
    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            compiled.append(_compile_correlation(rule, source))
        elif id(rule) not in hidden:
            compiled.append(compile_sigma_rule(rule, source))
    return compiled

"""Athena (Trino) output: golden strings for the constructs that differ from DuckDB, and every corpus
rule's SQL parses as Trino."""

from __future__ import annotations

import pytest
import sqlglot
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule
from sqlglot import exp

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.backend_athena import AthenaBackend
from tests.sigma.conftest import CorpusResult
from tests.sigma.helpers import rule


def athena(detection: str, logsource: str = "product: aws\n    service: cloudtrail") -> str:
    [compiled] = compile_sigma(rule(detection, logsource=logsource))
    return compiled.athena_predicate


def parse_trino(predicate: str) -> exp.Expr:
    return sqlglot.parse_one(f"SELECT raw FROM events WHERE {predicate}", read="trino")  # noqa: S608


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        (
            "    sel:\n        eventName|endswith: Trail\n    condition: sel",
            """COALESCE(lower(event."eventName") LIKE '%trail' ESCAPE '\\', false)""",
        ),
        (
            "    sel:\n        userAgent: 'a_b*c%'\n    condition: sel",
            """COALESCE(lower(event."userAgent") LIKE 'a\\_b%c\\%' ESCAPE '\\', false)""",
        ),
        (
            "    sel:\n        userIdentity.arn|fieldref|endswith: userIdentity.userName\n    condition: sel",
            'COALESCE(COALESCE(strpos(reverse(lower(event."userIdentity"."arn")), '
            'reverse(lower(event."userIdentity"."userName"))) = 1, false), false)',
        ),
        (
            "    sel:\n        errorCode|exists: false\n    condition: sel",
            'NOT COALESCE(event."errorCode" IS NOT NULL, false)',
        ),
    ],
)
def test_athena_golden(detection: str, expected: str) -> None:
    predicate = athena(detection)
    parse_trino(predicate)
    assert predicate == expected


def test_ipv6_cidr_has_an_athena_form() -> None:
    """DuckDB refuses IPv6 CIDR (so compile_sigma refuses the rule); Trino's IPADDRESS handles it."""
    parsed = SigmaCollection.from_yaml(
        rule("    sel:\n        sourceIPAddress|cidr: '2001:db8::/32'\n    condition: sel")
    )
    [parsed_rule] = parsed.rules
    assert isinstance(parsed_rule, SigmaRule)
    predicate = AthenaBackend(structure=SOURCES["cloudtrail"].structure).rule_expression(parsed_rule)
    assert predicate == "COALESCE(contains('2001:db8::/32', TRY_CAST(event.\"sourceIPAddress\" AS IPADDRESS)), false)"
    parse_trino(predicate)


def test_numeric_comparison_reads_json_text() -> None:
    predicate = athena("    sel:\n        requestParameters.maxResults|gt: 5\n    condition: sel")
    parse_trino(predicate)
    assert predicate.startswith(
        """(COALESCE(TRY_CAST(COALESCE(json_extract_scalar(event."requestParameters", '$["maxResults"]'), """
    )
    assert "AS DOUBLE) > 5" in predicate


def test_list_of_structs_uses_trino_lambdas() -> None:
    predicate = athena(
        "    sel:\n        target.displayName: Admins\n    condition: sel", logsource="product: okta\n    service: okta"
    )
    assert predicate == (
        """COALESCE(any_match(transform(event."target", x1 -> x1."displayName"), x1 -> lower(x1) = 'admins'), false)"""
    )
    lambdas = list(parse_trino(predicate).find_all(exp.Lambda))
    assert len(lambdas) == 2


def test_every_compiled_corpus_rule_parses_as_trino(corpus: CorpusResult) -> None:
    count = 0
    for name, rules in corpus.compiled.items():
        for compiled in rules:
            tree = parse_trino(compiled.athena_predicate)
            assert tree.find(exp.Where) is not None, name
            count += 1
    assert count == len(corpus.compiled)


def test_correlation_group_by_parses_as_trino() -> None:
    text = rule("    sel:\n        eventName: ConsoleLogin\n    condition: sel").replace(
        "title: Test", "name: base\ntitle: Test"
    )
    text += """---
title: Burst
correlation:
    type: event_count
    rules: [base]
    group-by: [userIdentity.arn, requestParameters.roleName]
    timespan: 1h
    condition: {gt: 10}
"""
    [compiled] = compile_sigma(text)
    assert compiled.correlation is not None
    keys = ", ".join(compiled.correlation.athena_group_by)
    sqlglot.parse_one(
        f"SELECT {keys}, count(*) FROM events WHERE {compiled.athena_predicate} GROUP BY {keys}",  # noqa: S608
        read="trino",
    )
    assert compiled.correlation.timespan_seconds == 3600
    assert compiled.correlation.condition_op == "gt"

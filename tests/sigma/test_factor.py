"""Shared field reads (`sigma.factor`): the same truth table, each lowered struct leaf read once per row."""

from __future__ import annotations

import duckdb

from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.factor import PREFIX, shared_reads, with_reads
from tests.sigma.conftest import CORPUS, CorpusResult
from tests.sigma.helpers import load_events


def test_repeated_lowered_leaves_are_named_once() -> None:
    expressions = [
        "COALESCE(lower(event.\"eventName\") = 'a', false)",
        "CASE WHEN NOT COALESCE(lower(event.\"eventName\") = 'b', false) THEN false "
        'ELSE COALESCE(lower(event."userIdentity"."type") = \'root\', false) END',
        'COALESCE(lower(event."userIdentity"."type") = \'iamuser\', false)',
        "COALESCE(lower(event.\"userAgent\") = 'once', false)",  # used once: left alone
    ]
    reads, rewritten = shared_reads(expressions)
    assert reads == [
        ('lower(event."eventName")', f"{PREFIX}0"),
        ('lower(event."userIdentity"."type")', f"{PREFIX}1"),
    ]
    assert rewritten[0] == f"COALESCE({PREFIX}0 = 'a', false)"
    assert rewritten[2] == f"COALESCE({PREFIX}1 = 'iamuser', false)"
    assert rewritten[3] == expressions[3]


def test_string_literals_are_never_rewritten() -> None:
    literal = "'it''s lower(event.\"eventName\") here'"
    expressions = [
        f'COALESCE(contains(lower(event."eventName"), {literal}), false)',
        "COALESCE(lower(event.\"eventName\") = 'x', false)",
    ]
    reads, rewritten = shared_reads(expressions)
    assert [name for _, name in reads] == [f"{PREFIX}0"]
    assert rewritten[0] == f"COALESCE(contains({PREFIX}0, {literal}), false)"


def test_nothing_shared_leaves_the_relation_alone() -> None:
    reads, rewritten = shared_reads(["COALESCE(lower(event.\"a\") = 'x', false)"])
    assert reads == []
    assert with_reads("(SELECT 1)", reads) == "(SELECT 1)"
    assert rewritten == ["COALESCE(lower(event.\"a\") = 'x', false)"]


def test_corpus_rules_give_the_same_flags_with_shared_reads(corpus: CorpusResult) -> None:
    """Every compiled CloudTrail rule, over every corpus event: identical flags either way."""
    rules = [rule for rules in corpus.compiled.values() for rule in rules if rule.source == "cloudtrail"]
    assert len(rules) > 50
    lines = [
        line
        for path in sorted((CORPUS / "events").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    con = duckdb.connect()
    load_events(con, "t", "cloudtrail", lines)
    flags = [rule.flag_expression for rule in rules]
    reads, rewritten = shared_reads(flags)
    assert len(reads) >= 5
    plain = ", ".join(f"({flag}) AS f{i}" for i, flag in enumerate(flags))
    shared = ", ".join(f"({flag}) AS f{i}" for i, flag in enumerate(rewritten))
    before = con.execute(f"SELECT n, {plain} FROM t ORDER BY n").fetchall()  # noqa: S608
    after = con.execute(f"SELECT n, {shared} FROM {with_reads('t', reads)} AS ev ORDER BY n").fetchall()  # noqa: S608
    assert after == before
    assert any(any(row[1:]) for row in before)  # some rule matches something


def test_a_rule_whose_value_spells_a_read() -> None:
    text = """
title: Spelling
logsource: {product: aws, service: cloudtrail}
detection:
    a: {eventName: 'lower(event."eventName")'}
    b: {eventName|contains: 'x'}
    condition: a or b
"""
    [rule] = compile_sigma(text, source="cloudtrail")
    reads, [rewritten] = shared_reads([rule.flag_expression])
    con = duckdb.connect()
    events = ['{"eventName": "lower(event.\\"eventName\\")"}', '{"eventName": "axe"}', '{"eventName": "b"}']
    load_events(con, "t", "cloudtrail", events)
    plain = con.execute(f"SELECT ({rule.flag_expression}) FROM t ORDER BY n").fetchall()  # noqa: S608
    shared = con.execute(f"SELECT ({rewritten}) FROM {with_reads('t', reads)} AS ev ORDER BY n").fetchall()  # noqa: S608
    assert plain == shared == [(True,), (True,), (False,)]

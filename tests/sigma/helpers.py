"""Run compiled rules in DuckDB over events stored the way the lake stores them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.sigma import CompiledRule, compile_sigma


def load_events(con: duckdb.DuckDBPyConnection, table: str, source: str, raws: Sequence[str]) -> None:
    """`table(raw, event)` with event = json_transform(raw, structure), as the lake builds it."""
    structure = SOURCES[source].structure_json() if SOURCES[source].structure else '{"_": "VARCHAR"}'
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_raw (n INTEGER, raw VARCHAR)")
    if raws:
        rows = [[i, raw] for i, raw in enumerate(raws)]
        con.executemany(f"INSERT INTO {table}_raw VALUES (?, ?)", rows)  # noqa: S608 - our own table name
    select = f"SELECT n, raw, json_transform(raw::JSON, ?) AS event FROM {table}_raw"  # noqa: S608
    build = f"CREATE OR REPLACE TEMP TABLE {table} AS {select}"
    con.execute(build, [structure])


def matching(con: duckdb.DuckDBPyConnection, table: str, rule: CompiledRule) -> list[int]:
    """Row numbers the rule matches; the WHERE form and the CASE-chained flag must agree."""
    # Running the compiled SQL is the point of these tests.
    where_sql = f"SELECT n FROM {table} WHERE {rule.predicate} ORDER BY n"  # noqa: S608
    flag_sql = f"SELECT n, {rule.flag_expression} FROM {table} ORDER BY n"  # noqa: S608
    where = [n for (n,) in con.execute(where_sql).fetchall()]
    flags = con.execute(flag_sql).fetchall()
    assert all(flag is not None for _, flag in flags), "flag_expression must never be NULL"
    assert [n for n, flag in flags if flag] == where, "predicate and flag_expression disagree"
    return where


def run(rule_yaml: str, events: Sequence[Any], source: str = "cloudtrail") -> list[int]:
    """Indexes of `events` (dicts, or raw JSON strings) the (single) rule matches."""
    [rule] = compile_sigma(rule_yaml, source=source)
    con = duckdb.connect()
    load_events(con, "t", source, [e if isinstance(e, str) else json.dumps(e) for e in events])
    return matching(con, "t", rule)


def rule(detection: str, *, logsource: str = "product: aws\n    service: cloudtrail", title: str = "Test") -> str:
    """A minimal Sigma rule around an indented `detection:` body."""
    return f"""
title: {title}
id: 0b5e1b4a-1111-4222-8333-444455556666
status: test
logsource:
    {logsource}
detection:
{detection}
level: low
"""

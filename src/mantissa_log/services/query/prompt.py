"""The prompt for questions: the lake's real schema, the dialect, the time, the user's default range.

Asked for: one fenced ```sql block and a short explanation, so any chat model can follow it (small
local ones included); the SQL is read from that block (`services.llm.fenced`). The dialect is the
engine's: DuckDB over the local lake, or Athena (Trino) over the S3 lake, whose prompt names the
Glue tables' fields in full (`event.eventName`) and asks for the `date` partition to be bounded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mantissa_log.clock import iso
from mantissa_log.lake.query_schema import ATHENA_COLUMNS, BASE_COLUMNS, TableSchema, query_path

PROMPT_VERSION = "2"  # part of the cache key: a new prompt never reuses answers to the old one
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RANGE_WORDS = {"24h": "the last 24 hours", "7d": "the last 7 days", "30d": "the last 30 days"}


def _literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S')}'"


def _range(low: datetime | None, high: datetime | None) -> str:
    return f"{iso(low)} to {iso(high)}" if low and high else "unknown"


def _table(schema: TableSchema, athena: bool) -> str:
    if schema.rows is None:  # Athena: counting would be a billed query
        lines = [f"TABLE {schema.name}: holds events"]
    else:
        lines = [
            f"TABLE {schema.name}: {schema.rows} events; event_time {_range(*schema.event_time)}; "
            f"ingest_time {_range(*schema.ingest_time)}"
        ]
    described = {name: note for name, _, note in (ATHENA_COLUMNS if athena else BASE_COLUMNS)}
    for field in schema.fields:
        note = described.get(field.path, "")
        examples = schema.examples.get(field.path)
        if examples:
            note = "e.g. " + ", ".join("'" + value.replace("'", "''") + "'" for value in examples)
        path = field.path if athena else query_path(schema.name, field.path)
        lines.append(f"  {path} {field.type}" + (f"  -- {note}" if note else ""))
    if schema.raw_keys:
        lines.append("  keys seen in raw: " + ", ".join(schema.raw_keys))
    return "\n".join(lines)


def _duckdb_rules(now: datetime, start: datetime, default_range: str, max_rows: int) -> str:
    return (
        "SQL RULES:\n"
        "- Dialect: DuckDB. One read-only SELECT (WITH ... SELECT is fine). Only the tables below: no table "
        "functions (read_parquet, read_csv, glob, range, unnest in FROM, ...), no files, no settings, no PRAGMA, "
        "ATTACH, COPY, SET, INSTALL, LOAD or CALL. Anything else is refused.\n"
        "- The event's fields are listed as columns and dotted paths into them (eventName, "
        "userIdentity.userName): its top-level keys are columns of the table; the whole parsed event is "
        "also the STRUCT column `event` (event.eventName). Fields are VARCHAR: compare with text ('true', "
        "'403'), cast for arithmetic.\n"
        "- Fields typed JSON, and anything not listed: json_extract_string(<column>, '$.path.to.key'), e.g. "
        "json_extract_string(raw, '$.requestParameters.bucketName').\n"
        "- Time: event_time is when it happened, ingest_time when it was stored; both TIMESTAMP in UTC. "
        f"The current time is {now.strftime('%Y-%m-%d %H:%M:%S')} UTC: write times as TIMESTAMP literals, "
        "never now() or current_timestamp.\n"
        "- Unless the question names a period, look at the analyst's default time range, "
        f"{RANGE_WORDS.get(default_range, default_range)}: "
        f"event_time >= {_literal(start)}. If none of a table's events fall in that range (see its event_time "
        "below), do not limit the time, and say so in the explanation.\n"
        f"- At most {max_rows} rows are shown: prefer counts and GROUP BY, and ORDER BY ... LIMIT for lists."
    )


def _athena_rules(now: datetime, start: datetime, default_range: str, max_rows: int) -> str:
    return (
        "SQL RULES:\n"
        "- Dialect: Amazon Athena (Trino SQL). One read-only SELECT (WITH ... SELECT is fine). Only the tables "
        "below, unqualified: no other schemas or catalogs, no table functions (TABLE(...), UNNEST in FROM), no "
        "UNLOAD, CREATE, INSERT, EXPLAIN, SHOW, DESCRIBE, PREPARE or EXECUTE. Anything else is refused.\n"
        "- The parsed event is the ROW column `event`: write its fields as the full dotted paths listed "
        "(event.eventName, event.userIdentity.userName). Fields are varchar: compare with text ('true', "
        "'403'), CAST for arithmetic. String literals in single quotes, identifiers in double quotes.\n"
        "- Fields typed varchar (JSON), and anything not listed: json_extract_scalar(<column>, '$.path.to.key'), "
        "e.g. json_extract_scalar(raw, '$.requestParameters.bucketName').\n"
        "- Useful functions: count_if, approx_distinct, regexp_like, lower, date_trunc('hour', t), "
        "date_diff('second', a, b), max_by, array_agg, element_at, cardinality, any_match.\n"
        "- Time: event_time is when it happened, ingest_time when it was stored; both timestamp in UTC. "
        f"The current time is {now.strftime('%Y-%m-%d %H:%M:%S')} UTC: write times as TIMESTAMP literals, "
        "never now() or current_timestamp.\n"
        '- Athena bills the bytes a query scans: ALWAYS bound the partition column "date" (the UTC day of '
        "ingest_time, text 'YYYY-MM-DD') as well as the time itself; events are stored on or after the day "
        'they happened, so "date" >= the first day asked about.\n'
        "- Unless the question names a period, look at the analyst's default time range, "
        f"{RANGE_WORDS.get(default_range, default_range)}: "
        f"event_time >= {_literal(start)} AND \"date\" >= '{start:%Y-%m-%d}'.\n"
        f"- At most {max_rows} rows are shown: prefer counts and GROUP BY, and ORDER BY ... LIMIT for lists."
    )


def system_prompt(
    tables: list[TableSchema], now: datetime, default_range: str, max_rows: int, dialect: str = "duckdb"
) -> str:
    """The system prompt for one question (the conversation so far goes in the messages)."""
    start = now - RANGES.get(default_range, RANGES["24h"])
    athena = dialect == "athena"
    with_data = [t for t in tables if t.rows is None or t.rows > 0]
    empty = [t.name for t in tables if t.rows == 0]
    rules = _athena_rules if athena else _duckdb_rules
    parts = [
        "You answer an analyst's questions about their security logs by writing one SQL query over the tables "
        "below. The query is run for them and they see its rows.",
        "ANSWER FORMAT: exactly one fenced code block tagged sql holding one SELECT statement, then one or two "
        "sentences saying what the query returns. No other code blocks, no comments inside the SQL.",
        rules(now, start, default_range, max_rows),
        "TABLES (columns, types" + ("" if athena else ", example values") + "):",
        *[_table(t, athena) for t in with_data],
    ]
    if not with_data:
        parts.append("(no table holds any events yet)")
    if empty:
        parts.append("Tables that exist but hold no events: " + ", ".join(empty) + ".")
    return "\n\n".join(parts)


def retry_message(reason: str) -> str:
    return (
        f"That query could not be used: {reason}. Answer again with one corrected ```sql block (one read-only "
        "SELECT over the tables listed) and a short explanation."
    )

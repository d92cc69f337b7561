"""SQL text for the lake: literals, the struct type of a source, relations over Parquet files.

Everything interpolated here is ours (source names from SOURCES, paths we listed, timestamps we
format), and literals are still quoted properly; no user value reaches these strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mantissa_log.domain.log_sources import LogSource

# Columns of every stored event (the `event` struct only when the source has a structure).
BASE_COLUMNS = ("ingest_time", "event_time", "event_id", "raw")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# A read of the event struct in our SQL, `event."a"."b"`: each name quoted as `quote_ident` quotes it.
_STRUCT_READ = re.compile(r'\bevent((?:\."(?:[^"]|"")+")+)')
_QUOTED_NAME = re.compile(r'"((?:[^"]|"")+)"')


def _names(quoted: str) -> tuple[str, ...]:
    return tuple(name.replace('""', '"') for name in _QUOTED_NAME.findall(quoted))


def struct_reads(expression: str) -> list[tuple[str, ...]]:
    """The key path of every struct read (`event."a"."b"`) in an SQL expression."""
    return [_names(found.group(1)) for found in _STRUCT_READ.finditer(expression)]


def needed_structure(structure: dict[str, Any], expressions: Sequence[str]) -> dict[str, Any]:
    """The part of a source's structure these SQL expressions read (`event."a"."b"`): the rest is never
    built. Building the event struct is most of a scan's cost; a hunt's rules read a few dozen fields.
    """
    paths = {path for expression in expressions for path in struct_reads(expression)}
    return _pruned(structure, paths)


def _pruned(node: dict[str, Any], paths: set[tuple[str, ...]]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, child in node.items():
        below = {path[1:] for path in paths if path and path[0] == key}
        if not below:
            continue
        if () in below or not isinstance(child, dict):
            kept[key] = child  # the whole value is read (or it is a leaf)
        else:
            kept[key] = _pruned(child, below)
    return kept


def struct_read(read: str) -> tuple[str, ...] | None:
    """The key path when `read` is exactly one struct read, else None."""
    found = _STRUCT_READ.fullmatch(read)
    return None if found is None else _names(found.group(1))


def naive_utc(moment: datetime) -> datetime:
    """UTC wall time without tzinfo, as DuckDB's TIMESTAMP holds it (naive input means UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def timestamp_literal(moment: datetime) -> str:
    return f"TIMESTAMP '{naive_utc(moment).isoformat(sep=' ', timespec='microseconds')}'"


def duckdb_type(node: Any) -> str:
    """The DuckDB type `json_transform` produces for a structure node."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return duckdb_type(node[0]) + "[]"
    fields = ", ".join(f"{quote_ident(key)} {duckdb_type(value)}" for key, value in node.items())
    return f"STRUCT({fields})"


def has_event(source: LogSource) -> bool:
    # DuckDB has no empty STRUCT, and for `json` every field is read from `raw` anyway.
    return bool(source.structure)


def columns(source: LogSource) -> tuple[str, ...]:
    return (*BASE_COLUMNS, "event") if has_event(source) else BASE_COLUMNS


def _projection(source: LogSource, *, empty: bool) -> str:
    parts = [
        "NULL::TIMESTAMP AS ingest_time, NULL::TIMESTAMP AS event_time, NULL::VARCHAR AS event_id, NULL::VARCHAR AS raw"
        if empty
        else ", ".join(BASE_COLUMNS)
    ]
    if has_event(source):
        # The cast pins the struct to today's structure: files written before a field was added
        # read it as NULL instead of failing the query that mentions it.
        parts.append(f"CAST({'NULL' if empty else 'event'} AS {duckdb_type(source.structure)}) AS event")
    return ", ".join(parts)


def relation(
    source: LogSource, files: Sequence[Path], since: datetime | None = None, until: datetime | None = None
) -> str:
    """A SELECT over `files` with the contract's columns, limited to `since < ingest_time <= until`.

    `union_by_name` lets files written under different structures be read together; with it,
    DuckDB reads every listed file's footer before any hive filter, which is why the caller prunes
    partitions itself and passes only the window's files.
    """
    if not files:
        return f"SELECT {_projection(source, empty=True)} WHERE false"
    paths = ", ".join(quote_literal(str(path)) for path in files)
    conditions = []
    if since is not None:
        conditions.append(f"ingest_time > {timestamp_literal(since)}")
    if until is not None:
        conditions.append(f"ingest_time <= {timestamp_literal(until)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    reader = (
        f"read_parquet([{paths}], hive_partitioning = true, "
        "hive_types = {'date': DATE, 'hour': INTEGER}, union_by_name = true)"
    )
    return f"SELECT {_projection(source, empty=False)} FROM {reader}{where}"  # noqa: S608


def top_level_fields(source: LogSource) -> list[str]:
    """The event's top-level keys that can also be columns: not a base column, not `event`, not a key
    that differs from an earlier one only by case (DuckDB column names ignore case)."""
    taken = {name.lower() for name in (*BASE_COLUMNS, "event")}
    fields = []
    for key in source.structure:
        if key.lower() not in taken:
            taken.add(key.lower())
            fields.append(key)
    return fields


def with_top_level_fields(source: LogSource, relation_text: str) -> str:
    """`relation_text` with the event's top-level keys as columns too (`eventName` = `event.eventName`)."""
    fields = "".join(f", event.{quote_ident(key)} AS {quote_ident(key)}" for key in top_level_fields(source))
    return f"SELECT *{fields} FROM ({relation_text})" if fields else relation_text  # noqa: S608


def copy_batch(source: LogSource, table: str, ingest_time: datetime, target: Path) -> str:
    """COPY a loaded batch (`raw`, `t` in epoch µs, `event_id`) to one zstd Parquet file."""
    event = f", json_transform(raw, {quote_literal(source.structure_json())}) AS event" if has_event(source) else ""
    select = (
        f"SELECT {timestamp_literal(ingest_time)} AS ingest_time, make_timestamp(t) AS event_time, "  # noqa: S608
        f"coalesce(event_id, sha256(raw)) AS event_id, raw{event} FROM {quote_ident(table)}"
    )
    return f"COPY ({select}) TO {quote_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)"


# zstd level of the native ingest's files: level 1 writes a 1M-event ingest about 0.5 s faster than
# the default 3, for files about 15 % larger; reading them costs the same.
NATIVE_ZSTD_LEVEL = 1


def copy_rows(
    source: LogSource,
    relation: str,
    ingest_time: datetime,
    target: Path,
    *,
    row_group_rows: int | None = None,
    groups_per_file: int | None = None,
) -> str:
    """COPY rows (`raw`, `t` TIMESTAMP, `event_id`) of `relation` to zstd Parquet, like `copy_batch`.

    With `groups_per_file`, `target` is a directory DuckDB fills with files of that many row groups
    (`data_<i>.parquet`); without, one file.
    """
    event = f", json_transform(raw, {quote_literal(source.structure_json())}) AS event" if has_event(source) else ""
    select = (
        f"SELECT {timestamp_literal(ingest_time)} AS ingest_time, t AS event_time, "  # noqa: S608
        f"coalesce(event_id, sha256(raw)) AS event_id, raw{event} FROM {relation}"
    )
    options = f"FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {NATIVE_ZSTD_LEVEL}"
    if row_group_rows is not None:
        options += f", ROW_GROUP_SIZE {int(row_group_rows)}"
    if groups_per_file is not None:
        options += f", ROW_GROUPS_PER_FILE {int(groups_per_file)}, FILENAME_PATTERN 'data_{{i}}'"
    return f"COPY ({select}) TO {quote_literal(str(target))} ({options})"


def summary(relation_text: str) -> str:
    """Row count and time ranges of a relation."""
    return (
        "SELECT count(*), min(event_time), max(event_time), min(ingest_time), max(ingest_time) "  # noqa: S608
        f"FROM ({relation_text})"
    )

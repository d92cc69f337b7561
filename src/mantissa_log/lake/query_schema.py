"""What the lake holds, described for a model that writes SQL: tables, fields, example values, times.

Columns come from each source's explicit structure (`event` is cast to it, so these are exactly
the fields a query can name), flattened to dotted paths. Example values are read from the most
recently ingested rows; sources without data are listed by name only. `lake_fingerprint` changes
whenever the event files change, so a description (and a cached answer) is reused only while the
data is the same.

With the lake on S3 (Athena) the description is the Glue tables' (`athena_tables`): the same
fields in Trino's types and quoting, the `date`/`hour` partition columns, no counts or examples
(each would be a billed query); which tables hold data is read from the commit manifests.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from mantissa_log.domain.log_sources import SOURCE_NAMES, SOURCES
from mantissa_log.lake.sql import duckdb_type, quote_ident, top_level_fields
from mantissa_log.lake.store import LogLake

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BASE_COLUMNS = (
    ("ingest_time", "TIMESTAMP", "when Mantissa stored the event (UTC)"),
    ("event_time", "TIMESTAMP", "when the event happened, from the source's time field (UTC, may be NULL)"),
    ("event_id", "VARCHAR", "the source's event id, else a hash of the raw event"),
    ("raw", "VARCHAR", "the whole event as JSON text"),
)
# The Glue tables' columns (`lake.glue_tables`): the same, plus the partitions Athena prunes by.
ATHENA_COLUMNS = (
    ("ingest_time", "timestamp", BASE_COLUMNS[0][2]),
    ("event_time", "timestamp", BASE_COLUMNS[1][2]),
    ("event_id", "varchar", BASE_COLUMNS[2][2]),
    ("raw", "varchar", BASE_COLUMNS[3][2]),
    ('"date"', "varchar", "partition: the UTC day of ingest_time, 'YYYY-MM-DD' (bound it: Athena bills bytes scanned)"),
    ('"hour"', "varchar", "partition: the UTC hour of ingest_time, '00' to '23'"),
)
# Trino's reserved words (a key spelled like one is quoted in a path).
_TRINO_WORDS = """alter and as between by case cast constraint create cross cube current_catalog current_date
    current_path
    current_role current_schema current_time current_timestamp current_user deallocate delete describe distinct
    drop else end escape except execute exists extract false for from full function group grouping having in
    inner insert intersect into is join json_array json_exists json_object json_query json_table json_value
    left like listagg localtime localtimestamp natural normalize not null on or order outer prepare recursive
    right rollup select skip table then trim true uescape union unnest using values when where with"""
_TRINO_RESERVED = frozenset(_TRINO_WORDS.split())
_ATHENA_TYPES = {"JSON": "varchar (JSON)"}  # JSON is text in Parquet (lake.glue_tables)
_TYPE_CHARS = 120
_VALUE_CHARS = 60


@dataclass(frozen=True)
class FieldInfo:
    path: str  # as a query writes it: event.userIdentity.userName (odd keys quoted)
    type: str


@dataclass
class TableSchema:
    name: str
    rows: int | None  # None: holds events, not counted (Athena)
    fields: list[FieldInfo]
    event_time: tuple[datetime | None, datetime | None] = (None, None)
    ingest_time: tuple[datetime | None, datetime | None] = (None, None)
    examples: dict[str, list[str]] = field(default_factory=dict)  # field path -> a few values
    raw_keys: list[str] = field(default_factory=list)  # top-level keys seen in `raw` (sources without structure)


@functools.cache
def _reserved() -> frozenset[str]:
    """DuckDB's reserved words: a key spelled like one is quoted (`"order"`)."""
    with duckdb.connect(":memory:") as connection:
        rows = connection.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall()
    return frozenset(str(row[0]).lower() for row in rows)


def _part(key: str, reserved: frozenset[str] | None = None) -> str:
    words = _reserved() if reserved is None else reserved
    return key if _PLAIN.match(key) and key.lower() not in words else quote_ident(key)


def athena_type(node: Any) -> str:
    """The Trino type Athena reads a structure node as (JSON fields are text)."""
    if isinstance(node, str):
        return _ATHENA_TYPES.get(node.upper(), node.lower())
    if isinstance(node, list):
        return f"array({athena_type(node[0])})"
    fields = ", ".join(f"{_part(key, _TRINO_RESERVED)} {athena_type(value)}" for key, value in node.items())
    return f"row({fields})"


def query_path(source: str, path: str) -> str:
    """How a query names a field: `event.userIdentity.userName` as `userIdentity.userName` when the
    top-level key is also a column of the table (`lake.sql.top_level_fields`)."""
    if path.startswith("event."):
        top = path.removeprefix("event.").split(".", 1)[0].strip('"')
        if top in top_level_fields(SOURCES[source]):
            return path.removeprefix("event.")
    return path


def _leaves(node: Any, prefix: str, athena: bool = False) -> list[FieldInfo]:
    if isinstance(node, dict):
        found: list[FieldInfo] = []
        for key, child in node.items():
            found.extend(_leaves(child, f"{prefix}.{_part(key, _TRINO_RESERVED if athena else None)}", athena))
        return found
    text = athena_type(node) if athena else duckdb_type(node)
    return [FieldInfo(prefix, text if len(text) <= _TYPE_CHARS else text[:_TYPE_CHARS] + "…")]


def table_fields(source: str, dialect: str = "duckdb") -> list[FieldInfo]:
    """The columns of a log table, with the `event` struct flattened to its leaves."""
    athena = dialect == "athena"
    base = [FieldInfo(name, kind) for name, kind, _ in (ATHENA_COLUMNS if athena else BASE_COLUMNS)]
    structure = SOURCES[source].structure
    return base + (_leaves(structure, "event", athena) if structure else [])


def athena_tables(with_data: set[str]) -> list[TableSchema]:
    """Every Glue table of the lake; those in `with_data` hold events (not counted: rows None)."""
    return [
        TableSchema(name=name, rows=None if name in with_data else 0, fields=table_fields(name, "athena"))
        for name in SOURCE_NAMES
    ]


def describe_tables(
    lake: LogLake, *, examples: int = 3, sample_rows: int = 500, max_fields: int = 40
) -> list[TableSchema]:
    """Every log table; for those with data, times and up to `examples` values of up to `max_fields` fields."""
    tables = []
    for info in lake.sources():
        schema = TableSchema(
            name=info.name,
            rows=info.rows,
            fields=table_fields(info.name),
            event_time=(info.min_event_time, info.max_event_time),
            ingest_time=(info.min_ingest_time, info.max_ingest_time),
        )
        if info.rows and examples > 0:
            _add_examples(lake, schema, examples, sample_rows, max_fields)
        tables.append(schema)
    return tables


def _add_examples(lake: LogLake, schema: TableSchema, examples: int, sample_rows: int, max_fields: int) -> None:
    relation = lake.relation_sql(schema.name)
    sample = f"(SELECT * FROM ({relation}) ORDER BY ingest_time DESC LIMIT {int(sample_rows)})"  # noqa: S608
    texts = [f for f in schema.fields if f.path.startswith("event.") and f.type == "VARCHAR"]
    with lake.connect() as connection:
        if texts:
            parts = ", ".join(
                f"count({f.path}), list(DISTINCT {f.path}) FILTER (WHERE {f.path} IS NOT NULL)[1:{int(examples)}]"
                for f in texts
            )
            row = connection.execute(f"SELECT {parts} FROM {sample}").fetchone() or ()  # noqa: S608
            ranked = sorted(
                ((int(row[2 * i] or 0), i) for i in range(len(texts))), key=lambda pair: (-pair[0], pair[1])
            )
            for present, i in ranked[:max_fields]:
                values = row[2 * i + 1] or []
                if present and values:
                    schema.examples[texts[i].path] = [_short(v) for v in values]
        if not SOURCES[schema.name].structure:
            keys = connection.execute(
                f"SELECT list(DISTINCT k) FROM (SELECT unnest(json_keys(raw)) AS k FROM {sample})"  # noqa: S608
            ).fetchone()
            schema.raw_keys = sorted(str(k) for k in (keys[0] if keys and keys[0] else []))[:100]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "…"


def lake_fingerprint(lake: LogLake) -> str:
    """Changes whenever any source's event files change (ingest, compaction, quarantine)."""
    digest = hashlib.sha256()
    for name in SOURCE_NAMES:
        for path in lake.files(name):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # retired by compaction while listed: the listing differs anyway
            digest.update(f"{path.relative_to(lake.root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()

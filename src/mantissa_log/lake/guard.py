"""A DuckDB connection for user-supplied SQL (hunts): the lake's views and nothing else.

Measured with DuckDB 2.0: once `enable_external_access` is off, views over `read_parquet` stop
working unless their files are listed in `allowed_paths` (or `allowed_directories`); so views are
created over explicit file lists, those files are allowed, then access is turned off and the
configuration locked. What is allowed can also be WRITTEN (`COPY ... TO '<allowed file>'
(USE_TMP_FILE false)` overwrites a lake file; an allowed directory would accept new files), so
the connection alone is not enough: run user SQL only after `ensure_select`, which accepts
exactly one SELECT statement as parsed by DuckDB itself (COPY, ATTACH, SET, PRAGMA, INSTALL,
CALL, EXPORT are other statement types; `query()` inside a SELECT runs only SELECTs).
Views list the files that exist at connect time: open a new connection to see newer ingests.
Resource limits (`memory_limit_mb`, `threads`) are set before the lock; with no temporary
directory nothing spills to disk, so a query over its memory fails instead of filling the disk.
Questions in plain English add a stricter check before this one (`lake.query_guard`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from mantissa_log.errors import ValidationFailed
from mantissa_log.lake.sql import quote_ident, quote_literal


def guarded_connection(
    views: dict[str, str],
    allowed: list[Path],
    *,
    memory_limit_mb: int | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with `views` (name -> SELECT text) readable, then locked down."""
    connection = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        for name, select in views.items():
            connection.execute(f"CREATE VIEW {quote_ident(name)} AS {select}")
        paths = ", ".join(quote_literal(str(path)) for path in allowed)
        connection.execute(f"SET allowed_paths = [{paths}]")
        if memory_limit_mb is not None:
            connection.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
            connection.execute("SET temp_directory = ''")
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


def ensure_select(connection: duckdb.DuckDBPyConnection, text: str) -> None:
    """Raise ValidationFailed unless `text` is exactly one SELECT statement."""
    try:
        statements = connection.extract_statements(text)
    except duckdb.Error as exc:
        raise ValidationFailed(f"SQL does not parse: {exc}", field="sql") from exc
    if len(statements) != 1:
        raise ValidationFailed(f"expected exactly one SQL statement, got {len(statements)}", field="sql")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise ValidationFailed(f"only SELECT queries are allowed, not {kind.name}", field="sql")

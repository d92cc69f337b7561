"""Where a guarded question runs: DuckDB over the local lake, or Athena over the S3 lake.

The question path (`services.query`) asks a backend for its SQL dialect (the prompt and the
guard speak it), a description of its tables, and to run a query the guard accepted.
"""

from __future__ import annotations

from typing import Protocol

from mantissa_log.lake.query_guard import CheckedQuery
from mantissa_log.lake.query_run import QueryLimits, QueryResult, run_checked
from mantissa_log.lake.query_schema import TableSchema, describe_tables, lake_fingerprint
from mantissa_log.lake.store import LogLake


class QueryBackend(Protocol):
    dialect: str  # "duckdb" or "athena": the guard parses and writes the SQL in it

    def fingerprint(self) -> str:
        """Changes whenever the description (`describe`) would."""
        ...

    def describe(self, examples: int) -> list[TableSchema]:
        """Every log table: its fields and, where cheap, counts, times and example values."""
        ...

    def run(self, checked: CheckedQuery, limits: QueryLimits) -> QueryResult:
        """Run a query `check_query` accepted in this dialect; raise QueryFailed when it fails."""
        ...


class LocalQueries:
    """DuckDB over the lake in the data home (`lake.query_run`)."""

    dialect = "duckdb"

    def __init__(self, lake: LogLake) -> None:
        self.lake = lake

    def fingerprint(self) -> str:
        return lake_fingerprint(self.lake)

    def describe(self, examples: int) -> list[TableSchema]:
        return describe_tables(self.lake, examples=examples)

    def run(self, checked: CheckedQuery, limits: QueryLimits) -> QueryResult:
        return run_checked(self.lake, checked, limits)

"""One Athena query: StartQueryExecution in a workgroup, polled with backoff, results read page by page.

Shared by detection (`lake.detect.athena_engine`) and the question path (`lake.query_athena`).
What a query cost is Athena's own statistics (`DataScannedInBytes`, `EngineExecutionTimeInMillis`),
returned with the rows. A query that does not succeed raises `AthenaQueryFailed` with Athena's
reason (never the SQL); one that outlives its time limit is stopped and raises `AthenaQueryTimedOut`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.errors import StoreError

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaQueryFailed(StoreError):
    """A query Athena did not complete; the message is Athena's reason (no SQL)."""


class AthenaQueryTimedOut(AthenaQueryFailed):
    """A query still running at its time limit (it was stopped)."""


@dataclass
class AthenaResult:
    columns: list[tuple[str, str]]  # (name, Athena type: varchar, bigint, timestamp, ...)
    rows: list[list[str | None]]  # every value as Athena returns it: text, or None for NULL
    statistics: dict[str, Any] = field(default_factory=dict)


class AthenaRunner:
    def __init__(
        self,
        athena: Any,
        database: str,
        workgroup: str,
        *,
        poll_first_seconds: float = 0.1,
        poll_max_seconds: float = 5.0,
        timeout_seconds: float = 900.0,
        page_rows: int = 1000,  # GetQueryResults' largest page
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.athena = athena
        self.database = database
        self.workgroup = workgroup
        self.poll_first = poll_first_seconds
        self.poll_max = poll_max_seconds
        self.timeout = timeout_seconds
        self.page_rows = page_rows
        self.sleep = sleep

    def run(self, sql: str, *, max_rows: int | None = None, timeout_seconds: float | None = None) -> AthenaResult:
        """Run `sql`; read at most `max_rows` rows (all when None). Raises StoreError subclasses only."""
        try:
            started = self.athena.start_query_execution(
                QueryString=sql, QueryExecutionContext={"Database": self.database}, WorkGroup=self.workgroup
            )
            execution_id = started["QueryExecutionId"]
            execution = self._wait(execution_id, self.timeout if timeout_seconds is None else timeout_seconds)
            columns, rows = self._rows(execution_id, max_rows)
            return AthenaResult(columns, rows, execution.get("Statistics", {}))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"athena: {exc}") from None

    def _wait(self, execution_id: str, timeout: float) -> dict[str, Any]:
        delay, deadline = self.poll_first, time.monotonic() + timeout
        while True:
            execution: dict[str, Any] = self.athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in _DONE:
                reason = str(status.get("StateChangeReason") or state)[:300]
                raise AthenaQueryFailed(f"athena query {state.lower()}: {reason}")
            if time.monotonic() > deadline:
                self.athena.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryTimedOut(f"athena query timed out after {timeout:g} s (stopped)")
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _rows(self, execution_id: str, max_rows: int | None) -> tuple[list[tuple[str, str]], list[list[str | None]]]:
        columns: list[tuple[str, str]] = []
        rows: list[list[str | None]] = []
        token: str | None = None
        header = True
        while True:  # at least one page: the column names come with it
            wanted = self.page_rows
            if max_rows is not None:  # no more than the rows still wanted (and the header row)
                wanted = min(wanted, max_rows - len(rows) + (1 if header else 0))
            request: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": max(wanted, 1)}
            if token:
                request["NextToken"] = token
            page = self.athena.get_query_results(**request)
            result_set = page.get("ResultSet", {})
            if not columns:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [(str(c.get("Name") or c.get("Label") or ""), str(c.get("Type") or "varchar")) for c in info]
            for row in result_set.get("Rows", []):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if header:  # a SELECT's first row holds the column names
                    header = False
                    columns = columns or [(str(v or ""), "varchar") for v in values]
                    continue
                rows.append(values)
            token = page.get("NextToken")
            if not token or (max_rows is not None and len(rows) >= max_rows):
                break
        return columns, rows if max_rows is None else rows[:max_rows]

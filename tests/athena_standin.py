"""An Athena endpoint on loopback that really runs the queries (moto's Athena only returns queued results).

It speaks Athena's JSON protocol for StartQueryExecution, GetQueryExecution (QUEUED, then RUNNING,
then the outcome: polling is exercised), GetQueryResults (a header row, then pages of MaxResults
rows with NextToken; the columns' Athena types in ResultSetMetadata) and StopQueryExecution;
every other operation (workgroups, ...) is relayed to moto_server. A query runs as Athena would
run it over the lake: its tables (unqualified ones in the query's database) are resolved in
moto's Glue catalog, their Parquet objects are read from moto's S3 (timestamps truncated to
milliseconds, as Athena reads Parquet), the SQL is transpiled to DuckDB (tests/athena_sql.py) and
`DataScannedInBytes` is the size of the objects read.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import duckdb
import httpx
import sqlglot
from sqlglot import exp

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import sql
from tests.athena_sql import athena_to_duckdb

# DuckDB's result types as Athena names them (anything else is read as text).
_ATHENA_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double", "BOOLEAN": "boolean"}
_ATHENA_TYPES |= {"TIMESTAMP": "timestamp", "VARCHAR": "varchar", "DATE": "date", "HUGEINT": "bigint"}


class AthenaStandIn:
    def __init__(self, moto_endpoint: str) -> None:
        self.moto = moto_endpoint
        self.glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
        self.s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
        self.executions: dict[str, dict[str, Any]] = {}
        self.queries: list[str] = []
        self.pages: list[int] = []  # MaxResults of every GetQueryResults, in order
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    # -- the operations
    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        execution_id = str(uuid.uuid4())
        database = body.get("QueryExecutionContext", {}).get("Database", "default")
        with self.lock:
            self.queries.append(body["QueryString"])
            self.executions[execution_id] = {"sql": body["QueryString"], "db": database, "polls": 0}
        return {"QueryExecutionId": execution_id}

    def status(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self.executions[body["QueryExecutionId"]]
        execution["polls"] += 1
        state = {1: "QUEUED", 2: "RUNNING"}.get(execution["polls"])
        if state is None and "state" not in execution:
            self._execute(execution)
        state = state or execution["state"]
        status: dict[str, Any] = {"State": state}
        if state == "FAILED":
            status["StateChangeReason"] = execution["reason"]
        statistics = {
            "DataScannedInBytes": execution.get("scanned", 0),
            "EngineExecutionTimeInMillis": execution.get("ms", 0),
        }
        execution_id = body["QueryExecutionId"]
        return {"QueryExecution": {"QueryExecutionId": execution_id, "Status": status, "Statistics": statistics}}

    def results(self, body: dict[str, Any]) -> dict[str, Any]:
        execution = self.executions[body["QueryExecutionId"]]
        rows = [execution["columns"], *execution["rows"]]
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or 1000)
        self.pages.append(size)
        page = rows[start : start + size]
        info = [
            {"Name": n, "Label": n, "Type": t} for n, t in zip(execution["columns"], execution["types"], strict=True)
        ]
        answer: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [self._cell(v) for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": info},
            }
        }
        if start + size < len(rows):
            answer["NextToken"] = str(start + size)
        return answer

    @staticmethod
    def _cell(value: Any) -> dict[str, str]:
        """As Athena writes a value: booleans lower case, timestamps with milliseconds."""
        if value is None:
            return {}
        if isinstance(value, bool):
            return {"VarCharValue": str(value).lower()}
        if isinstance(value, datetime):
            return {"VarCharValue": value.isoformat(sep=" ", timespec="milliseconds")}
        return {"VarCharValue": str(value)}

    def _execute(self, execution: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            tree = sqlglot.parse_one(execution["sql"], read="athena")
            with tempfile.TemporaryDirectory() as scratch, duckdb.connect(":memory:") as con:
                scanned = 0
                ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
                tables = {(t.db or execution["db"], t.name) for t in tree.find_all(exp.Table) if t.name not in ctes}
                for table in tables:
                    scanned += self._load(con, table[0], table[1], Path(scratch))
                if tables:  # unqualified names resolve in the query's database
                    con.execute(f"SET search_path = '{execution['db']}'")
                cursor = con.execute(athena_to_duckdb(execution["sql"]))
                execution["columns"] = [d[0] for d in cursor.description or []]
                execution["types"] = [_ATHENA_TYPES.get(str(d[1]), "varchar") for d in cursor.description or []]
                execution["rows"] = cursor.fetchall()
            execution.update(state="SUCCEEDED", scanned=scanned)
        except Exception as exc:
            execution.update(state="FAILED", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        execution["ms"] = int((time.perf_counter() - started) * 1000)

    def _load(self, con: duckdb.DuckDBPyConnection, database: str, name: str, scratch: Path) -> int:
        """The Glue table as a DuckDB view `database.name` over its S3 objects; returns bytes read."""
        location = self.glue.get_table(DatabaseName=database, Name=name)["Table"]["StorageDescriptor"]["Location"]
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        files, size = [], 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                if not entry["Key"].endswith(".parquet"):
                    continue
                local = scratch / database / name / entry["Key"]
                local.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, entry["Key"], str(local))
                files.append(local)
                size += int(entry["Size"])
        relation = sql.relation(SOURCES[name], files, None, None)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        con.execute(
            f'CREATE VIEW "{database}"."{name}" AS SELECT * REPLACE ('  # noqa: S608 - test harness, our names
            "date_trunc('millisecond', ingest_time) AS ingest_time, "
            "date_trunc('millisecond', event_time) AS event_time),"
            " strftime(ingest_time, '%Y-%m-%d') AS \"date\", strftime(ingest_time, '%H') AS \"hour\" "
            f"FROM ({relation})"
        )
        return size

    # -- HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self
        operations = {
            "AmazonAthena.StartQueryExecution": standin.start,
            "AmazonAthena.GetQueryExecution": standin.status,
            "AmazonAthena.GetQueryResults": standin.results,
            "AmazonAthena.StopQueryExecution": lambda body: {},
        }

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                if target in operations:
                    payload = json.dumps(operations[target](json.loads(raw or b"{}"))).encode()
                    status, content_type = 200, "application/x-amz-json-1.1"
                else:  # everything else is moto's business
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    relayed = httpx.post(standin.moto + self.path, content=raw, headers=headers, timeout=30)
                    payload, status = relayed.content, relayed.status_code
                    content_type = relayed.headers.get("content-type", "application/x-amz-json-1.1")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

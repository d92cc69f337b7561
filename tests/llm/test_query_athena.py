"""Questions with the lake on S3 (`MANTISSA_LAKE=s3`): the guarded SQL runs on Athena, in its dialect.

Two Athenas: moto's own (it runs nothing and answers queued results: the protocol side, what is
sent where) and the loopback stand-in of tests/athena_standin.py (it runs the query over the
Parquet objects in moto's S3 and reports the bytes it read as DataScannedInBytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.errors import QueryRefused
from mantissa_log.lake.athena_run import AthenaRunner
from mantissa_log.lake.query_guard import check_query
from mantissa_log.services.container import Services
from tests.athena_standin import AthenaStandIn
from tests.llm.conftest import ALICE, MakeServices, configure, ingest_corpus, token_headers
from tests.llm.fakes import FakeLlm

QUESTION = {"question": "Who stopped or deleted CloudTrail logging?"}
WHO_STOPPED = (
    "SELECT event.userIdentity.userName AS user_name, event.eventName AS action, count(*) AS events "
    "FROM cloudtrail WHERE \"date\" >= '2026-11-26' AND event.eventName IN ('DeleteTrail', 'StopLogging') "
    "GROUP BY 1, 2 ORDER BY 1, 2"
)


def fenced(sql: str) -> str:
    return f"```sql\n{sql}\n```\nWhat it returns."


def s3_lake(moto: str, athena_url: str, environment: str) -> dict[str, Any]:
    return {
        "lake": "s3",
        "lake_bucket": f"lake-{environment}",
        "s3_endpoint_url": moto,
        "glue_endpoint_url": moto,
        "athena_endpoint_url": athena_url,
        "aws_region": "us-east-1",
    }


@pytest.fixture
def openai_fake() -> Iterator[FakeLlm]:
    with FakeLlm("openai").running() as server:
        yield server


@pytest.fixture
def athena(moto_endpoint: str) -> Iterator[AthenaStandIn]:
    standin = AthenaStandIn(moto_endpoint)
    yield standin
    standin.stop()


@pytest.fixture
def on_standin(
    make_services: MakeServices, moto_endpoint: str, athena: AthenaStandIn, environment_name: str, openai_fake: FakeLlm
) -> Services:
    """Services on DynamoDB with the lake in moto's S3 and queries on the stand-in; the corpus ingested."""
    services = make_services("dynamodb", **s3_lake(moto_endpoint, athena.url, environment_name))
    ingest_corpus(services)
    configure(services, ALICE, openai_fake)
    return services


def parquet_bytes(moto: str, bucket: str) -> int:
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="lake/source=cloudtrail/").get("Contents", [])
    return sum(int(o["Size"]) for o in listed if o["Key"].endswith(".parquet"))


def test_a_question_is_answered_on_athena_with_its_statistics(
    on_standin: Services, athena: AthenaStandIn, openai_fake: FakeLlm, moto_endpoint: str
) -> None:
    openai_fake.answer(fenced(WHO_STOPPED))
    with TestClient(create_app(on_standin.config, on_standin)) as client:
        asked = client.post("/api/v1/query", json=QUESTION, headers=token_headers(on_standin, "alice"))
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert ["christophe", "DeleteTrail", 1] in body["rows"]  # bigint read back as a number
    assert [c["type"] for c in body["columns"]] == ["VARCHAR", "VARCHAR", "BIGINT"]
    # Athena received exactly the guarded text: parsed and written in its dialect, the row limit added.
    guarded = check_query(WHO_STOPPED, on_standin.config.query_max_rows, "athena")
    assert athena.queries == [guarded.executed]
    assert guarded.executed.endswith(f"LIMIT {on_standin.config.query_max_rows + 1}")
    assert body["sql"] == guarded.sql
    # What it cost is Athena's DataScannedInBytes (the stand-in reports the objects it read).
    [execution] = athena.executions.values()
    assert (
        body["data_scanned_bytes"]
        == execution["scanned"]
        == parquet_bytes(moto_endpoint, on_standin.config.lake_bucket_name or "")
    )
    assert body["data_scanned_bytes"] > 0
    # The model was told the Athena dialect and the Glue tables' fields, in full paths.
    system = openai_fake.requests[0].body["messages"][0]["content"]
    assert "Dialect: Amazon Athena (Trino SQL)" in system
    assert "event.userIdentity.userName varchar" in system
    assert '"date" varchar' in system
    assert "json_extract_string" not in system
    assert "TABLE cloudtrail: holds events" in system
    assert "TABLE okta" not in system  # no ingest committed for it: listed as empty


def test_refused_sql_never_reaches_athena(on_standin: Services, athena: AthenaStandIn, openai_fake: FakeLlm) -> None:
    unload = "UNLOAD (SELECT raw FROM cloudtrail) TO 's3://elsewhere/' WITH (format = 'JSON')"
    openai_fake.answer(fenced(unload)).answer(fenced("SELECT * FROM information_schema.tables"))
    alice = token_headers(on_standin, "alice")
    with TestClient(create_app(on_standin.config, on_standin)) as client:
        refused = client.post("/api/v1/query", json=QUESTION, headers=alice)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "query_refused"
        assert "qualified table names" in refused.json()["error"]["message"]
        retry = openai_fake.requests[1].body["messages"][-1]["content"]
        assert "only SELECT queries are allowed, not UNLOAD" in retry
        for sql in (
            "SELECT * FROM system.runtime.queries",
            "SELECT * FROM TABLE(system.query(query => 'SELECT 1'))",
            "SELECT x FROM cloudtrail CROSS JOIN UNNEST(sequence(1, 1000000000)) AS t(x)",
            "SELECT current_user FROM cloudtrail",
            "SELECT 1; DROP TABLE cloudtrail",
        ):
            edited = client.post("/api/v1/query/sql", json={"sql": sql}, headers=alice)
            assert edited.status_code == 422, (sql, edited.text)
            assert edited.json()["error"]["code"] == "query_refused"
    assert athena.queries == []


def test_a_failing_query_goes_back_once_with_athenas_reason(
    on_standin: Services, athena: AthenaStandIn, openai_fake: FakeLlm
) -> None:
    broken = "SELECT event.noSuchField FROM cloudtrail WHERE \"date\" >= '2026-11-26'"
    openai_fake.answer(fenced(broken)).answer(fenced(WHO_STOPPED))
    answer = on_standin.query.ask(ALICE, QUESTION["question"])
    assert answer.attempts == 2
    assert ["christophe", "DeleteTrail", 1] in answer.rows
    assert len(athena.queries) == 2
    retry = openai_fake.requests[1].body["messages"][-1]["content"]
    assert "athena query failed" in retry
    # Twice failing: a clear 422 naming the failure, never a 500.
    openai_fake.answer(fenced(broken)).answer(fenced(broken))
    with pytest.raises(QueryRefused) as refused:
        on_standin.query.ask(ALICE, "Something else")
    assert refused.value.code == "query_failed"
    assert "athena query failed" in refused.value.message


def test_rows_are_read_page_by_page_up_to_the_row_limit(
    make_services: MakeServices, moto_endpoint: str, athena: AthenaStandIn, environment_name: str
) -> None:
    services = make_services("dynamodb", query_max_rows=5, **s3_lake(moto_endpoint, athena.url, environment_name))
    ingest_corpus(services)
    answer = services.query.run_sql(ALICE, "SELECT event_id FROM cloudtrail ORDER BY event_id")
    assert (answer.row_count, answer.truncated) == (5, True)
    assert athena.pages == [6 + 1]  # the header row, then the guard's fetch (max_rows + 1): one page
    # Through the shared runner with small pages: several pages, never more rows than asked for.
    runner = AthenaRunner(
        boto3.client("athena", endpoint_url=athena.url, region_name="us-east-1"),
        services.config.glue_database_name,
        services.config.athena_workgroup_name,
        page_rows=2,
        sleep=lambda _: None,
    )
    result = runner.run("SELECT event_id FROM cloudtrail ORDER BY event_id", max_rows=5)
    assert [r[0] for r in result.rows] == [r[0] for r in answer.rows]
    assert athena.pages[1:] == [2, 2, 2]  # header + 1, then 2, then 2
    assert len(runner.run("SELECT event_id FROM cloudtrail").rows) > 5  # no limit: every page


def test_on_motos_athena_the_guarded_sql_runs_in_the_workgroup_and_values_are_typed(
    make_services: MakeServices, moto_endpoint: str, environment_name: str
) -> None:
    """moto's Athena runs nothing and answers a queued result: what is sent where, and how it is read."""
    services = make_services("dynamodb", query_max_rows=2, **s3_lake(moto_endpoint, moto_endpoint, environment_name))
    columns = [("who", "varchar"), ("n", "bigint"), ("first", "timestamp"), ("mfa", "boolean"), ("avg", "double")]
    rows = [
        ["alice", "3", "2026-11-27 09:00:01.250", "true", "1.5"],
        ["bob", "1", "2026-11-27 09:30:00.000", "false", None],
        ["carol", "1", "2026-11-27 09:45:00.000", "false", "2.0"],
    ]
    queued = {
        "results": [
            {
                "rows": [
                    {"Data": [{"VarCharValue": v} if v is not None else {} for v in row]}
                    for row in [[c for c, _ in columns], *rows]
                ],
                "column_info": [{"Name": c, "Label": c, "Type": t} for c, t in columns],
            }
        ]
    }
    httpx.post(moto_endpoint + "/moto-api/static/athena/query-results", json=queued).raise_for_status()
    sql = (
        "SELECT event.userIdentity.userName AS who, count(*) AS n, min(event_time) AS first, "
        "bool_or(event.additionalEventData IS NULL) AS mfa, avg(1.0) AS avg FROM cloudtrail "
        "WHERE \"date\" >= '2026-11-26' GROUP BY 1 ORDER BY n DESC"
    )
    answer = services.query.run_sql(ALICE, sql)
    assert answer.rows == [
        ["alice", 3, "2026-11-27T09:00:01.250000Z", True, 1.5],
        ["bob", 1, "2026-11-27T09:30:00Z", False, None],
    ]
    assert answer.truncated
    assert answer.data_scanned_bytes == 0  # moto's statistics say 0, and that is what is reported
    athena_client = boto3.client("athena", endpoint_url=moto_endpoint, region_name="us-east-1")
    [execution_id] = athena_client.list_query_executions(WorkGroup=services.config.athena_workgroup_name)[
        "QueryExecutionIds"
    ]
    execution = athena_client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == check_query(sql, 2, "athena").executed
    assert execution["QueryExecutionContext"]["Database"] == services.config.glue_database_name

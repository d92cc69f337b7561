"""The lake on S3, detection on Athena, two hosts: separate data homes, one DynamoDB and S3 (moto).

Host A ingests, host B detects (separate `mantissa-log` processes); every event alerts exactly once.
Athena is the loopback stand-in of tests/athena_standin.py, which really runs the queries over
the objects in moto's S3 through moto's Glue catalog.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from mantissa_log.config import Settings
from mantissa_log.lake import parse
from mantissa_log.lake.athena_run import AthenaRunner
from mantissa_log.lake.detect import DuckDbEngine
from mantissa_log.lake.detect.athena_engine import AthenaEngine
from mantissa_log.lake.detect.model import GroupResult, RuleFailure, RuleScan, RuleWindow
from mantissa_log.lake.s3lake import S3InFlight, S3LogLake
from mantissa_log.lake.store import LogLake
from mantissa_log.services.container import build_services
from mantissa_log.services.identity import Principal
from mantissa_log.services.provisioning import provision
from mantissa_log.sigma import compile_sigma
from tests.athena_standin import AthenaStandIn
from tests.cli.test_cli import EXE

RULE = """title: Console login seen
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin}
  condition: sel
level: high
"""


def event(name: str = "ConsoleLogin") -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": name,
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
        "sourceIPAddress": "198.51.100.7",
        "eventID": str(uuid.uuid4()),
    }


@pytest.fixture
def athena(moto_endpoint: str) -> Iterator[AthenaStandIn]:
    standin = AthenaStandIn(moto_endpoint)
    yield standin
    standin.stop()


def lake_env(moto: str, athena_url: str, home: Path, environment: str) -> dict[str, str]:
    return {
        "MANTISSA_HOME": str(home),
        "MANTISSA_ENVIRONMENT": environment,
        "MANTISSA_STATE_BACKEND": "dynamodb",
        "MANTISSA_DYNAMODB_ENDPOINT_URL": moto,
        "MANTISSA_SECRETS_ENDPOINT_URL": moto,
        "MANTISSA_MASTER_KEY_SECRET": f"mantissa-log/{environment}/master-keyring",
        "MANTISSA_LAKE": "s3",
        "MANTISSA_LAKE_BUCKET": f"lake-{environment}",
        "MANTISSA_S3_ENDPOINT_URL": moto,
        "MANTISSA_GLUE_ENDPOINT_URL": moto,
        "MANTISSA_ATHENA_ENDPOINT_URL": athena_url,
        "MANTISSA_AWS_REGION": "us-east-1",
    }


def settings(env: dict[str, str]) -> Settings:
    return Settings(**{k.removeprefix("MANTISSA_").lower(): v for k, v in env.items()})  # type: ignore[arg-type]


def provisioned_lake(moto: str, athena_url: str, home: Path, environment: str) -> tuple[S3LogLake, AthenaRunner]:
    """A provisioned S3 lake (bucket, Glue, workgroup) and an Athena runner that never sleeps."""
    config = settings(lake_env(moto, athena_url, home, environment))
    provision(config)
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    lake = S3LogLake(home / "lake", s3, config.lake_bucket_name or "", config.lake_prefix)
    athena = boto3.client("athena", endpoint_url=athena_url, region_name="us-east-1")
    return lake, AthenaRunner(athena, config.glue_database_name, config.athena_workgroup_name, sleep=lambda _: None)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EXE, *args], env=os.environ | env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_ingest_on_one_host_detect_on_another_every_event_alerts_once(
    moto_endpoint: str, athena: AthenaStandIn, tmp_path: Path, environment_name: str
) -> None:
    host_a = lake_env(moto_endpoint, athena.url, tmp_path / "a", environment_name)
    host_b = lake_env(moto_endpoint, athena.url, tmp_path / "b", environment_name)
    init = cli(host_a, "init")
    assert "Glue table mantissa_log_" in init.stdout
    cli(host_b, "users", "create", "alice")
    (tmp_path / "rule.yml").write_text(RULE)
    cli(host_b, "rules", "import", "--user", "alice", str(tmp_path / "rule.yml"))

    events = [event(), event(), event(), event("GetCallerIdentity")]
    logs = tmp_path / "ct.jsonl"
    logs.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    cli(host_a, "ingest", "--source", "cloudtrail", str(logs))
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = host_a["MANTISSA_LAKE_BUCKET"]
    assert [k for k in keys(s3, bucket, "lake/source=cloudtrail/") if k.endswith(".parquet")]
    assert len(keys(s3, bucket, "lake/_manifests/source=cloudtrail/")) == 1  # the ingest committed
    assert keys(s3, bucket, "lake/_inflight/") == []
    assert not list((tmp_path / "a" / "lake").glob("source=*/**/*.parquet"))  # S3 is the lake: no local copy

    time.sleep(2.5)  # past the runner's settle delay
    ran_b = cli(host_b, "worker", "--once")
    assert "alice/rule: success" in ran_b.stdout, ran_b.stdout
    cli(host_a, "worker", "--once")  # the other host: nothing due, nothing new
    cli(host_b, "worker", "--once")

    services = build_services(settings(host_b))
    try:
        alerts = services.alerts.list(Principal("alice"), limit=50).items
        details = [services.alerts.get(Principal("alice"), a.alert_id).alert for a in alerts]
        assert sum(a.match_count for a in details) == 3
        seen = [s["eventID"] for a in details for s in a.samples]
        assert sorted(seen) == sorted(e["eventID"] for e in events[:3])  # each once, the other never
        rule = services.rules.get(Principal("alice"), "rule").rule
        assert rule.executions >= 1  # every run, on whichever host, added nothing twice (above)
        assert rule.data_scanned_mb > 0  # Athena's own DataScannedInBytes
    finally:
        services.close()
    assert any(('"cloudtrail"' in q and "ConsoleLogin" in q.lower()) or "consolelogin" in q for q in athena.queries)


def test_an_ingest_in_flight_on_another_host_holds_every_window_below_it(
    moto_endpoint: str, tmp_path: Path, environment_name: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = "lake-" + environment_name
    s3.create_bucket(Bucket=bucket)
    writer, reader = S3InFlight(s3, bucket, "lake/"), S3InFlight(s3, bucket, "lake/")
    before = datetime.now(UTC)
    with writer.hold(None) as marker:
        held = reader.visible_until()
        assert held < before + timedelta(milliseconds=1)
        assert held.microsecond % 1000 == 0  # whole milliseconds: Athena's precision
        writer.plan(marker, ["lake/source=cloudtrail/date=2026-11-27/hour=10/part-x-0.parquet"], "lake/_manifests/x")
    assert keys(s3, bucket, "lake/_inflight/") == []
    assert reader.visible_until() >= before


def test_a_dead_ingest_is_removed_before_the_window_passes_it(
    moto_endpoint: str, tmp_path: Path, environment_name: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = "lake-" + environment_name
    s3.create_bucket(Bucket=bucket)
    dead = S3InFlight(s3, bucket, "lake/", max_age=timedelta(seconds=0))
    partial = "lake/source=cloudtrail/date=2026-11-27/hour=10/part-dead-0.parquet"
    marker = f"lake/_inflight/{int(time.time() * 1e6) - 10_000_000}-dead"
    s3.put_object(Bucket=bucket, Key=partial, Body=b"half")
    s3.put_object(Bucket=bucket, Key=marker, Body=json.dumps({"keys": [partial], "manifest": "lake/_manifests/dead"}))
    dead.visible_until()
    assert keys(s3, bucket, "lake/") == []  # the partial object went first, then its marker


def test_one_rules_failed_query_is_that_rules_failure_only(
    moto_endpoint: str, athena: AthenaStandIn, tmp_path: Path, environment_name: str
) -> None:
    lake, runner = provisioned_lake(moto_endpoint, athena.url, tmp_path / "h", environment_name)
    stamp = datetime.now(UTC) - timedelta(minutes=1)
    parsed = parse("cloudtrail", "\n".join(json.dumps(e) for e in [event(), event()]).encode())
    lake.ingest("cloudtrail", parsed, ingest_time=stamp)
    engine = AthenaEngine(runner, lake)
    [good] = compile_sigma(RULE)
    broken = good._replace(athena_predicate="no_such_column = 'x'")
    window = RuleWindow(stamp - timedelta(minutes=1), stamp - timedelta(minutes=1), datetime.now(UTC))
    healthy = engine.scan("cloudtrail", [RuleScan(good, window), RuleScan(good, window)])
    assert len(athena.queries) == 1  # the single-scan form: every rule of the source in one query
    assert [r[0].count for r in healthy.results if not isinstance(r, RuleFailure)] == [2, 2]
    outcome = engine.scan("cloudtrail", [RuleScan(good, window), RuleScan(broken, window), RuleScan(good, window)])
    assert len(athena.queries) == 1 + 1 + 3  # the combined query failed: then each rule alone
    first, failed, third = outcome.results
    assert isinstance(failed, RuleFailure)
    assert "failed" in failed.message
    assert not isinstance(first, RuleFailure)
    assert not isinstance(third, RuleFailure)
    assert (first[0].count, first[0].new) == (2, 2)
    assert first == third
    assert len(first[0].samples) == 2
    assert outcome.data_scanned_mb > 0


def test_on_motos_athena_queries_are_polled_with_backoff_and_queued_results_read(
    moto_endpoint: str, tmp_path: Path, environment_name: str, request: pytest.FixtureRequest
) -> None:
    """moto's Athena runs nothing: it answers a queued result. Enough to check the protocol side:
    start in the workgroup, poll QUEUED -> RUNNING -> SUCCEEDED with growing pauses, skip the header."""
    workgroup = "wg-" + environment_name
    athena_client = boto3.client("athena", endpoint_url=moto_endpoint, region_name="us-east-1")
    athena_client.create_work_group(
        Name=workgroup, Configuration={"ResultConfiguration": {"OutputLocation": "s3://x/"}}
    )
    samples = json.dumps([json.dumps(event()), json.dumps(event())])
    queued = {
        "results": [
            {
                "rows": [
                    {"Data": [{"VarCharValue": "_col0"}, {"VarCharValue": "_col1"}, {"VarCharValue": "_col2"}]},
                    {"Data": [{"VarCharValue": "7"}, {"VarCharValue": "2"}, {"VarCharValue": samples}]},
                ]
            }
        ]
    }
    import httpx

    httpx.post(moto_endpoint + "/moto-api/static/athena/query-results", json=queued).raise_for_status()
    # By default moto's executions succeed at once; make each state last two polls, for this test only.
    manual = {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 2}}
    httpx.post(moto_endpoint + "/moto-api/state-manager/set-transition", json=manual).raise_for_status()
    request.addfinalizer(
        lambda: httpx.post(
            moto_endpoint + "/moto-api/state-manager/unset-transition", json={"model_name": "athena::execution"}
        )
    )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    pauses: list[float] = []
    lake = S3LogLake(tmp_path / "lake", s3, "unused", "lake/")
    engine = AthenaEngine(AthenaRunner(athena_client, "db", workgroup, sleep=pauses.append), lake)
    [rule] = compile_sigma(RULE)
    now = datetime.now(UTC)
    outcome = engine.scan("cloudtrail", [RuleScan(rule, RuleWindow(now - timedelta(hours=1), now, now))])
    [[found]] = outcome.results  # type: ignore[misc]
    assert (found.count, found.new, len(found.samples)) == (7, 2, 2)
    assert len(pauses) >= 2  # QUEUED, then RUNNING
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(pauses))
    [execution_id] = athena_client.list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    started = athena_client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert "consolelogin" in started["Query"]


def test_concurrent_ingests_in_one_process_each_commit_under_their_own_marker(
    moto_endpoint: str, tmp_path: Path, environment_name: str
) -> None:
    """The API ingests uploads on several threads: each ingest keeps its own marker and manifest."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = "lake-" + environment_name
    s3.create_bucket(Bucket=bucket)
    lake = S3LogLake(tmp_path / "lake", s3, bucket, "lake/")
    errors: list[BaseException] = []

    def ingest(n: int) -> None:
        try:
            data = "\n".join(json.dumps(event()) for _ in range(50)).encode()
            lake.ingest_bytes("cloudtrail", data, filename=f"upload-{n}.jsonl")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    manifests = keys(s3, bucket, "lake/_manifests/")
    assert len(manifests) == 4
    committed = [k for m in manifests for k in json.loads(s3.get_object(Bucket=bucket, Key=m)["Body"].read())["keys"]]
    assert sorted(committed) == sorted(k for k in keys(s3, bucket, "lake/source=") if k.endswith(".parquet"))
    assert keys(s3, bucket, "lake/_inflight/") == []


def test_correlation_rules_run_on_athena_as_on_duckdb(
    moto_endpoint: str, athena: AthenaStandIn, tmp_path: Path, environment_name: str
) -> None:
    """The brute-force correlation over the same events: Athena's groups are DuckDB's, group by group."""
    from tests.detection.test_correlation import BRUTE_FORCE

    remote, runner = provisioned_lake(moto_endpoint, athena.url, tmp_path / "h", environment_name)
    local = LogLake(tmp_path / "local")
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)

    def failures(user: str, minutes: list[int]) -> list[dict[str, Any]]:
        return [
            event()
            | {
                "userIdentity": {"type": "IAMUser", "userName": user},
                "eventTime": (start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "errorMessage": "Failed authentication",
            }
            for m in minutes
        ]

    events = failures("mallory", [0, 1, 2, 3, 4]) + failures("trudy", [0, 1, 2, 3]) + failures("oscar", [0, 12, 24])
    stamp = start + timedelta(minutes=50)
    for lake in (remote, local):
        lake.ingest(
            "cloudtrail", parse("cloudtrail", "\n".join(json.dumps(e) for e in events).encode()), ingest_time=stamp
        )
    later = failures("trudy", [5]) + failures("oscar", [30, 31, 32])
    for lake in (remote, local):
        lake.ingest(
            "cloudtrail",
            parse("cloudtrail", "\n".join(json.dumps(e) for e in later).encode()),
            ingest_time=stamp + timedelta(minutes=5),
        )
    [correlation] = compile_sigma(BRUTE_FORCE)
    assert correlation.correlation is not None
    window = RuleWindow(start, stamp + timedelta(minutes=1), stamp + timedelta(minutes=10))  # the second ingest is new
    athena_engine = AthenaEngine(runner, remote)
    on_athena = athena_engine.scan("cloudtrail", [RuleScan(correlation, window)])
    on_duckdb = DuckDbEngine(local).scan("cloudtrail", [RuleScan(correlation, window)])
    [athena_groups], [duckdb_groups] = on_athena.results, on_duckdb.results
    assert not isinstance(athena_groups, RuleFailure), athena_groups
    assert not isinstance(duckdb_groups, RuleFailure), duckdb_groups

    def seen(groups: list[GroupResult]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                g.group["userIdentity.userName"] if g.group else None,
                g.count,
                g.new,
                sorted(s["eventID"] for s in g.samples),
            )
            for g in groups
        )

    assert seen(athena_groups) == seen(duckdb_groups)
    assert [(g[0], g[1], g[2]) for g in seen(athena_groups)] == [("mallory", 5, 0), ("trudy", 5, 1)]
    assert on_athena.data_scanned_mb > 0  # Athena's statistics
    assert any("RANGE BETWEEN INTERVAL '600' SECOND PRECEDING" in q for q in athena.queries)

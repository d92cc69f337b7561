"""kill -9 of a collector run mid-way, then a run by the CLI (real processes): every event exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from mantissa_log.config import Settings
from mantissa_log.services.collectors.service import CollectorWrite
from mantissa_log.services.container import Services, build_services
from mantissa_log.services.identity import Principal
from mantissa_log.state.tables import COLLECTOR_STATE
from tests.collectors.apiserver import api_server, okta_events
from tests.collectors.conftest import new_bucket, put_trail_file, sqs, stored_ids, trail_events, trail_key

ROOT = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "mantissa-log")
ADMIN = Principal("root", role="admin")
ORG = "AWSLogs/o-abcdefghij/"


def environment(home: Path) -> dict[str, str]:
    return os.environ | {"MANTISSA_HOME": str(home), "MANTISSA_ALLOW_PRIVATE_TARGETS": "true"}


def crash(home: Path, collector_id: str, mode: str, at: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.collectors.crashing_collector", collector_id, mode, str(at)],
        env=environment(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def cli_run(home: Path, collector_id: str) -> dict[str, object]:
    done = subprocess.run(
        [EXE, "collectors", "run", collector_id], env=environment(home), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def cli_run_refused(home: Path, collector_id: str) -> bool:
    done = subprocess.run(
        [EXE, "collectors", "run", collector_id], env=environment(home), capture_output=True, text=True, timeout=120
    )
    return done.returncode == 1 and '"ran": false' in done.stdout


def trail_files(endpoint: str, bucket: str, files: int) -> list[str]:
    ids = []
    for n in range(files):
        account = ("111111111111", "222222222222")[n % 2]
        events = trail_events(account, "us-east-1", 5, f"k{n}")
        put_trail_file(endpoint, bucket, trail_key(ORG, account, "us-east-1", f"20261201T10{n:02d}", f"s{n}"), events)
        ids += [e["eventID"] for e in events]
    return ids


@pytest.mark.parametrize("mode", ["before", "after"])
def test_s3_listing_killed_mid_run(tmp_path: Path, moto_endpoint: str, mode: str) -> None:
    home = tmp_path / "home"
    bucket = new_bucket(moto_endpoint)
    expected = trail_files(moto_endpoint, bucket, 6)
    services = build_services(Settings(home=home, allow_private_targets=True))
    write = CollectorWrite(kind="cloudtrail_s3", config={"bucket": bucket, "endpoint_url": moto_endpoint})
    services.collectors.create(ADMIN, "trail", write)
    services.close()

    crash(home, "trail", mode, 3)
    # The crashed run held the lease: a run before it expires is turned away, not doubled.
    services = build_services(Settings(home=home, allow_private_targets=True))
    partial = stored_ids(services.infra.lake)
    assert 0 < len(partial) < len(expected)
    assert cli_run_refused(home, "trail")
    _expire_lease_of(services, "trail")  # the lease runs out (as it would after 5 minutes)
    services.close()

    report = cli_run(home, "trail")
    assert report["error"] is None
    # Killed before its checkpoint: the third file is read again, and the lake stores none of it twice.
    assert report["duplicates"] == (5 if mode == "before" else 0)
    services = build_services(Settings(home=home, allow_private_targets=True))
    try:
        assert stored_ids(services.infra.lake) == sorted(expected)  # nothing lost, nothing twice
        assert services.collectors.run("trail").batches == 0
    finally:
        services.close()


def test_sqs_killed_before_deleting_a_message(tmp_path: Path, moto_endpoint: str) -> None:
    home = tmp_path / "home"
    bucket = new_bucket(moto_endpoint)
    client = sqs(moto_endpoint)
    queue = client.create_queue(QueueName=bucket, Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    expected = []
    for n in range(5):
        key = trail_key(ORG, "111111111111", "eu-west-1", f"20261201T11{n:02d}", f"m{n}")
        events = trail_events("111111111111", "eu-west-1", 4, f"m{n}")
        put_trail_file(moto_endpoint, bucket, key, events)
        expected += [e["eventID"] for e in events]
        body = json.dumps(
            {
                "Records": [
                    {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
                ]
            }
        )
        client.send_message(QueueUrl=queue, MessageBody=body)
    services = build_services(Settings(home=home, allow_private_targets=True))
    config = {"queue_url": queue, "endpoint_url": moto_endpoint, "wait_seconds": 0}
    services.collectors.create(ADMIN, "queue", CollectorWrite(kind="cloudtrail_sqs", config=config))
    services.close()

    crash(home, "queue", "after", 2)  # the 2nd file stored and recorded, its message not deleted
    services = build_services(Settings(home=home, allow_private_targets=True))
    _expire_lease_of(services, "queue")
    services.close()
    time.sleep(2.5)  # the undeleted message becomes visible again
    report = cli_run(home, "queue")
    assert report["duplicates"] == 4  # the redelivered message's file, stored once
    services = build_services(Settings(home=home, allow_private_targets=True))
    try:
        assert stored_ids(services.infra.lake) == sorted(expected)
        attributes = client.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    finally:
        services.close()


def _expire_lease_of(services: Services, collector_id: str) -> None:
    backend = services.infra.backend
    backend.update(COLLECTOR_STATE, {"collector_id": collector_id}, set_values={"lease_until": 0.0})


def test_okta_killed_mid_page_then_run_again(tmp_path: Path) -> None:
    """kill -9 while the third page is half received; the next run resumes at that page's link."""
    home = tmp_path / "home"
    events = okta_events(250)
    with api_server("okta", "okta-token", events) as server:
        services = build_services(Settings(home=home, allow_private_targets=True))
        config = {"base_url": server.base, "since": "2026-12-01T00:00:00Z", "page_size": 50}
        write = CollectorWrite(kind="okta", config=config, secret=SecretStr("okta-token"))
        services.collectors.create(ADMIN, "okta", write)
        services.close()

        server.stall_after = 100
        running = subprocess.Popen(
            [EXE, "collectors", "run", "okta"], env=environment(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert server.stalled.wait(60), "the run never reached the third page"
            os.kill(running.pid, signal.SIGKILL)
        finally:
            running.communicate(timeout=30)
        assert running.returncode == -signal.SIGKILL
        server.release.set()

        services = build_services(Settings(home=home, allow_private_targets=True))
        assert len(stored_ids(services.infra.lake, "okta")) == 100  # two whole pages
        _expire_lease_of(services, "okta")
        services.close()
        seen = len(server.requests)
        report = cli_run(home, "okta")
        assert server.requests[seen].startswith("/api/v1/logs?after=100")  # from the checkpoint
        assert (report["accepted"], report["duplicates"]) == (150, 0)
    services = build_services(Settings(home=home, allow_private_targets=True))
    try:
        assert stored_ids(services.infra.lake, "okta") == sorted(e["uuid"] for e in events)
    finally:
        services.close()

"""Collectors against real transports: moto_server (S3, SQS) and loopback HTTP servers (tests/ only)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mantissa_log.config import Settings
from mantissa_log.lake import LogLake
from mantissa_log.services.container import Services
from tests.fixtures_api import make_config
from tests.provisioned import build_provisioned

BUCKET_PREFIX = "trail-"


def collector_config(kind: str, home: Path, environment: str, endpoint: str | None) -> Settings:
    """The test installation: loopback targets allowed explicitly, as the output tests do."""
    return make_config(kind, home, environment, endpoint).model_copy(update={"allow_private_targets": True})


@pytest.fixture
def services(
    backend_kind: str, tmp_path: Path, environment_name: str, request: pytest.FixtureRequest
) -> Iterator[Services]:
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    built = build_provisioned(collector_config(backend_kind, tmp_path / "home", environment_name, endpoint))
    yield built
    built.close()


def s3(endpoint: str) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)


def sqs(endpoint: str) -> Any:
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)


def new_bucket(endpoint: str) -> str:
    name = BUCKET_PREFIX + uuid.uuid4().hex[:12]
    s3(endpoint).create_bucket(Bucket=name)
    return name


def trail_events(account: str, region: str, count: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "eventVersion": "1.08",
            "eventID": f"{tag}-{i}-{uuid.uuid4()}",
            "eventTime": f"2026-12-01T10:{i % 60:02d}:00Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser",
            "awsRegion": region,
            "recipientAccountId": account,
            "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "alice"},
            "sourceIPAddress": "198.51.100.7",
        }
        for i in range(count)
    ]


def trail_key(prefix: str, account: str, region: str, stamp: str, suffix: str) -> str:
    """`stamp`: YYYYMMDDTHHMM; the key CloudTrail writes for that period."""
    day = f"{stamp[0:4]}/{stamp[4:6]}/{stamp[6:8]}"
    return f"{prefix}{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{stamp}Z_{suffix}.json.gz"


def put_trail_file(endpoint: str, bucket: str, key: str, events: list[dict[str, Any]]) -> None:
    body = gzip.compress(json.dumps({"Records": events}).encode())
    s3(endpoint).put_object(Bucket=bucket, Key=key, Body=body)


def stored_ids(lake: LogLake, source: str = "cloudtrail") -> list[str]:
    """Every event id in the lake for `source`, repeats included (a duplicate shows twice)."""
    if not lake.files(source):
        return []
    with lake.connect() as connection:
        rows = connection.execute(f"SELECT event_id FROM ({lake.relation_sql(source)})").fetchall()  # noqa: S608
    return sorted(str(row[0]) for row in rows)

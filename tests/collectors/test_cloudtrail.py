"""CloudTrail from S3 (organisation-trail listing with a checkpoint) and from SQS notifications, on moto_server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mantissa_log.errors import ValidationFailed
from mantissa_log.services.collectors.service import CollectorWrite
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.collectors.conftest import new_bucket, put_trail_file, s3, sqs, stored_ids, trail_events, trail_key

ADMIN = Principal("root", role="admin")
ORG = "AWSLogs/o-abcdefghij/"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")


def org_trail(endpoint: str, bucket: str, stamps: tuple[str, ...] = ("20261201T1000", "20261201T1005")) -> list[str]:
    """Files for two accounts x two regions under an organisation id, plus digests and an Insights file."""
    ids = []
    for account in ACCOUNTS:
        for region in REGIONS:
            for n, stamp in enumerate(stamps):
                events = trail_events(account, region, 3, f"{account}-{region}-{stamp}")
                put_trail_file(endpoint, bucket, trail_key(ORG, account, region, stamp, f"r{n}"), events)
                ids += [e["eventID"] for e in events]
            digest = (
                f"{ORG}{account}/CloudTrail-Digest/{region}/2026/12/01/{account}_CloudTrail-Digest_{region}_x.json.gz"
            )
            put_trail_file(endpoint, bucket, digest, trail_events(account, region, 1, "digest"))
        insight = f"{ORG}{account}/CloudTrail-Insight/us-east-1/2026/12/01/{account}_CloudTrail-Insight_x.json.gz"
        put_trail_file(endpoint, bucket, insight, trail_events(account, "us-east-1", 1, "insight"))
    return ids


def add_s3(services: Services, endpoint: str, bucket: str, **config: Any) -> None:
    write = CollectorWrite(
        kind="cloudtrail_s3", config={"bucket": bucket, "endpoint_url": endpoint, **config}, every_seconds=60
    )
    services.collectors.create(ADMIN, "trail", write)


def test_listing_reads_every_account_and_region_once_and_skips_digests(services: Services, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    expected = org_trail(moto_endpoint, bucket)
    add_s3(services, moto_endpoint, bucket)

    first = services.collectors.run("trail")
    assert first.error is None
    assert (first.batches, first.accepted) == (8, 24)
    assert stored_ids(services.infra.lake) == sorted(expected)

    # Caught up: nothing is read again. New files (a new day too) are picked up after the checkpoint.
    assert services.collectors.run("trail").batches == 0
    later = trail_events(ACCOUNTS[1], "eu-west-1", 2, "later")
    put_trail_file(moto_endpoint, bucket, trail_key(ORG, ACCOUNTS[1], "eu-west-1", "20261202T0000", "z"), later)
    third = services.collectors.run("trail")
    assert (third.batches, third.accepted, third.duplicates) == (1, 2, 0)
    assert stored_ids(services.infra.lake) == sorted(expected + [e["eventID"] for e in later])

    status = services.collectors.view("trail").status
    assert status.last_success is not None
    assert status.last_error is None
    assert status.events_total == 26
    assert status.events_per_hour == 26
    assert status.lag_seconds is not None


def test_a_file_landing_late_with_an_earlier_name_is_still_read(services: Services, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    account, region = ACCOUNTS[0], REGIONS[0]
    put_trail_file(
        moto_endpoint,
        bucket,
        trail_key(ORG, account, region, "20261201T1010", "b"),
        trail_events(account, region, 2, "a"),
    )
    add_s3(services, moto_endpoint, bucket)
    assert services.collectors.run("trail").accepted == 2
    # Same period, a name sorting before the checkpoint's key, delivered afterwards.
    late = trail_events(account, region, 2, "late")
    put_trail_file(moto_endpoint, bucket, trail_key(ORG, account, region, "20261201T1005", "a"), late)
    again = services.collectors.run("trail")
    assert (again.batches, again.accepted) == (1, 2)
    assert services.collectors.run("trail").batches == 0


def test_accounts_and_regions_can_be_narrowed(services: Services, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    org_trail(moto_endpoint, bucket)
    add_s3(services, moto_endpoint, bucket, accounts=[ACCOUNTS[0]], regions=["eu-west-1"])
    report = services.collectors.run("trail")
    assert (report.batches, report.accepted) == (2, 6)


def test_a_failing_run_keeps_its_checkpoint_and_says_why(services: Services, moto_endpoint: str) -> None:
    add_s3(services, moto_endpoint, "no-such-bucket-here")
    report = services.collectors.run("trail")
    assert report.error is not None
    assert "NoSuchBucket" in report.error
    status = services.collectors.view("trail").status
    assert status.last_error == report.error
    assert status.last_success is None
    ok, message = services.collectors.test("trail")
    assert not ok
    assert "NoSuchBucket" in message


def test_endpoints_pass_the_outbound_guard(services: Services) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.collectors.create(
            ADMIN,
            "meta",
            CollectorWrite(kind="cloudtrail_s3", config={"bucket": "abc", "endpoint_url": "http://169.254.169.254/"}),
        )
    assert refused.value.field == "config.endpoint_url"


def notification(bucket: str, *keys: str, sns: bool = False) -> str:
    body = json.dumps(
        {
            "Records": [
                {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
                for key in keys
            ]
        }
    )
    return json.dumps({"Type": "Notification", "Message": body}) if sns else body


def test_sqs_notifications_delete_each_message_once_its_files_are_stored(
    services: Services, moto_endpoint: str
) -> None:
    bucket = new_bucket(moto_endpoint)
    queue = sqs(moto_endpoint).create_queue(QueueName=bucket)["QueueUrl"]
    account, region = ACCOUNTS[0], REGIONS[1]
    keys, expected = [], []
    for n in range(3):
        key = trail_key(ORG, account, region, f"20261201T10{n}0", f"q{n}")
        events = trail_events(account, region, 4, f"sqs{n}")
        put_trail_file(moto_endpoint, bucket, key, events)
        keys.append(key)
        expected += [e["eventID"] for e in events]
    digest = f"{ORG}{account}/CloudTrail-Digest/{region}/2026/12/01/{account}_CloudTrail-Digest_{region}_d.json.gz"
    put_trail_file(moto_endpoint, bucket, digest, trail_events(account, region, 1, "digest"))
    client = sqs(moto_endpoint)
    client.send_message(QueueUrl=queue, MessageBody=notification(bucket, keys[0], keys[1]))
    client.send_message(QueueUrl=queue, MessageBody=notification(bucket, keys[2], digest, sns=True))
    client.send_message(QueueUrl=queue, MessageBody=json.dumps({"Event": "s3:TestEvent", "Bucket": bucket}))
    client.send_message(QueueUrl=queue, MessageBody="not a notification")
    services.collectors.create(
        ADMIN,
        "queue",
        CollectorWrite(
            kind="cloudtrail_sqs", config={"queue_url": queue, "endpoint_url": moto_endpoint, "wait_seconds": 0}
        ),
    )
    report = services.collectors.run("queue")
    assert report.error is None
    assert (report.accepted, report.batches) == (12, 4)
    assert stored_ids(services.infra.lake) == sorted(expected)
    assert any("not an S3 event notification" in note for note in report.notes)
    attributes = client.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    # Only the message that was not a notification remains (in flight until its visibility ends).
    waiting = int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
    assert waiting == 1


def test_s3_helpers_see_the_layout(moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    org_trail(moto_endpoint, bucket, stamps=("20261201T1000",))
    keys = [o["Key"] for o in s3(moto_endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
    assert sum("CloudTrail-Digest" in k for k in keys) == 4

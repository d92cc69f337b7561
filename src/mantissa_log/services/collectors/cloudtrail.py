"""CloudTrail from S3: a prefix listing with a checkpoint, or the bucket's S3 event notifications on SQS.

Layout (one trail or an organisation trail):
`<prefix>[<org id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/`
`<account>_CloudTrail_<region>_<YYYYMMDDTHHMM>Z_<rand>.json.gz`.
Digest files (`CloudTrail-Digest/`) and Insights files (`CloudTrail-Insight/`) are never read.

**Listing.** Accounts (below organisation ids) and regions are discovered with delimiter listings,
then each `<account>/CloudTrail/<region>/` prefix is listed in key order, which is time order. The
checkpoint keeps, per prefix, the last key stored and the keys stored in the 15 minutes before it:
CloudTrail names a file by the end of its period, so a file can land a little after a later-named
one; the next listing starts 15 minutes of names back and skips the keys it already stored.

**SQS.** Each message names objects (S3 event notifications, directly or wrapped by SNS); the
message is deleted only after every object it names is in the lake. A crash before that lets the
message come back after its visibility timeout; ingest, idempotent by event id, stores nothing twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from mantissa_log.domain.collectors import CloudTrailS3Config, CloudTrailSqsConfig
from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import netguard
from mantissa_log.services.collectors.base import Batch, RunContext

SETTLE = timedelta(minutes=15)
MAX_FILES_PER_RUN = 1000
_STAMP = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4})Z")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_ACCOUNT = re.compile(r"^\d{12}$")


def aws_client(service: str, region: str, endpoint_url: str | None, ctx: RunContext) -> Any:
    """A boto3 client; an endpoint override passes the outbound guard, a credential comes from the secret store.

    The secret, when set, is JSON: `{"aws_access_key_id": ..., "aws_secret_access_key": ...,
    "aws_session_token": ...}`; without it boto3's own chain (instance or task role) is used.
    """
    import boto3  # here: the CLI's `--help` never pays for boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        netguard.check_url(endpoint_url, allow_private=ctx.allow_private_targets)
        kwargs["endpoint_url"] = endpoint_url
    if ctx.secret:
        try:
            keys = json.loads(ctx.secret)
        except ValueError:
            keys = None
        if not isinstance(keys, dict) or not isinstance(keys.get("aws_access_key_id"), str):
            raise ValidationFailed("the AWS credential secret must be JSON with aws_access_key_id", field="secret")
        for name in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
            if isinstance(keys.get(name), str):
                kwargs[name] = keys[name]
    return boto3.client(service, **kwargs)


def is_trail_file(key: str) -> bool:
    """A CloudTrail log file: not a digest, not an Insights file, not a folder marker."""
    return "/CloudTrail/" in key and (key.endswith(".json.gz") or key.endswith(".json"))


def key_time(key: str) -> datetime | None:
    found = _STAMP.search(key.rsplit("/", 1)[-1])
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC) if found else None


def _settle_start(region_prefix: str, after: str) -> str:
    """The key to list after: `after`'s own name, 15 minutes earlier (same account and region)."""
    stamp = key_time(after)
    name = after.rsplit("/", 1)[-1]
    if stamp is None:
        return after
    head = name[: name.index("_CloudTrail_")]
    region = region_prefix.rstrip("/").rsplit("/", 1)[-1]
    earlier = stamp - SETTLE
    return f"{region_prefix}{earlier:%Y/%m/%d}/{head}_CloudTrail_{region}_{earlier:%Y%m%dT%H%M}Z"


class CloudTrailS3:
    def __init__(self, config: CloudTrailS3Config, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.s3 = aws_client("s3", config.region, config.endpoint_url, ctx)

    def _folders(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=prefix, Delimiter="/"
        ):
            found.extend(str(p["Prefix"]) for p in page.get("CommonPrefixes", []))
        return found

    def region_prefixes(self) -> list[str]:
        """`<prefix>[<org>/]<account>/CloudTrail/<region>/` for every account and region (as configured)."""
        accounts: list[str] = []
        for folder in self._folders(self.config.prefix):
            name = folder[len(self.config.prefix) :].rstrip("/")
            if _ORG.match(name):
                accounts.extend(f for f in self._folders(folder) if _ACCOUNT.match(f[len(folder) :].rstrip("/")))
            elif _ACCOUNT.match(name):
                accounts.append(folder)
        wanted_accounts = set(self.config.accounts)
        wanted_regions = set(self.config.regions)
        prefixes = []
        for account in accounts:
            if wanted_accounts and account.rstrip("/").rsplit("/", 1)[-1] not in wanted_accounts:
                continue
            for region in self._folders(account + "CloudTrail/"):
                if wanted_regions and region.rstrip("/").rsplit("/", 1)[-1] not in wanted_regions:
                    continue
                prefixes.append(region)
        return sorted(prefixes)

    def probe(self) -> str:
        prefixes = self.region_prefixes()
        return f"s3://{self.config.bucket}/{self.config.prefix}: {len(prefixes)} account/region prefixes"

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        positions: dict[str, Any] = {k: dict(v) for k, v in checkpoint.get("prefixes", {}).items()}
        files = 0
        for prefix in self.region_prefixes():
            position = positions.setdefault(prefix, {"after": "", "seen": []})
            seen = set(position["seen"])
            start = _settle_start(prefix, position["after"]) if position["after"] else ""
            kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": prefix}
            if start:
                kwargs["StartAfter"] = start
            for page in self.s3.get_paginator("list_objects_v2").paginate(**kwargs):
                for entry in page.get("Contents", []):
                    key = str(entry["Key"])
                    if not is_trail_file(key) or key in seen:
                        continue
                    if files >= MAX_FILES_PER_RUN:
                        return
                    body = self.s3.get_object(Bucket=self.config.bucket, Key=key)["Body"].read()
                    files += 1
                    if key > position["after"]:
                        position["after"] = key
                    seen.add(key)
                    position["seen"] = _recent_keys(seen, position["after"])
                    snapshot = {
                        "prefixes": {k: {"after": v["after"], "seen": list(v["seen"])} for k, v in positions.items()}
                    }
                    yield Batch(data=body, checkpoint=snapshot, newest=entry.get("LastModified"), label=key)


def _recent_keys(seen: set[str], after: str) -> list[str]:
    """The stored keys a later listing may meet again: those named within the settle window of `after`."""
    newest = key_time(after)
    if newest is None:
        return sorted(seen)[-50:]
    return sorted(k for k in seen if (key_time(k) or newest) >= newest - SETTLE)


class CloudTrailSqs:
    def __init__(self, config: CloudTrailSqsConfig, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.sqs = aws_client("sqs", config.region, config.endpoint_url, ctx)
        self._s3: Any = None

    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = aws_client("s3", self.config.region, self.config.endpoint_url, self.ctx)
        return self._s3

    def probe(self) -> str:
        found = self.sqs.get_queue_attributes(
            QueueUrl=self.config.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        waiting = found.get("Attributes", {}).get("ApproximateNumberOfMessages", "?")
        return f"queue reachable: about {waiting} messages waiting"

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        handled = 0
        while handled < self.config.max_messages:
            got = self.sqs.receive_message(
                QueueUrl=self.config.queue_url,
                MaxNumberOfMessages=min(10, self.config.max_messages - handled),
                WaitTimeSeconds=self.config.wait_seconds,
            )
            messages = got.get("Messages", [])
            if not messages:
                return
            for message in messages:
                handled += 1
                yield from self._message(message)

    def _message(self, message: dict[str, Any]) -> Iterator[Batch]:
        objects = s3_objects(str(message.get("Body", "")))
        if objects is None:
            # Not an S3 notification: left for the queue's redrive policy (a dead-letter queue).
            self.ctx.notes.append("a message that is not an S3 event notification was left on the queue")
            return
        handle = str(message["ReceiptHandle"])

        def delete() -> None:
            self.sqs.delete_message(QueueUrl=self.config.queue_url, ReceiptHandle=handle)

        files = [(bucket, key) for bucket, key in objects if is_trail_file(key)]
        if not files:
            yield Batch(data=b"", checkpoint=None, label="notification without trail files", after_stored=delete)
            return
        for index, (bucket, key) in enumerate(files):
            got = self.s3().get_object(Bucket=bucket, Key=key)
            last = index == len(files) - 1
            yield Batch(
                data=got["Body"].read(),
                checkpoint=None,
                newest=got.get("LastModified"),
                label=key,
                after_stored=delete if last else None,
            )


def s3_objects(body: str) -> list[tuple[str, str]] | None:
    """(bucket, key) of every ObjectCreated record of an S3 notification (SNS-wrapped or not); None if not one."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
            document = json.loads(document["Message"])
    except (ValueError, TypeError):
        return None
    if not isinstance(document, dict):
        return None
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        return None
    found = []
    for record in records:
        try:
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            found.append((str(record["s3"]["bucket"]["name"]), unquote_plus(str(record["s3"]["object"]["key"]))))
        except (KeyError, TypeError, AttributeError):
            continue
    return found

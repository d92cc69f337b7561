"""The lake in S3 (`MANTISSA_LAKE=s3`): the same Parquet partitions, written from any number of hosts.

An ingest is written as on a local lake (parsing, dedup, Parquet, under the host's data home),
then copied out to `s3://<bucket>/<prefix>source=<s>/date=<d>/hour=<h>/<file name>`; the local
copies are removed. File names carry the ingest time and a random UUID, so hosts never collide.

Protocol, so that no detection run anywhere reads part of an ingest:

1. an in-flight marker `<prefix>_inflight/<µs>-<uuid>` is put before the ingest time is taken;
2. the ingest is written locally; the marker is rewritten listing the object keys it will put;
3. the objects are uploaded (multipart above 64 MB, by boto3's transfer manager);
4. the commit manifest `<prefix>_manifests/source=<s>/<name>.json` (keys, rows) is put;
5. the marker is deleted.

`visible_until()` lists the markers: a run's window ends below the oldest one, so rows of an
ingest still uploading (their ingest time is later) are outside every window until it commits.
A marker older than `max_age` belongs to a dead ingest: its objects are deleted first (unless its
manifest says it committed), then the marker; so the window never opens over a partial ingest.
Across hosts this relies on clocks kept in step (NTP): skew narrows the guarantee by that much.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.clock import utc_now
from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import StoreError
from mantissa_log.lake.fields import EPOCH
from mantissa_log.lake.results import IngestResult
from mantissa_log.lake.store import LogLake, as_utc

_MICRO = timedelta(microseconds=1)
_MILLI = timedelta(milliseconds=1)
TRANSFER = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20)


def floor_ms(moment: datetime) -> datetime:
    """Athena reads Parquet timestamps in milliseconds: windows are cut on whole milliseconds."""
    return moment - timedelta(microseconds=moment.microsecond % 1000)


class S3InFlight:
    """In-flight markers in the bucket, seen by every host (see the module's protocol)."""

    def __init__(self, s3: Any, bucket: str, prefix: str, max_age: timedelta = timedelta(hours=1)) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix + "_inflight/"
        self.manifests = prefix + "_manifests/"
        self.max_age = max_age

    @contextlib.contextmanager
    def hold(self, ingest_time: datetime | None) -> Iterator[str]:
        marked = utc_now() if ingest_time is None else min(utc_now(), as_utc(ingest_time))
        key = f"{self.prefix}{(marked - EPOCH) // _MICRO}-{uuid.uuid4().hex}"
        self._put(key, {"keys": []})
        try:
            yield key
        finally:
            # Reached on success and on any error inside this process; by then nothing partial is
            # left in the bucket (`S3LogLake._published` removes a failed upload's objects first).
            # Only a process that dies leaves its marker, for `recover` once it is stale.
            self._delete([key])

    def plan(self, marker: str, keys: list[str], manifest: str) -> None:
        self._put(marker, {"keys": keys, "manifest": manifest})

    def visible_until(self, now: datetime | None = None) -> datetime:
        """A whole millisecond below every running ingest's marker (and not after `now`)."""
        now = utc_now() if now is None else now
        oldest: datetime | None = None
        for key in self._list(self.prefix):
            try:
                micros = int(key[len(self.prefix) :].split("-", 1)[0])
            except ValueError:
                continue
            marked = EPOCH + timedelta(microseconds=micros)
            if now - marked > self.max_age:
                self.recover(key)
            elif oldest is None or marked < oldest:
                oldest = marked
        limit = now if oldest is None else min(now, floor_ms(oldest) - _MILLI)
        return floor_ms(limit)

    def recover(self, marker: str) -> None:
        """A dead ingest: remove what it uploaded unless it committed, then its marker."""
        try:
            body = json.loads(self.s3.get_object(Bucket=self.bucket, Key=marker)["Body"].read())
        except (ClientError, ValueError):
            body = {}
        keys = [k for k in body.get("keys", []) if isinstance(k, str)]
        manifest = body.get("manifest")
        committed = isinstance(manifest, str) and bool(manifest) and bool(self._list(manifest))
        if keys and not committed:
            self._delete(keys)
        self._delete([marker])

    # -- S3 plumbing
    def _put(self, key: str, doc: dict[str, Any]) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(doc).encode())
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"s3 put {key} in {self.bucket} failed: {exc}") from None

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(str(entry["Key"]) for entry in page.get("Contents", []))
        return keys


class S3LogLake(LogLake):
    """A LogLake whose files live in S3; this host's data home only stages an ingest."""

    # Each ingest commits under its own in-flight marker and manifest: not grouped with others.
    group_commits = False

    def __init__(self, root: Path, s3: Any, bucket: str, prefix: str, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.remote = S3InFlight(s3, bucket, prefix)
        # The running ingest's marker, per thread: the API ingests uploads on several threads at once.
        self._local = threading.local()

    @property
    def _marker(self) -> str | None:
        marker: str | None = getattr(self._local, "marker", None)
        return marker

    def object_key(self, source: str, stamp: datetime, name: str) -> str:
        return f"{self.prefix}source={source}/date={stamp:%Y-%m-%d}/hour={stamp:%H}/{name}"

    def location(self, source: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}source={source}/"

    # -- writing: the marker spans the whole ingest, the upload happens before dedup commits
    def ingest(self, source: str, parsed: Any, *, ingest_time: datetime | None = None) -> IngestResult:
        with self._held(ingest_time):
            result = super().ingest(source, parsed, ingest_time=ingest_time)
        _remove_local(result)
        return result

    def ingest_file(self, source: str, path: Path, *, ingest_time: datetime | None = None) -> IngestResult:
        with self._held(ingest_time):
            result = super().ingest_file(source, path, ingest_time=ingest_time)
        _remove_local(result)
        return result

    @contextlib.contextmanager
    def _held(self, ingest_time: datetime | None) -> Iterator[None]:
        if self._marker is not None:  # ingest_bytes -> ingest, ingest_file -> ingest: one marker
            yield
            return
        with self.remote.hold(ingest_time) as marker:
            self._local.marker = marker
            try:
                yield
            finally:
                self._local.marker = None

    def _published(self, source: str, stamp: datetime, paths: list[Path]) -> None:
        if not paths:
            return
        marker = self._marker
        assert marker is not None, "an S3 ingest runs under its in-flight marker"
        stamp = as_utc(stamp)
        keys = [self.object_key(source, stamp, path.name) for path in paths]
        manifest = f"{self.remote.manifests}source={source}/{paths[0].stem}.json"
        self.remote.plan(marker, keys, manifest)
        try:
            for path, key in zip(paths, keys, strict=True):
                self.s3.upload_file(
                    str(path), self.bucket, key, ExtraArgs={"ServerSideEncryption": "aws:kms"}, Config=TRANSFER
                )
            doc = {"source": source, "ingest_time": stamp.isoformat(), "keys": keys}
            self.s3.put_object(Bucket=self.bucket, Key=manifest, Body=json.dumps(doc).encode())
        except (ClientError, BotoCoreError) as exc:
            self.remote.recover(marker)  # nothing half-uploaded stays (the marker goes with it)
            for path in paths:
                path.unlink(missing_ok=True)
            raise StoreError(f"cannot upload the ingest to s3://{self.bucket}/{self.prefix}: {exc}") from None

    # -- reading: detection goes to Athena; visibility is the bucket's, not this host's
    def visible_until(self, now: datetime | None = None) -> datetime:
        return self.remote.visible_until(None if now is None else as_utc(now))

    def sources_with_data(self) -> set[str]:
        """The sources with at least one committed ingest (one manifest listed per source)."""
        found: set[str] = set()
        for name in SOURCE_NAMES:
            prefix = f"{self.remote.manifests}source={name}/"
            try:
                listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
            except (ClientError, BotoCoreError) as exc:
                raise StoreError(f"cannot list s3://{self.bucket}/{prefix}: {exc}") from None
            if listed.get("KeyCount") or listed.get("Contents"):
                found.add(name)
        return found


def _remove_local(result: IngestResult) -> None:
    for path in result.files:
        path.unlink(missing_ok=True)

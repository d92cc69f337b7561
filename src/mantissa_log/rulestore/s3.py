"""Rule bodies in an S3 bucket (scale-out), same keys as the local store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from mantissa_log.errors import NotFound, StoreError
from mantissa_log.rulestore.base import RuleStore, check_key


class S3RuleStore(RuleStore):
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=body, ServerSideEncryption="aws:kms")
        except ClientError as exc:
            raise StoreError(f"s3 put {key}: {exc.response['Error']['Code']}") from None

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise NotFound(f"no rule body at {key}", field="s3_key") from None
            raise StoreError(f"s3 get {key}: {exc.response['Error']['Code']}") from None
        body: bytes = response["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                yield str(entry["Key"])

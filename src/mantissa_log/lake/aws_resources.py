"""The AWS resources the lake and rule bodies live in: an S3 bucket, a Glue database, an Athena
workgroup. Each has `ensure_*` (provisioning, admin rights, idempotent: returns True when it
created the resource) and `*_exists` (the read-only check every normal start makes).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.errors import StoreError

_ABSENT = {"404", "NoSuchBucket", "NotFound", "EntityNotFoundException", "InvalidRequestException"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def bucket_exists(s3: Any, bucket: str) -> bool:
    # ListObjectsV2, not HeadBucket: both need s3:ListBucket on AWS, but emulators (moto) check
    # HeadBucket against an action no real policy grants.
    try:
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except ClientError as exc:
        if _code(exc) in _ABSENT:
            return False
        raise StoreError(f"s3 bucket {bucket}: {_code(exc)}") from None
    except BotoCoreError as exc:
        raise StoreError(f"s3 bucket {bucket}: {exc}") from None
    return True


def ensure_bucket(s3: Any, bucket: str, region: str, kms_key_id: str | None) -> bool:
    """The bucket, private, versioned and encrypted (SSE-KMS with our key when there is one)."""
    created = False
    if not bucket_exists(s3, bucket):
        request: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 refuses its own name as a location constraint
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**request)
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise StoreError(f"cannot create s3 bucket {bucket}: {_code(exc)}") from None
        created = True
    rule: dict[str, Any] = {"SSEAlgorithm": "aws:kms"}
    if kms_key_id:
        rule["KMSMasterKeyID"] = kms_key_id
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": True}]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return created


def glue_database_exists(glue: Any, database: str) -> bool:
    try:
        glue.get_database(Name=database)
    except ClientError as exc:
        if _code(exc) in _ABSENT:
            return False
        raise StoreError(f"glue database {database}: {_code(exc)}") from None
    return True


def ensure_glue_database(glue: Any, database: str) -> bool:
    if glue_database_exists(glue, database):
        return False
    try:
        glue.create_database(DatabaseInput={"Name": database, "Description": "Mantissa Log event lake"})
    except ClientError as exc:
        if _code(exc) != "AlreadyExistsException":
            raise StoreError(f"cannot create glue database {database}: {_code(exc)}") from None
        return False
    return True


def workgroup_exists(athena: Any, workgroup: str) -> bool:
    try:
        found = athena.get_work_group(WorkGroup=workgroup)
    except ClientError as exc:
        if _code(exc) in _ABSENT:
            return False
        raise StoreError(f"athena workgroup {workgroup}: {_code(exc)}") from None
    # Athena answers InvalidRequestException for an unknown name; moto answers an empty body.
    return bool(found.get("WorkGroup", {}).get("Name"))


def ensure_workgroup(athena: Any, workgroup: str, output_location: str, bytes_cutoff: int) -> bool:
    """A workgroup that enforces its result location and cancels queries scanning too much."""
    if workgroup_exists(athena, workgroup):
        return False
    try:
        athena.create_work_group(
            Name=workgroup,
            Description="Mantissa Log detections",
            Configuration={
                "ResultConfiguration": {
                    "OutputLocation": output_location,
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                },
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": bytes_cutoff,
            },
        )
    except ClientError as exc:
        if _code(exc) != "InvalidRequestException":  # already exists, created concurrently
            raise StoreError(f"cannot create athena workgroup {workgroup}: {_code(exc)}") from None
        return False
    return True

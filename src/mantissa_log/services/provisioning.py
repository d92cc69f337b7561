"""Provisioning apart from running.

`provision` is `mantissa-log init`: run once per environment with admin credentials, it creates
what the configuration names (DynamoDB tables with PITR and TTL, S3 buckets, the KMS key alias,
the shared master key secret, the Glue database and the Athena workgroup) and is idempotent.

`missing_resources` is what every normal start runs instead: read-only calls (DescribeTable,
HeadBucket, DescribeKey, DescribeSecret, GetDatabase, GetWorkGroup), so the runtime role needs no
admin rights; anything missing stops the start with one message naming all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from mantissa_log.config import Settings
from mantissa_log.errors import ConfigError
from mantissa_log.lake.aws_resources import (
    bucket_exists,
    ensure_bucket,
    ensure_glue_database,
    ensure_workgroup,
    glue_database_exists,
    workgroup_exists,
)
from mantissa_log.lake.glue_tables import ensure_source_tables, missing_source_tables
from mantissa_log.secrets.aws_clients import make_aws_client
from mantissa_log.secrets.kms_key import ensure_kms_key, kms_key_usable
from mantissa_log.secrets.shared_keyring import create_shared_keyring
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.tables import ALL_TABLES


@dataclass(frozen=True)
class Step:
    kind: str  # "DynamoDB tables", "S3 bucket", ...
    name: str
    outcome: Literal["created", "exists"]


def buckets(config: Settings) -> list[str]:
    """Every bucket the configuration uses (rule bodies, lake), each once."""
    names: list[str] = []
    if config.rule_store == "s3":
        if not config.s3_bucket:
            raise ConfigError("MANTISSA_S3_BUCKET is required with MANTISSA_RULE_STORE=s3", field="MANTISSA_S3_BUCKET")
        names.append(config.s3_bucket)
    if config.lake == "s3":
        lake_bucket = config.lake_bucket_name
        if not lake_bucket:
            raise ConfigError(
                "MANTISSA_LAKE_BUCKET (or MANTISSA_S3_BUCKET) is required with MANTISSA_LAKE=s3",
                field="MANTISSA_LAKE_BUCKET",
            )
        if lake_bucket not in names:
            names.append(lake_bucket)
    return names


def lake_location(config: Settings, source: str) -> str:
    """Where a source's partitions live (the same keys `S3LogLake.object_key` writes)."""
    return f"s3://{config.lake_bucket_name}/{config.lake_prefix}source={source}/"


def athena_output_location(config: Settings) -> str:
    return f"s3://{config.lake_bucket_name}/athena-results/{config.environment}/"


def _client(config: Settings, service: str) -> Any:
    endpoint = {
        "s3": config.s3_endpoint_url,
        "kms": config.kms_endpoint_url,
        "secretsmanager": config.secrets_endpoint_url,
        "glue": config.glue_endpoint_url,
        "athena": config.athena_endpoint_url,
    }[service]
    return make_aws_client(service, config.region, endpoint)


def provision(config: Settings, backend: StateBackend | None = None) -> list[Step]:
    """Create whatever the configuration needs and is missing (admin credentials)."""
    from mantissa_log.services.container import build_backend

    steps: list[Step] = []

    def note(kind: str, name: str, created: bool) -> None:
        steps.append(Step(kind, name, "created" if created else "exists"))

    if config.kms_key_id:
        note("KMS key", config.kms_key_id, ensure_kms_key(_client(config, "kms"), config.kms_key_id))
    if config.state_backend == "dynamodb":
        store = backend or build_backend(config)
        try:
            missing = store.missing_tables(ALL_TABLES)
            store.ensure_tables(ALL_TABLES)  # also switches PITR and TTL on where they are off
        finally:
            if backend is None:
                store.close()
        for spec in ALL_TABLES:
            name = spec.physical_name(config.environment)
            note("DynamoDB table", name, name in missing)
    if config.master_key_secret:
        created = create_shared_keyring(_client(config, "secretsmanager"), config.master_key_secret, config.kms_key_id)
        note("master key secret", config.master_key_secret, created)
    for bucket in buckets(config):
        note("S3 bucket", bucket, ensure_bucket(_client(config, "s3"), bucket, config.region, config.kms_key_id))
    if config.lake == "s3":
        database = config.glue_database_name
        glue = _client(config, "glue")
        note("Glue database", database, ensure_glue_database(glue, database))
        for table, created in ensure_source_tables(glue, database, lambda source: lake_location(config, source)):
            note("Glue table", f"{database}.{table}", created)
        workgroup = config.athena_workgroup_name
        created = ensure_workgroup(
            _client(config, "athena"), workgroup, athena_output_location(config), config.athena_bytes_scanned_cutoff
        )
        note("Athena workgroup", workgroup, created)
    return steps


def missing_resources(config: Settings, backend: StateBackend) -> list[str]:
    """What a start needs and does not find; read-only calls only."""
    missing = [f"DynamoDB table {name}" for name in backend.missing_tables(ALL_TABLES)]
    if config.kms_key_id and not kms_key_usable(_client(config, "kms"), config.kms_key_id):
        missing.append(f"KMS key {config.kms_key_id}")
    if config.master_key_secret and not _secret_exists(_client(config, "secretsmanager"), config.master_key_secret):
        missing.append(f"master key secret {config.master_key_secret}")
    for bucket in buckets(config):
        if not bucket_exists(_client(config, "s3"), bucket):
            missing.append(f"S3 bucket {bucket}")
    if config.lake == "s3":
        glue = _client(config, "glue")
        if not glue_database_exists(glue, config.glue_database_name):
            missing.append(f"Glue database {config.glue_database_name}")
        else:
            missing.extend(f"Glue table {name}" for name in missing_source_tables(glue, config.glue_database_name))
        if not workgroup_exists(_client(config, "athena"), config.athena_workgroup_name):
            missing.append(f"Athena workgroup {config.athena_workgroup_name}")
    return missing


def require_provisioned(config: Settings, backend: StateBackend) -> None:
    missing = missing_resources(config, backend)
    if missing:
        raise ConfigError(
            "not provisioned: " + ", ".join(missing) + "; run `mantissa-log init` with admin credentials "
            "(or deploy deploy/cloudformation.yaml) for this environment first",
            field="MANTISSA_ENVIRONMENT",
        )


def _secret_exists(client: Any, secret_id: str) -> bool:
    try:
        client.describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise ConfigError(f"master key secret {secret_id}: {exc.response.get('Error', {}).get('Code')}") from None
    return True

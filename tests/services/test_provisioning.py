"""Provisioning apart from running: `init` creates (once), a normal start only checks, keys are shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from mantissa_log.config import Settings
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.errors import ConfigError
from mantissa_log.services.container import build_backend, build_services
from mantissa_log.services.identity import Principal
from mantissa_log.services.provisioning import missing_resources, provision
from mantissa_log.state.backend import TTL_ATTRIBUTE
from mantissa_log.state.tables import ALL_TABLES
from tests.api.test_integrations_api import SLACK, SLACK_URL
from tests.provisioned import shared_key_secret


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def aws_settings(endpoint: str, home: Path, environment: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "environment": environment,
        "state_backend": "dynamodb",
        "dynamodb_endpoint_url": endpoint,
        "secrets_endpoint_url": endpoint,
        "kms_endpoint_url": endpoint,
        "s3_endpoint_url": endpoint,
        "glue_endpoint_url": endpoint,
        "athena_endpoint_url": endpoint,
        "aws_region": "us-east-1",
    }
    return Settings(**(values | extra))


@pytest.fixture
def full(moto_endpoint: str, tmp_path: Path, environment_name: str) -> Settings:
    """Everything init can make: tables, KMS alias, shared keyring, rule and lake buckets, Glue, Athena."""
    return aws_settings(
        moto_endpoint,
        tmp_path / "home",
        environment_name,
        kms_key_id=f"alias/mantissa-{environment_name}",
        master_key_secret=shared_key_secret(environment_name),
        rule_store="s3",
        s3_bucket="rules-" + environment_name,
        lake="s3",
        lake_bucket="lake-" + environment_name,
    )


def test_init_creates_everything_then_keeps_it(full: Settings, moto_endpoint: str) -> None:
    first = provision(full)
    assert {s.outcome for s in first} == {"created"}, first
    kinds = [s.kind for s in first]
    assert kinds.count("DynamoDB table") == len(ALL_TABLES)
    for kind in ("KMS key", "master key secret", "Glue database", "Athena workgroup"):
        assert kinds.count(kind) == 1, kind
    assert sorted(s.name for s in first if s.kind == "S3 bucket") == sorted([full.s3_bucket, full.lake_bucket])

    again = provision(full)  # idempotent: nothing new, nothing replaced
    assert [(s.kind, s.name) for s in again] == [(s.kind, s.name) for s in first]
    assert {s.outcome for s in again} == {"exists"}
    assert len(client("kms", moto_endpoint).list_aliases()["Aliases"]) >= 1

    ddb = client("dynamodb", moto_endpoint)
    for spec in ALL_TABLES:
        name = spec.physical_name(full.environment)
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["SSEType"] == "KMS"
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == TTL_ATTRIBUTE
    s3 = client("s3", moto_endpoint)
    for bucket in (full.s3_bucket, full.lake_bucket):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    group = client("athena", moto_endpoint).get_work_group(WorkGroup=full.athena_workgroup_name)["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == full.athena_bytes_scanned_cutoff
    assert client("glue", moto_endpoint).get_database(Name=full.glue_database_name)["Database"]["Name"]


def test_a_start_before_init_names_everything_missing_and_creates_nothing(full: Settings, moto_endpoint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_services(full.model_copy(update={"lake": "local"}))
    message = caught.value.message
    assert "mantissa-log init" in message
    for spec in ALL_TABLES:
        assert f"DynamoDB table {spec.physical_name(full.environment)}" in message
    assert f"S3 bucket {full.s3_bucket}" in message
    assert f"KMS key {full.kms_key_id}" in message
    assert f"master key secret {full.master_key_secret}" in message
    tables = client("dynamodb", moto_endpoint).list_tables()["TableNames"]
    assert not [t for t in tables if t.endswith(full.environment)]  # the start created nothing
    assert full.s3_bucket not in [b["Name"] for b in client("s3", moto_endpoint).list_buckets().get("Buckets", [])]


def test_a_table_removed_later_is_named(full: Settings, moto_endpoint: str) -> None:
    config = full.model_copy(update={"lake": "local", "rule_store": "local", "kms_key_id": None})
    provision(config)
    gone = ALL_TABLES[4].physical_name(config.environment)
    client("dynamodb", moto_endpoint).delete_table(TableName=gone)
    backend = build_backend(config)
    try:
        assert missing_resources(config, backend) == [f"DynamoDB table {gone}"]
    finally:
        backend.close()


def test_dynamodb_without_a_shared_key_refuses_to_make_a_host_key(
    moto_endpoint: str, tmp_path: Path, environment_name: str
) -> None:
    config = aws_settings(moto_endpoint, tmp_path / "home", environment_name)
    provision(config)
    with pytest.raises(ConfigError) as caught:
        build_services(config)
    assert "MANTISSA_MASTER_KEY_SECRET" in caught.value.message
    assert "MANTISSA_KMS_KEY_ID" in caught.value.message
    assert not config.master_key_path.exists()  # no host-local key was made
    # KMS for configs but the local vault for secret values: the vault would still need a host key.
    kms = client("kms", moto_endpoint).create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ConfigError, match="MANTISSA_MASTER_KEY_SECRET"):
        build_services(config.model_copy(update={"kms_key_id": kms}))
    # KMS and Secrets Manager together need no keyring at all.
    services = build_services(config.model_copy(update={"kms_key_id": kms, "secrets_backend": "aws"}))
    services.close()
    assert not config.master_key_path.exists()


def test_two_hosts_share_the_keyring_and_see_each_others_rotation(
    moto_endpoint: str, tmp_path: Path, environment_name: str
) -> None:
    config_a = aws_settings(
        moto_endpoint, tmp_path / "a", environment_name, master_key_secret=shared_key_secret(environment_name)
    )
    config_b = config_a.model_copy(update={"home": tmp_path / "b"})
    provision(config_a)
    host_a, host_b = build_services(config_a), build_services(config_b)
    try:
        host_a.users.create_user("alice")
        host_a.integrations.create(Principal("alice"), INTEGRATION_WRITE_ADAPTER.validate_python(SLACK))
        assert host_b.integrations.get(Principal("alice"), "slack-main").config.dump()["channel"] == "siem-alerts"
        secret_ref = host_b.integrations.get(Principal("alice"), "slack-main").secret_arn
        assert secret_ref is not None
        assert host_b.infra.secrets.get(secret_ref) == SLACK_URL
        host_a.admin.rotate_master_key()  # the old key is retired at once
        host_a.integrations.create(
            Principal("alice"),
            INTEGRATION_WRITE_ADAPTER.validate_python(SLACK | {"integration_id": "slack-two"}),
        )
        assert host_b.integrations.get(Principal("alice"), "slack-two").config.dump()["channel"] == "siem-alerts"
        assert not (tmp_path / "a" / "keys" / "master.key").exists()
        assert not (tmp_path / "b" / "keys" / "master.key").exists()
    finally:
        host_a.close()
        host_b.close()

"""The scale-out configuration end to end on moto_server: DynamoDB state, Secrets Manager, KMS, S3."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.config import Settings
from mantissa_log.rulestore.s3 import S3RuleStore
from mantissa_log.secrets.aws import AwsSecretsManagerStore
from mantissa_log.secrets.envelope import KmsKeyWrapper
from mantissa_log.state.dynamodb_backend import DynamoDbBackend
from mantissa_log.state.tables import INTEGRATION_SETTINGS
from tests.api.test_integrations_api import SLACK, SLACK_URL
from tests.provisioned import build_provisioned


@pytest.fixture
def aws_config(moto_endpoint: str, tmp_path: Path, environment_name: str) -> Settings:
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key_id = kms.create_key(Description="mantissa test")["KeyMetadata"]["KeyId"]
    bucket = "rules-" + uuid.uuid4().hex[:10]
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return Settings(
        home=tmp_path / "home",
        environment=environment_name,
        state_backend="dynamodb",
        dynamodb_endpoint_url=moto_endpoint,
        secrets_backend="aws",
        secrets_endpoint_url=moto_endpoint,
        kms_key_id=key_id,
        kms_endpoint_url=moto_endpoint,
        rule_store="s3",
        s3_bucket=bucket,
        s3_endpoint_url=moto_endpoint,
        aws_region="us-east-1",
    )


def test_all_aws_parts_work_together(aws_config: Settings, moto_endpoint: str) -> None:
    services = build_provisioned(aws_config)
    try:
        assert isinstance(services.infra.backend, DynamoDbBackend)
        assert isinstance(services.infra.secrets, AwsSecretsManagerStore)
        assert isinstance(services.infra.rule_bodies, S3RuleStore)
        assert isinstance(services.infra.cipher.wrapper, KmsKeyWrapper)
        _, token = services.users.create_user("alice")
        with TestClient(create_app(aws_config, services)) as api:
            headers = {"Authorization": f"Bearer {token}"}
            created = api.post("/api/v1/integrations", headers=headers, json=SLACK)
            assert created.status_code == 201, created.text
            arn = created.json()["secret_arn"]
            assert arn.startswith("arn:aws:secretsmanager:us-east-1:")
            sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
            assert sm.get_secret_value(SecretId=arn)["SecretString"] == SLACK_URL
            assert (
                api.get("/api/v1/integrations/slack-main", headers=headers).json()["config"]["channel"] == "siem-alerts"
            )
        raw = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").get_item(
            TableName=INTEGRATION_SETTINGS.physical_name(aws_config.environment),
            Key={"user_id": {"S": "alice"}, "integration_id": {"S": "slack-main"}},
        )["Item"]
        assert "siem-alerts" not in json.dumps(raw)  # config is KMS-envelope encrypted
        assert SLACK_URL not in json.dumps(raw)
        services.infra.rule_bodies.put("user_rules/alice/r1.yaml", b"title: x\n")
        assert services.infra.rule_bodies.get("user_rules/alice/r1.yaml") == b"title: x\n"
        assert list(services.infra.rule_bodies.keys("user_rules/alice/")) == ["user_rules/alice/r1.yaml"]
        services.infra.rule_bodies.delete("user_rules/alice/r1.yaml")
        assert list(services.infra.rule_bodies.keys()) == []
    finally:
        services.close()

"""deploy/cloudformation.yaml: generated from the code, clean under cfn-lint and checkov, and deployed
into moto's CloudFormation, after which the product runs on the created resources without `init`.

moto's CloudFormation creates the DynamoDB tables, buckets, KMS key and alias and IAM roles; it
does not create AWS::Glue::*, AWS::Athena::WorkGroup or AWS::S3::BucketPolicy, nor apply a
table's PITR and TTL settings. Those parts are held by the drift check (the template is the code's
own definitions), cfn-lint and checkov; the deployed run therefore uses the local lake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mantissa_log.config import Settings
from mantissa_log.services.container import build_services
from mantissa_log.services.identity import Principal
from mantissa_log.state.tables import ALL_TABLES
from tests.api.test_integrations_api import SLACK

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def test_the_template_is_what_the_code_defines() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "generate_template.py")], capture_output=True, text=True, check=True
    )
    assert TEMPLATE.read_text() == done.stdout, (
        "regenerate: python deploy/generate_template.py > deploy/cloudformation.yaml"
    )


def test_cfn_lint_passes() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("path", "framework"), [(TEMPLATE, "cloudformation"), (ROOT / "Dockerfile", "dockerfile")])
def test_checkov_passes(path: Path, framework: str) -> None:
    # checkov pins boto3 1.35, so it lives in its own venv (`make install-dev` makes .venv-checkov).
    assert CHECKOV.exists(), "run `make install-dev` (it installs checkov into .venv-checkov)"
    done = subprocess.run(
        [str(CHECKOV), "-f", str(path), "--framework", framework, "--compact", "--quiet", "--skip-download"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"BC_SKIP_MAPPING": "TRUE"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Failed checks: 0" in done.stdout


def _definitions() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text())["Resources"]  # type: ignore[no-any-return]


def test_runtime_roles_have_no_administration_rights() -> None:
    for name in ("ApiRole", "WorkerRole", "IngestRole"):
        statements = _definitions()[name]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        actions = {action for s in statements for action in s["Action"]}
        assert all(s["Effect"] == "Allow" and "*" not in str(s["Action"]) for s in statements), name
        forbidden = {
            "dynamodb:CreateTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:UpdateContinuousBackups",
            "s3:CreateBucket",
            "s3:PutBucketPolicy",
            "kms:CreateKey",
            "glue:CreateTable",
            "athena:CreateWorkGroup",
        }
        assert not actions & forbidden, (name, actions & forbidden)


@pytest.fixture
def stack(moto_endpoint: str, environment_name: str) -> dict[str, str]:
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    cfn.create_stack(
        StackName="mantissa-" + environment_name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Environment", "ParameterValue": environment_name}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    described = cfn.describe_stacks(StackName="mantissa-" + environment_name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    # moto's CloudFormation keeps KeyPolicy as a mapping, and its KMS then fails every call on the key
    # (HTTP 500, json.loads of a dict); the same policy, put again through the KMS API, is stored as text.
    policy = _definitions()["Key"]["Properties"]["KeyPolicy"]
    policy["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::123456789012:root"
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    kms.put_key_policy(KeyId=outputs["KmsKeyArn"], PolicyName="default", Policy=json.dumps(policy))
    return outputs


def test_deployed_stack_runs_the_product_without_init(
    stack: dict[str, str], moto_endpoint: str, environment_name: str, tmp_path: Path
) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    for spec in ALL_TABLES:  # the seed's tables (and ours) exactly: keys, indexes, billing, SSE
        table = ddb.describe_table(TableName=spec.physical_name(environment_name))["Table"]
        keys = [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]
        assert keys == [(spec.hash_key, "HASH")] + ([(spec.range_key, "RANGE")] if spec.range_key else [])
        indexes = {
            i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
            for i in table.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {i.name: [i.hash_key, *([i.range_key] if i.range_key else [])] for i in spec.indexes}
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    config = Settings(
        home=tmp_path / "home",
        environment=environment_name,
        state_backend="dynamodb",
        dynamodb_endpoint_url=moto_endpoint,
        secrets_backend="aws",
        secrets_endpoint_url=moto_endpoint,
        kms_key_id=stack["KmsKey"],
        kms_endpoint_url=moto_endpoint,
        rule_store="s3",
        s3_bucket=stack["Bucket"],
        s3_endpoint_url=moto_endpoint,
        aws_region="us-east-1",
    )
    services = build_services(config)  # no init: the stack is the provisioning
    try:
        services.users.create_user("alice")
        from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER

        services.integrations.create(Principal("alice"), INTEGRATION_WRITE_ADAPTER.validate_python(SLACK))
        assert services.integrations.get(Principal("alice"), "slack-main").config.dump()["channel"] == "siem-alerts"
        services.detection.tick()
    finally:
        services.close()

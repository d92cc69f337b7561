"""`mantissa-log init` as an operator runs it, and a runtime identity without admin rights.

The last test starts its own moto_server with IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT): the
admin provisions with `init`, then `users create`, `rules import` and `worker --once` run as an
identity whose policy has no CreateTable, UpdateTimeToLive or UpdateContinuousBackups at all.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import yaml

from tests.cli.test_cli import EXE
from tests.cli.test_rules_cli import rule
from tests.fixtures_moto import free_port

# What `serve` and `worker` do at run time, and nothing that creates or reconfigures a resource.
RUNTIME_ACTIONS = [
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
]


def aws_env(endpoint: str, home: Path, environment: str, **extra: str) -> dict[str, str]:
    return os.environ | {
        "MANTISSA_HOME": str(home),
        "MANTISSA_ENVIRONMENT": environment,
        "MANTISSA_STATE_BACKEND": "dynamodb",
        "MANTISSA_DYNAMODB_ENDPOINT_URL": endpoint,
        "MANTISSA_SECRETS_ENDPOINT_URL": endpoint,
        "MANTISSA_S3_ENDPOINT_URL": endpoint,
        "MANTISSA_MASTER_KEY_SECRET": f"mantissa-log/{environment}/master-keyring",
        "MANTISSA_RULE_STORE": "s3",
        "MANTISSA_S3_BUCKET": f"rules-{environment}",
        "MANTISSA_AWS_REGION": "us-east-1",
        **extra,
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_rules_import_into_a_missing_bucket_exits_non_zero(moto_endpoint: str, tmp_path: Path) -> None:
    env = os.environ | {
        "MANTISSA_HOME": str(tmp_path / "home"),
        "MANTISSA_RULE_STORE": "s3",
        "MANTISSA_S3_BUCKET": "no-such-bucket-here",
        "MANTISSA_S3_ENDPOINT_URL": moto_endpoint,
    }
    (tmp_path / "r.yml").write_text(rule("Trail stopped"))
    done = cli(env, "rules", "import", "--user", "alice", str(tmp_path / "r.yml"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "S3 bucket no-such-bucket-here" in done.stderr
    assert "mantissa-log init" in done.stderr


def test_init_then_check_then_init_again(moto_endpoint: str, tmp_path: Path, environment_name: str) -> None:
    env = aws_env(moto_endpoint, tmp_path / "home", environment_name)
    before = cli(env, "init", "--check")
    assert before.returncode == 1
    assert f"missing DynamoDB table mantissa-log-users-{environment_name}" in before.stdout
    refused = cli(env, "users", "list")
    assert refused.returncode == 2
    assert "not provisioned" in refused.stderr
    first = cli(env, "init")
    assert first.returncode == 0, first.stderr
    assert f"created S3 bucket rules-{environment_name}" in first.stdout
    second = cli(env, "init")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    assert cli(env, "init", "--check").returncode == 0
    assert cli(env, "users", "create", "alice").returncode == 0


@pytest.fixture
def iam_moto(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """A moto_server enforcing IAM after the setup calls below; yields (url, admin keys, runtime keys)."""
    port = free_port()
    setup_calls = 6  # two users: CreateUser, PutUserPolicy, CreateAccessKey each
    env = os.environ | {"INITIAL_NO_AUTH_ACTION_COUNT": str(setup_calls)}
    with (tmp_path / "moto.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "moto_server did not start"
                assert time.monotonic() < deadline, "moto_server did not start in time"
                time.sleep(0.2)
        iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
        )

        def identity(name: str, actions: list[str]) -> dict[str, str]:
            iam.create_user(UserName=name)
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
            key: Any = iam.create_access_key(UserName=name)["AccessKey"]
            return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

        yield url, identity("admin", ["*"]), identity("runtime", RUNTIME_ACTIONS)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_runtime_identity_without_table_admin_rights_runs_the_product(
    iam_moto: tuple[str, dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    url, admin, runtime = iam_moto
    base = aws_env(url, tmp_path / "home", "iam")
    as_runtime = base | runtime
    denied = cli(as_runtime, "init")  # the runtime identity cannot provision ...
    assert denied.returncode != 0
    assert "CreateTable" in denied.stderr or "AccessDenied" in denied.stderr, denied.stderr
    provisioned = cli(base | admin, "init")  # ... the admin can, once
    assert provisioned.returncode == 0, provisioned.stderr
    assert cli(as_runtime, "users", "create", "alice").returncode == 0
    (tmp_path / "r.yml").write_text(rule("Trail stopped"))
    imported = cli(as_runtime, "rules", "import", "--user", "alice", str(tmp_path / "r.yml"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 rules, refused 0" in imported.stdout
    worked = cli(as_runtime, "worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert "outbox:" in worked.stdout


@pytest.fixture
def iam_moto_admin(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A moto_server enforcing IAM once its admin identity exists; yields (url, admin keys)."""
    port = free_port()
    env = os.environ | {"INITIAL_NO_AUTH_ACTION_COUNT": "3"}  # CreateUser, PutUserPolicy, CreateAccessKey
    with (tmp_path / "moto.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "moto_server did not start"
                assert time.monotonic() < deadline, "moto_server did not start in time"
                time.sleep(0.2)
        iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
        )
        iam.create_user(UserName="admin")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="admin", PolicyName="p", PolicyDocument=json.dumps(policy))
        key: Any = iam.create_access_key(UserName="admin")["AccessKey"]
        yield url, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_templates_own_api_and_worker_roles_run_the_product(
    iam_moto_admin: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """Deployed from deploy/cloudformation.yaml; then `users create`, `rules import` run with the API
    role's actions and `worker --once` with the worker role's, as the stack created them."""
    url, admin = iam_moto_admin
    session = boto3.session.Session(
        aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    template = (Path(__file__).resolve().parents[2] / "deploy" / "cloudformation.yaml").read_text()
    cfn = session.client("cloudformation", endpoint_url=url)
    cfn.create_stack(
        StackName="mantissa",
        TemplateBody=template,
        Parameters=[{"ParameterKey": "Environment", "ParameterValue": "iamt"}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="mantissa")["Stacks"][0]["Outputs"]
    }
    # moto's CloudFormation stores the key policy as a mapping, which its KMS cannot read: put it as text.
    policy = yaml.safe_load(template)["Resources"]["Key"]["Properties"]["KeyPolicy"]
    policy["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::123456789012:root"
    session.client("kms", endpoint_url=url).put_key_policy(
        KeyId=outputs["KmsKeyArn"], PolicyName="default", Policy=json.dumps(policy)
    )
    iam = session.client("iam", endpoint_url=url)

    def identity_of(role: str) -> dict[str, str]:
        [name] = iam.list_role_policies(RoleName=f"mantissa-log-{role}-iamt")["PolicyNames"]
        document = iam.get_role_policy(RoleName=f"mantissa-log-{role}-iamt", PolicyName=name)["PolicyDocument"]
        iam.create_user(UserName=role)
        if isinstance(document, str):  # moto's CloudFormation keeps the resolved policy as a Python repr
            document = ast.literal_eval(document) if document.startswith("{'") else json.loads(document)
        # moto checks non-S3 actions against the resource "*" only, so a statement scoped to table ARNs
        # never matches there: keep each statement's exact actions, widen its resources for moto. The
        # scoping itself is checked by cfn-lint and checkov (tests/deploy), not here.
        for statement in document["Statement"]:
            statement["Resource"] = "*"
        text = json.dumps(document)
        iam.put_user_policy(UserName=role, PolicyName=name, PolicyDocument=text)
        key: Any = iam.create_access_key(UserName=role)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    env = os.environ | {
        "MANTISSA_HOME": str(tmp_path / "home"),
        "MANTISSA_ENVIRONMENT": "iamt",
        "MANTISSA_STATE_BACKEND": "dynamodb",
        "MANTISSA_DYNAMODB_ENDPOINT_URL": url,
        "MANTISSA_SECRETS_BACKEND": "aws",
        "MANTISSA_SECRETS_ENDPOINT_URL": url,
        "MANTISSA_KMS_KEY_ID": outputs["KmsKey"],
        "MANTISSA_KMS_ENDPOINT_URL": url,
        "MANTISSA_RULE_STORE": "s3",
        "MANTISSA_S3_BUCKET": outputs["Bucket"],
        "MANTISSA_S3_ENDPOINT_URL": url,
        "MANTISSA_AWS_REGION": "us-east-1",
    }
    api, worker = env | identity_of("api"), env | identity_of("worker")
    assert cli(api, "init").returncode != 0  # the API role cannot provision
    created = cli(api, "users", "create", "alice")
    assert created.returncode == 0, created.stderr
    (tmp_path / "r.yml").write_text(rule("Trail stopped"))
    imported = cli(api, "rules", "import", "--user", "alice", str(tmp_path / "r.yml"))
    assert imported.returncode == 0, imported.stderr
    worked = cli(worker, "worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert "outbox:" in worked.stdout

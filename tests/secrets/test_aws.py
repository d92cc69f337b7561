"""AWS Secrets Manager store against a real moto_server; errors never carry the value."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mantissa_log.domain.common import SECRET_REF_RE
from mantissa_log.errors import ConfigError, NotFound, SecretStoreError
from mantissa_log.secrets.aws import AwsSecretsManagerStore


@pytest.fixture
def store(secretsmanager: Any) -> AwsSecretsManagerStore:
    # A prefix per test: the moto server is shared by the whole session.
    return AwsSecretsManagerStore(secretsmanager, f"mantissa-log/t{uuid.uuid4().hex[:8]}")


def test_round_trip(store: AwsSecretsManagerStore, secretsmanager: Any) -> None:
    ref = store.put("user-1", "slack-main", "value-one")
    assert SECRET_REF_RE.match(ref)
    assert ref.startswith("arn:aws:secretsmanager:us-east-1:")
    name = secretsmanager.describe_secret(SecretId=ref)["Name"]
    assert name.startswith(f"{store.prefix}/user-1/slack-main-")
    assert store.get(ref) == "value-one"
    assert store.owner_of(ref) == "user-1"


def test_replace(store: AwsSecretsManagerStore) -> None:
    ref = store.put("user-1", "jira", "first")
    store.replace(ref, "second")
    assert store.get(ref) == "second"


def test_delete_then_not_found(store: AwsSecretsManagerStore) -> None:
    ref = store.put("user-1", "jira", "value")
    store.delete(ref)
    with pytest.raises(NotFound):
        store.get(ref)
    assert not store.exists(ref)
    store.delete(ref)  # deleting again is not an error
    with pytest.raises(NotFound):
        store.replace(ref, "new")


def test_unknown_reference_under_prefix(store: AwsSecretsManagerStore) -> None:
    ref = store.put("user-1", "jira", "value")
    missing = ref.rsplit(":", 1)[0] + f":{store.prefix}/user-1/none-abcdef-XYZ123"
    with pytest.raises(NotFound):
        store.get(missing)


def test_reference_outside_prefix_is_never_read(store: AwsSecretsManagerStore, secretsmanager: Any) -> None:
    foreign = secretsmanager.create_secret(Name=f"other-app/{uuid.uuid4().hex[:8]}", SecretString="not yours")["ARN"]
    with pytest.raises(NotFound):
        store.get(foreign)
    store.delete(foreign)
    assert secretsmanager.get_secret_value(SecretId=foreign)["SecretString"] == "not yours"
    with pytest.raises(NotFound):
        store.get("arn:mantissa-log:vault:local:000000000000:secret:user-1/x-abcdef")


def test_names_are_restricted(store: AwsSecretsManagerStore) -> None:
    with pytest.raises(SecretStoreError):
        store.put("user/1", "x", "value")


def test_bad_prefix(secretsmanager: Any) -> None:
    with pytest.raises(ConfigError):
        AwsSecretsManagerStore(secretsmanager, "bad prefix/")


class FailingClient:
    """Raises the way boto3 does, with the request's value echoed in the AWS message."""

    def __init__(self, code: str) -> None:
        self.code = code

    def _fail(self, **kwargs: Any) -> Any:
        message = f"rejected {kwargs.get('SecretString', '')}"
        raise ClientError({"Error": {"Code": self.code, "Message": message}}, "Op")

    create_secret = put_secret_value = get_secret_value = delete_secret = _fail


REF = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mantissa-log/dev/user-1/x-abcdef-AbCdEf"


def test_client_errors_never_carry_the_value() -> None:
    store = AwsSecretsManagerStore(FailingClient("AccessDeniedException"), "mantissa-log/dev")
    with pytest.raises(SecretStoreError) as info:
        store.put("user-1", "x", "super-secret-value")
    assert "super-secret-value" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert "AccessDeniedException" in str(info.value)
    with pytest.raises(SecretStoreError) as info:
        store.replace(REF, "super-secret-value")
    assert "super-secret-value" not in str(info.value)
    with pytest.raises(SecretStoreError):
        store.delete(REF)


def test_resource_not_found_maps_to_not_found() -> None:
    store = AwsSecretsManagerStore(FailingClient("ResourceNotFoundException"), "mantissa-log/dev")
    with pytest.raises(NotFound):
        store.get(REF)
    store.delete(REF)

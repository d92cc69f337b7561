"""The service container and the HTTP app on a fresh data home, for either state backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.config import Settings
from mantissa_log.services.container import Services
from tests.provisioned import build_provisioned, shared_key_secret


def make_config(
    kind: str, home: Path, environment: str, endpoint: str | None, master_key_secret: str | None = None
) -> Settings:
    """On DynamoDB every host shares state, so the keyring is shared too (Secrets Manager)."""
    shared = kind == "dynamodb"
    return Settings(
        home=home,
        environment=environment,
        state_backend=kind,  # type: ignore[arg-type]
        dynamodb_endpoint_url=endpoint,
        master_key_secret=(master_key_secret or shared_key_secret(environment)) if shared else None,
        secrets_endpoint_url=endpoint if shared else None,
        smtp_from="mantissa-log@company.com",  # the operator's sender domain (the seed's examples use it)
    )


@pytest.fixture
def services(
    backend_kind: str, tmp_path: Path, environment_name: str, request: pytest.FixtureRequest
) -> Iterator[Services]:
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    built = build_provisioned(make_config(backend_kind, tmp_path / "home", environment_name, endpoint))
    yield built
    built.close()


@dataclass
class ApiUser:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def api(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.config, services)) as client:
        yield client


@pytest.fixture
def alice(services: Services) -> ApiUser:
    _, token = services.users.create_user("alice")
    return ApiUser("alice", token)


@pytest.fixture
def bob(services: Services) -> ApiUser:
    _, token = services.users.create_user("bob")
    return ApiUser("bob", token)


@pytest.fixture
def root(services: Services) -> ApiUser:
    _, token = services.users.create_user("root", is_admin=True)
    return ApiUser("root", token)


@pytest.fixture
def shipper(services: Services) -> ApiUser:
    """A log shipper's identity: its tokens can only ingest."""
    _, token = services.users.create_user("shipper", role="ingest")
    return ApiUser("shipper", token)

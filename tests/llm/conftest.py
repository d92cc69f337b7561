"""LLM test fixtures: services that may reach loopback model servers, users, corpus events in the lake."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from mantissa_log.api.app import create_app
from mantissa_log.config import Settings
from mantissa_log.domain.settings import UserSettingsPut
from mantissa_log.lake import parse
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.clock import ManualClock
from tests.lake.conftest import corpus_files
from tests.llm.fakes import MODELS, PROVIDERS, FakeLlm
from tests.provisioned import build_provisioned, shared_key_secret

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
ALICE = Principal("alice")
BOB = Principal("bob")
MakeServices = Callable[..., Services]


@pytest.fixture
def make_services(tmp_path: Path, environment_name: str, request: pytest.FixtureRequest) -> Iterator[MakeServices]:
    """Services on a fresh home; the LLM endpoint is on loopback, so private targets are allowed."""
    built: list[Services] = []

    def make(kind: str = "sqlite", **overrides: Any) -> Services:
        endpoint = request.getfixturevalue("moto_endpoint") if kind == "dynamodb" else None
        values: dict[str, Any] = {
            "home": tmp_path / f"home{len(built)}",
            "environment": environment_name,
            "state_backend": kind,
            "dynamodb_endpoint_url": endpoint,
            "allow_private_targets": True,
            "llm_timeout_seconds": 5.0,
            "llm_max_retry_wait_seconds": 3.0,
        }
        if kind == "dynamodb":  # shared state: a shared keyring, provisioned as an operator does
            values |= {"master_key_secret": shared_key_secret(environment_name), "secrets_endpoint_url": endpoint}
        services = build_provisioned(Settings(**(values | overrides)), ManualClock(T0))
        services.users.create_user("alice")
        services.users.create_user("bob")
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    return make_services()


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(provider: str) -> Iterator[FakeLlm]:
    with FakeLlm(provider).running() as server:
        yield server


def configure(services: Services, who: Principal, fake: FakeLlm, **fields: Any) -> None:
    """The user's settings item pointing at `fake`, with its key stored in the secret store."""
    values: dict[str, Any] = {
        "llm_provider": fake.provider,
        "llm_model": MODELS[fake.provider],
        "llm_base_url": fake.url,
        "api_key": SecretStr(fake.secret),
    }
    services.settings.put(who, UserSettingsPut.model_validate(values | fields))


def corpus_jsonl() -> bytes:
    return b"".join(path.read_bytes().rstrip(b"\n") + b"\n" for path in corpus_files())


def ingest_corpus(services: Services, at: datetime = T0 - timedelta(hours=1)) -> None:
    result = parse("cloudtrail", corpus_jsonl())
    assert not result.rejected
    services.infra.lake.ingest("cloudtrail", result, ingest_time=at)


def corpus_events() -> list[dict[str, Any]]:
    """Each corpus event once (the lake keeps one copy of an event id)."""
    seen: set[str] = set()
    events = []
    for line in corpus_jsonl().decode().splitlines():
        event = json.loads(line)
        if event["eventID"] not in seen:
            seen.add(event["eventID"])
            events.append(event)
    return events


@pytest.fixture
def api(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.config, services)) as client:
        yield client


def token_headers(services: Services, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.users.issue_token(user)}"}

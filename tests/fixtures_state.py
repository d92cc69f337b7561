"""State backends for the contract suite: every contract test runs on SQLite and on DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mantissa_log.state.backend import StateBackend
from mantissa_log.state.sqlite_backend import SqliteBackend
from mantissa_log.state.tables import ALL_TABLES


def make_backend(kind: str, tmp_path: Path, environment: str, endpoint: str | None) -> StateBackend:
    if kind == "sqlite":
        backend: StateBackend = SqliteBackend(tmp_path / "state.db", environment)
    else:
        from mantissa_log.state.dynamodb_backend import DynamoDbBackend

        backend = DynamoDbBackend(environment=environment, endpoint_url=endpoint, region="us-east-1")
    backend.ensure_tables(ALL_TABLES)
    return backend


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(
    backend_kind: str, tmp_path: Path, environment_name: str, request: pytest.FixtureRequest
) -> Iterator[StateBackend]:
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    store = make_backend(backend_kind, tmp_path, environment_name, endpoint)
    yield store
    store.close()

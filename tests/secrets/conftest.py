"""Fixtures for the secrets tests: a keyring, a SQLite state store, moto clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.secrets.aws_clients import make_aws_client
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.state.sqlite_backend import SqliteBackend
from mantissa_log.state.tables import ALL_TABLES


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring(tmp_path / "keys" / "master.key")


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "state.db", "test")
    backend.ensure_tables(ALL_TABLES)
    yield backend
    backend.close()


@pytest.fixture
def kms(moto_endpoint: str) -> Any:
    return make_aws_client("kms", "us-east-1", moto_endpoint)


@pytest.fixture
def kms_key(kms: Any) -> str:
    return str(kms.create_key(Description="mantissa-log test")["KeyMetadata"]["KeyId"])


@pytest.fixture
def secretsmanager(moto_endpoint: str) -> Any:
    return make_aws_client("secretsmanager", "us-east-1", moto_endpoint)

"""Delivery fixtures: services that may reach loopback on a hand-moved clock, a user with a
webhook, a real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.clock import Clock
from mantissa_log.config import Settings
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.clock import ManualClock
from tests.delivery.receiver import Receiver
from tests.provisioned import build_provisioned, shared_key_secret

ALICE = Principal("alice")


def delivery_config(kind: str, home: Path, environment: str, endpoint: str | None, **extra: Any) -> Settings:
    return Settings(
        home=home,
        environment=environment,
        state_backend=kind,  # type: ignore[arg-type]
        dynamodb_endpoint_url=endpoint,
        master_key_secret=shared_key_secret(environment) if kind == "dynamodb" else None,
        secrets_endpoint_url=endpoint if kind == "dynamodb" else None,
        allow_private_targets=True,  # the receivers live on loopback
        delivery_backoff_seconds=0.05,
        delivery_backoff_max_seconds=BACKOFF_CAP,
        delivery_lease_seconds=1.0,
        **extra,
    )


# The longest backoff these tests configure: moving the clock this far makes every retry due.
BACKOFF_CAP = 0.2


def use_clock(services: Services, clock: Clock) -> None:
    """Move already-built delivery services onto another clock (a second worker, later in time)."""
    services.infra.router.clock = clock
    services.infra.outbox.clock = clock
    services.delivery.tester.clock = clock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def dlv(
    tmp_path: Path, environment_name: str, backend_kind: str, request: pytest.FixtureRequest, clock: ManualClock
) -> Iterator[Services]:
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    services = build_provisioned(delivery_config(backend_kind, tmp_path / "home", environment_name, endpoint), clock)
    services.users.create_user("alice")
    services.users.create_user("bob")
    yield services
    services.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def add_webhook(services: Services, integration_id: str, url: str, user: str = "alice", **config: Any) -> None:
    body = INTEGRATION_WRITE_ADAPTER.validate_python(
        {
            "integration_id": integration_id,
            "integration_type": "webhook",
            # One try per attempt unless a test asks for immediate retries: backoff is what these test.
            "config": {"url": url, "headers": {"Authorization": "Bearer ${SECRET}"}, "retry_count": 0, **config},
            "secret": "whsec_0123456789abcdefABCDEF",
        }
    )
    services.integrations.create(Principal(user), body)


@pytest.fixture
def det(dlv: Services) -> Services:
    """The detection fixtures (ingest) work on the delivery services too."""
    return dlv


from tests.detection.conftest import ingest  # noqa: E402,F401 - re-exported fixture

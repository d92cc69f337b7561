"""Detection fixtures: a service container on SQLite, events ingested at chosen ingest times."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.lake import parse
from mantissa_log.services.container import Services
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.identity import Principal
from tests.clock import ManualClock
from tests.fixtures_api import make_config
from tests.provisioned import build_provisioned

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
ALICE = Principal("alice")


@pytest.fixture
def det(tmp_path: Path, environment_name: str, backend_kind: str, request: pytest.FixtureRequest) -> Iterator[Services]:
    """Every detection test runs on both state backends (statistics, leases and alerts live there).

    The clock stands a minute before T0: rules are created then, so events ingested from T0 on are
    theirs (a rule sees what arrives after it exists).
    """
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    config = make_config(backend_kind, tmp_path / "home", environment_name, endpoint)
    services = build_provisioned(config, ManualClock(T0 - timedelta(minutes=1)))
    services.users.create_user("alice")
    yield services
    services.close()


def ct_event(name: str = "ConsoleLogin", *, user: str = "alice", when: datetime = T0, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": name,
        "userIdentity": {"type": "IAMUser", "userName": user, "arn": f"arn:aws:iam::123456789012:user/{user}"},
        "sourceIPAddress": "198.51.100.7",
        "eventID": str(uuid.uuid4()),  # every event is its own (identical copies would be one event)
        **extra,
    }


Ingest = Callable[..., None]


@pytest.fixture
def ingest(det: Services) -> Ingest:
    def _ingest(events: list[dict[str, Any]], at: datetime, source: str = "cloudtrail") -> None:
        data = "\n".join(json.dumps(e) for e in events).encode()
        result = parse(source, data)
        assert not result.rejected, result.rejected
        det.infra.lake.ingest(source, result, ingest_time=at)

    return _ingest


def add_rule(services: Services, name: str, body: str, **fields: Any) -> None:
    services.rules.create(ALICE, RuleWrite(rule_name=name, body=body, **fields), "api")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)

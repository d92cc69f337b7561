"""The Google Workspace Reports collector against a loopback server (JWT-bearer token, newest-first pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from mantissa_log.services.collectors.service import CollectorWrite
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.clock import ManualClock
from tests.collectors.conftest import stored_ids
from tests.collectors.workspaceserver import ADMIN, service_account_key, workspace_server

ROOT = Principal("root", role="admin")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_windows_pages_and_overlap(services: Services) -> None:
    key, public = service_account_key()
    clock = ManualClock(NOW)
    services.collectors.clock = clock
    with workspace_server(public) as server:
        for n in range(7):
            server.add("login", NOW - timedelta(hours=10) + timedelta(minutes=17 * n), f"login-{n}")
        for n in range(3):
            server.add("admin", NOW - timedelta(hours=2) + timedelta(minutes=n), f"admin-{n}")
        config = {
            "delegated_admin": ADMIN,
            "applications": ["login", "admin"],
            "base_url": server.base,
            "token_url": f"{server.base}/token",
            "since": "2026-12-01T12:00:00Z",
            "page_size": 3,
        }
        write = CollectorWrite(kind="google_workspace", config=config, secret=SecretStr(key))
        services.collectors.create(ROOT, "gws", write)
        assert services.collectors.test("gws")[0]

        first = services.collectors.run("gws")
        assert first.error is None
        assert first.accepted == 10
        assert len(stored_ids(services.infra.lake, "google_workspace")) == 10
        assert not any("169.254" in r for r in server.requests)

        # A report that arrives late, timed inside the last hour of the window already read, and a new one.
        server.add("login", NOW - timedelta(minutes=20), "late")
        clock.set(NOW + timedelta(minutes=30))
        server.add("login", NOW + timedelta(minutes=10), "new")
        second = services.collectors.run("gws")
        assert second.error is None
        assert second.accepted == 2  # the late one (overlap) and the new one; nothing stored twice
        assert len(stored_ids(services.infra.lake, "google_workspace")) == 12


def test_a_wrong_key_is_refused_by_the_token_endpoint(services: Services) -> None:
    key, _ = service_account_key()
    _, other_public = service_account_key()
    with workspace_server(other_public) as server:
        config = {"delegated_admin": ADMIN, "base_url": server.base, "token_url": f"{server.base}/token"}
        services.collectors.create(
            ROOT, "gws", CollectorWrite(kind="google_workspace", config=config, secret=SecretStr(key))
        )
        report = services.collectors.run("gws")
        assert report.error is not None
        assert "400" in report.error
        assert "PRIVATE KEY" not in report.error

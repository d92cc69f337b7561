"""The Microsoft 365 Management Activity collector against a loopback server speaking that API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from mantissa_log.services.collectors.service import CollectorWrite
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.clock import ManualClock
from tests.collectors.conftest import stored_ids
from tests.collectors.m365server import TENANT, audit_records, m365_server

ADMIN = Principal("root", role="admin")
SECRET = "app-client-secret-value"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def add(services: Services, base: str, since: str = "2026-11-30T00:00:00Z") -> None:
    config = {
        "tenant_id": TENANT,
        "client_id": "11111111-2222-3333-4444-555555555555",
        "content_types": ["Audit.AzureActiveDirectory", "Audit.Exchange"],
        "base_url": base,
        "login_url": base,
        "since": since,
    }
    services.collectors.create(
        ADMIN, "m365", CollectorWrite(kind="m365", config=config, secret=SECRET and SecretStr(SECRET))
    )


def test_subscriptions_windows_and_blobs(services: Services) -> None:
    services.collectors.clock = ManualClock(NOW)
    with m365_server(SECRET) as server:
        expected = []
        # Blobs over two and a half days: three 24-hour windows, several listing pages each.
        for hours in (1, 5, 9, 13, 30, 31, 32, 50):
            when = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(hours=hours)
            content_type = "Audit.Exchange" if hours % 2 else "Audit.AzureActiveDirectory"
            records = audit_records(3, f"{hours:04d}", when)
            server.add_blob(content_type, when, records)
            expected += [r["Id"] for r in records]
        add(services, server.base)
        ok, message = services.collectors.test("m365")
        assert ok, message
        assert server.enabled == {"Audit.AzureActiveDirectory", "Audit.Exchange"}

        report = services.collectors.run("m365")
        assert report.error is None
        assert report.accepted == 24
        assert stored_ids(services.infra.lake, "m365") == sorted(expected)
        blob_fetches = [r for r in server.requests if r.startswith("GET /blobs/")]
        assert len(blob_fetches) == 8

        # Later: only the new window is listed; old blobs are never fetched again.
        services.collectors.clock = ManualClock(NOW + timedelta(hours=2))
        late = audit_records(2, "late", NOW + timedelta(minutes=30))
        server.add_blob("Audit.Exchange", NOW + timedelta(minutes=30), late)
        again = services.collectors.run("m365")
        assert (again.accepted, again.duplicates) == (2, 0)
        assert len([r for r in server.requests if r.startswith("GET /blobs/")]) == 9
    status = services.collectors.view("m365").status
    assert status.events_total == 26


def test_a_blob_failing_keeps_the_window_and_skips_stored_blobs_next_time(services: Services) -> None:
    services.collectors.clock = ManualClock(NOW)
    services.collectors.sleep = lambda seconds: None
    with m365_server(SECRET) as server:
        for n in range(3):
            when = datetime(2026, 12, 2, 1 + n, tzinfo=UTC)
            server.add_blob("Audit.AzureActiveDirectory", when, audit_records(2, f"f{n}", when))
        add(services, server.base, since="2026-12-02T00:00:00Z")
        server.failing = {"Audit.AzureActiveDirectory-1": 4}  # the 2nd blob fails every attempt of a run
        first = services.collectors.run("m365")
        assert first.error is not None
        assert "500" in first.error
        assert first.accepted == 2
        second = services.collectors.run("m365")
        assert second.error is None
        assert (second.accepted, second.duplicates) == (4, 0)  # the 1st blob is not fetched again
        fetched = [r for r in server.requests if r.startswith("GET /blobs/")]
        assert fetched.count("GET /blobs/Audit.AzureActiveDirectory-0") == 1


def test_a_wrong_client_secret_fails_without_showing_it(services: Services) -> None:
    with m365_server("the-real-secret") as server:
        add(services, server.base)
        report = services.collectors.run("m365")
        assert report.error is not None
        assert "401" in report.error
        assert SECRET not in report.error

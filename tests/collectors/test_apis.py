"""Okta and GitHub collectors against loopback servers speaking their paging and rate limiting."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from mantissa_log.services.collectors.service import CollectorWrite
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.collectors.apiserver import api_server, github_events, okta_events
from tests.collectors.conftest import stored_ids

ADMIN = Principal("root", role="admin")
TOKEN = "00okta-token-value-for-tests"


def add_okta(services: Services, base: str, token: str = TOKEN) -> None:
    config = {"base_url": base, "since": "2026-12-01T00:00:00Z", "page_size": 50}
    services.collectors.create(ADMIN, "okta", CollectorWrite(kind="okta", config=config, secret=SecretStr(token)))


def test_okta_pages_follow_next_links_and_resume_from_the_checkpoint(services: Services) -> None:
    events = okta_events(120)
    with api_server("okta", TOKEN, events) as server:
        add_okta(services, server.base)
        first = services.collectors.run("okta")
        assert first.error is None
        assert (first.batches, first.accepted) == (3, 120)
        assert "since=2026-12-01T00%3A00%3A00Z" in server.requests[0]
        assert stored_ids(services.infra.lake, "okta") == sorted(e["uuid"] for e in events)
        # New events: the next run starts at the stored next link, not from `since`.
        server.events.extend(okta_events(30, "new"))
        seen = len(server.requests)
        second = services.collectors.run("okta")
        assert (second.accepted, second.duplicates) == (30, 0)
        assert server.requests[seen].startswith("/api/v1/logs?after=120")
    status = services.collectors.view("okta").status
    assert status.events_total == 150


def test_okta_waits_out_429_and_exhausted_windows(services: Services) -> None:
    waits: list[float] = []
    services.collectors.sleep = waits.append  # the clock the service waits on (no real sleeping)
    with api_server("okta", TOKEN, okta_events(100)) as server:
        add_okta(services, server.base)
        server.faults = [(429, {"Retry-After": "2"}), (503, {})]
        server.exhausted_once = True
        report = services.collectors.run("okta")
        assert report.error is None
        assert report.accepted == 100
    assert waits[0] == 2.0  # Retry-After
    assert waits[1] == 2.0  # a 5xx: backoff 2^attempt
    assert len(waits) == 3  # then the exhausted window, until X-Rate-Limit-Reset


def test_okta_rate_limit_longer_than_a_run_ends_the_run_and_keeps_the_checkpoint(services: Services) -> None:
    services.collectors.sleep = lambda seconds: None
    with api_server("okta", TOKEN, okta_events(60)) as server:
        add_okta(services, server.base)
        server.faults = [(429, {"Retry-After": "3600"})]
        failed = services.collectors.run("okta")
        assert failed.error is not None
        assert "429" in failed.error
        assert services.collectors.view("okta").status.last_error == failed.error
        again = services.collectors.run("okta")
        assert (again.error, again.accepted) == (None, 60)
        assert services.collectors.view("okta").status.last_error is None


def test_okta_bad_token_is_an_error_without_the_token(services: Services) -> None:
    with api_server("okta", "the-real-token", okta_events(5)) as server:
        add_okta(services, server.base, token=TOKEN)
        report = services.collectors.run("okta")
        assert report.error is not None
        assert "401" in report.error
        assert TOKEN not in report.error
        ok, message = services.collectors.test("okta")
        assert not ok
        assert "401" in message


def test_loopback_is_refused_unless_private_targets_are_allowed(services: Services) -> None:
    services.collectors.allow_private_targets = False
    with api_server("okta", TOKEN, okta_events(5)) as server:
        services.collectors.allow_private_targets = True
        add_okta(services, server.base)
        services.collectors.allow_private_targets = False
        report = services.collectors.run("okta")
        assert report.error is not None
        assert "loopback" in report.error
        assert server.requests == []


def test_github_cursor_pages_then_resumes_by_time(services: Services) -> None:
    events = github_events(250)
    with api_server("github", "ghp_token", events) as server:
        config = {"base_url": server.base, "org": "acme", "since": "2025-12-01T00:00:00Z"}
        write = CollectorWrite(kind="github", config=config, secret=SecretStr("ghp_token"))
        services.collectors.create(ADMIN, "gh", write)
        first = services.collectors.run("gh")
        assert first.error is None
        assert (first.batches, first.accepted) == (3, 250)
        assert server.requests[0].startswith("/orgs/acme/audit-log?phrase=created")
        assert stored_ids(services.infra.lake, "github") == sorted(e["_document_id"] for e in events)
        # No next link on the last page: the next run asks again from the newest event's time.
        server.events = github_events(250) + github_events(10, "more", offset=250)
        second = services.collectors.run("gh")
        assert second.error is None
        assert second.accepted == 10
        assert second.duplicates == 1  # the newest event's own second is asked for again
        assert len(stored_ids(services.infra.lake, "github")) == 260


def test_tick_runs_what_is_due_on_its_own_period(services: Services) -> None:
    from tests.clock import ManualClock

    clock = ManualClock()
    services.collectors.clock = clock
    with api_server("okta", TOKEN, okta_events(10)) as server:
        add_okta(services, server.base)  # every 60 s
        config = {"base_url": server.base, "page_size": 50}
        write = CollectorWrite(kind="okta", config=config, secret=SecretStr(TOKEN), enabled=False)
        services.collectors.create(ADMIN, "off", write)
        assert [r.collector_id for r in services.collectors.tick()] == ["okta"]
        clock.advance(30)
        assert services.collectors.tick() == []  # not due yet
        clock.advance(31)
        assert [r.collector_id for r in services.collectors.tick()] == ["okta"]
        assert services.collectors.view("okta").status.next_run is not None
        assert services.collectors.view("off").status.next_run is None


def test_rate_limit_notes_reach_the_status_and_events_per_hour_stay_bounded(services: Services) -> None:
    from tests.clock import ManualClock

    # Time stands still at the test's start: every batch falls in one minute's bucket whenever the test
    # runs (at real time, two runs could straddle a minute), and the window's 30 s stay longer than a
    # run may wait (with a 1 s window, a stall of the loaded machine let the run wait it out instead).
    services.collectors.clock = ManualClock(datetime.now(UTC))
    services.collectors.max_wait_seconds = 5.0
    with api_server("okta", TOKEN, okta_events(120)) as server:
        add_okta(services, server.base)
        server.exhausted_once = True
        server.exhausted_seconds = 30
        report = services.collectors.run("okta")
        assert report.error is None
        assert report.accepted == 50  # the first page, then the run stops for the rate limit
        view = services.collectors.view("okta").status
        assert view.last_note is not None
        assert "rate limit" in view.last_note
        again = services.collectors.run("okta")
        assert again.accepted == 70
        assert services.collectors.view("okta").status.last_note is None
    state = services.infra.repos.collectors.state("okta")
    assert len(state.recent) == 1  # one minute's bucket for all the batches of that minute
    assert services.collectors.view("okta").status.events_per_hour == 120


def test_due_collectors_run_side_by_side(services: Services) -> None:
    with api_server("okta", TOKEN, okta_events(30)) as okta, api_server("github", "ghp", []) as github:
        add_okta(services, okta.base)
        config = {"base_url": github.base, "org": "acme", "since": "2025-12-01T00:00:00Z"}
        services.collectors.create(ADMIN, "gh", CollectorWrite(kind="github", config=config, secret=SecretStr("ghp")))
        reports = {r.collector_id: r for r in services.collectors.tick()}
        assert set(reports) == {"gh", "okta"}
        assert (reports["okta"].accepted, reports["okta"].error, reports["gh"].error) == (30, None, None)

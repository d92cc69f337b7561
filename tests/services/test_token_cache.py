"""Authenticated tokens are remembered briefly; revocation through the process takes effect at
once, from another process within TOKEN_CACHE_SECONDS, and no token outlives its own expiry."""

from __future__ import annotations

from pathlib import Path

import pytest

from mantissa_log.errors import Unauthenticated
from mantissa_log.services.container import build_services
from mantissa_log.services.users import TOKEN_CACHE_SECONDS
from tests.clock import ManualClock
from tests.fixtures_api import make_config


def test_revocation_here_is_immediate_and_elsewhere_bounded(tmp_path: Path, environment_name: str) -> None:
    clock = ManualClock()
    config = make_config("sqlite", tmp_path / "home", environment_name, None)
    server = build_services(config, clock)
    other = build_services(config, clock)  # another process on the same store (e.g. the CLI)
    try:
        _, token = server.users.create_user("alice")
        assert server.users.authenticate(token).user_id == "alice"
        server.users.revoke_tokens("alice")
        with pytest.raises(Unauthenticated):
            server.users.authenticate(token)  # revoked through this process: at once

        token = server.users.issue_token("alice")
        assert server.users.authenticate(token).user_id == "alice"  # now remembered
        other.users.revoke_tokens("alice")
        assert server.users.authenticate(token).user_id == "alice"  # within the bound: still known
        clock.advance(TOKEN_CACHE_SECONDS + 0.1)
        with pytest.raises(Unauthenticated):
            server.users.authenticate(token)
    finally:
        other.close()
        server.close()


def test_a_remembered_token_still_expires_on_time(tmp_path: Path, environment_name: str) -> None:
    clock = ManualClock()
    services = build_services(make_config("sqlite", tmp_path / "home", environment_name, None), clock)
    try:
        services.users.create_user("alice")
        token = services.users.issue_token("alice", ttl_seconds=2)
        assert services.users.authenticate(token).user_id == "alice"
        clock.advance(2)
        with pytest.raises(Unauthenticated):
            services.users.authenticate(token)
    finally:
        services.close()


def test_remembered_answers_only_tokens_this_process_knows(tmp_path: Path, environment_name: str) -> None:
    """The edge's lookup on the event loop: a known token without a store read, never a refusal."""
    clock = ManualClock()
    services = build_services(make_config("sqlite", tmp_path / "home", environment_name, None), clock)
    try:
        _, token = services.users.create_user("alice")
        assert services.users.remembered(token) is None  # not authenticated yet: ask the store
        assert services.users.remembered("not-a-token") is None
        services.users.authenticate(token, "10.0.0.1")
        known = services.users.remembered(token, "10.0.0.2")
        assert known is not None
        assert (known.user_id, known.role, known.client) == ("alice", "analyst", "10.0.0.2")
        services.users.revoke_tokens("alice")
        assert services.users.remembered(token) is None  # revoked here: forgotten at once
        token = services.users.issue_token("alice")
        services.users.authenticate(token)
        clock.advance(TOKEN_CACHE_SECONDS + 0.1)
        assert services.users.remembered(token) is None  # past the bound: the store decides again
    finally:
        services.close()

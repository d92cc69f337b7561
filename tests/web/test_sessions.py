"""Web sessions on both backends: opened by a valid token, ended by logout, expiry or revoking the token."""

from __future__ import annotations

import pytest

from mantissa_log.errors import Unauthenticated
from mantissa_log.services.container import Services
from mantissa_log.services.sessions import SESSION_SECONDS
from mantissa_log.services.users import hash_token, token_id_of
from mantissa_log.state.tables import WEB_SESSIONS


def test_session_lifecycle(services: Services) -> None:
    _, token = services.users.create_user("alice")
    cookie, session = services.sessions.login(token, "127.0.0.1")
    assert cookie.startswith("mls_")
    assert session.principal.user_id == "alice"
    # Only the hash of the cookie is stored, and nothing of the API token but its hash.
    stored = [item for item in services.infra.backend.scan(WEB_SESSIONS)]
    assert len(stored) == 1
    assert cookie not in str(stored)
    assert token not in str(stored)
    again = services.sessions.resolve(cookie)
    assert again.principal.user_id == "alice"
    assert again.csrf_token == session.csrf_token
    assert again.csrf_matches(session.csrf_token)
    assert not again.csrf_matches("")
    assert not again.csrf_matches("x")

    services.sessions.flash(again, "success", "saved")
    shown = services.sessions.resolve(cookie)
    assert [f.text for f in services.sessions.take_flash(shown)] == ["saved"]
    assert services.sessions.resolve(cookie).flash == ()

    services.sessions.logout(again)
    with pytest.raises(Unauthenticated):
        services.sessions.resolve(cookie)


def test_bad_tokens_and_cookies_open_nothing(services: Services) -> None:
    with pytest.raises(Unauthenticated):
        services.sessions.login("mlt_not-a-token")
    for cookie in (None, "", "mls_unknown", "not-ours", "mls_" + "x" * 300):
        with pytest.raises(Unauthenticated):
            services.sessions.resolve(cookie)


def test_revoking_the_token_ends_its_sessions(services: Services) -> None:
    _, token = services.users.create_user("alice")
    other = services.users.issue_token("alice")
    cookie, _ = services.sessions.login(token)
    kept, _ = services.sessions.login(other)
    first = next(t for t in services.users.tokens_of("alice") if t.token_hash == hash_token(token))
    services.users.revoke_token("alice", token_id_of(first))
    with pytest.raises(Unauthenticated):
        services.sessions.resolve(cookie)
    assert services.sessions.resolve(kept).principal.user_id == "alice"


def test_sessions_expire(services: Services) -> None:
    _, token = services.users.create_user("alice")
    cookie, session = services.sessions.login(token)
    item = services.infra.backend.get(WEB_SESSIONS, {"session_hash": session.session_hash})
    assert item is not None
    assert item["ttl"] - SESSION_SECONDS <= services.clock.now().timestamp() + 1
    services.infra.backend.put(WEB_SESSIONS, item | {"ttl": int(services.clock.now().timestamp()) - 1})
    with pytest.raises(Unauthenticated):
        services.sessions.resolve(cookie)

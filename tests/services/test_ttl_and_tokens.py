"""TTL: expired items are invisible at once and purged later; an expired API token stops working."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from mantissa_log.clock import epoch_seconds, now_iso
from mantissa_log.domain.users import ApiToken
from mantissa_log.services.container import Services
from mantissa_log.services.users import hash_token
from mantissa_log.state.tables import API_TOKENS


def test_expired_token_is_refused_and_purged(api: TestClient, services: Services, backend_kind: str) -> None:
    services.users.create_user("carol")
    live = services.users.issue_token("carol", ttl_seconds=3600)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {live}"}).status_code == 200

    expired = "mlt_expired-token-for-carol-0123456789abcdef"
    services.infra.repos.users.add_token(
        ApiToken(token_hash=hash_token(expired), user_id="carol", created_at=now_iso(), ttl=epoch_seconds() - 5)
    )
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert services.infra.backend.get(API_TOKENS, {"token_hash": hash_token(expired)}) is None
    assert hash_token(expired) not in {i["token_hash"] for i in services.infra.backend.scan(API_TOKENS)}

    removed = services.infra.backend.purge_expired(API_TOKENS, epoch_seconds())
    assert removed == 1
    if backend_kind == "sqlite":
        # Gone from the file itself, not just hidden.
        with sqlite3.connect(services.config.state_path) as conn:
            rows = conn.execute(
                f'SELECT count(*) FROM "{API_TOKENS.physical_name(services.config.environment)}" WHERE hk = ?',  # noqa: S608 - our own table name
                (hash_token(expired),),
            ).fetchone()
        assert rows[0] == 0
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {live}"}).status_code == 200


def test_revoked_tokens_stop_working(api: TestClient, services: Services) -> None:
    _, token = services.users.create_user("dave")
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert services.users.revoke_tokens("dave") == 1
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_the_hash_of_a_token_is_stored(services: Services) -> None:
    _, token = services.users.create_user("erin")
    stored = list(services.infra.backend.scan(API_TOKENS))
    assert [t["token_hash"] for t in stored] == [hash_token(token)]
    assert token not in str(stored)


@pytest.mark.parametrize("bad", ["", "has space", "../x", "a" * 200])
def test_bad_user_names_are_refused(services: Services, bad: str) -> None:
    from mantissa_log.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        services.users.create_user(bad)
    assert info.value.field == "user_id"

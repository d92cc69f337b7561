"""A restore brings data back, never credentials: revoked tokens stay revoked, the audit chain goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.errors import Unauthenticated
from mantissa_log.services.container import Services
from mantissa_log.state.tables import API_TOKENS
from tests.fixtures_api import ApiUser, make_config
from tests.provisioned import build_provisioned


def test_a_token_revoked_after_the_backup_stays_revoked(
    api: TestClient, alice: ApiUser, root: ApiUser, services: Services, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar.gz"
    services.admin.backup(archive)
    services.users.revoke_tokens("alice")  # e.g. the token leaked
    fresh = services.users.issue_token("alice")
    services.admin.restore(archive)
    with pytest.raises(Unauthenticated):
        services.users.authenticate(alice.token)
    assert api.get("/api/v1/me", headers=alice.headers).status_code == 401
    assert services.users.authenticate(fresh).user_id == "alice"  # issued since: still valid
    assert services.users.authenticate(root.token).user_id == "root"


def test_backups_hold_no_tokens(services: Services, alice: ApiUser, tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "backup.tar.gz"
    services.admin.backup(archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "tables/api-tokens.jsonl" not in names
    assert list(services.infra.backend.scan(API_TOKENS))  # the installation still has them


def test_audit_records_after_the_backup_survive_the_restore(
    api: TestClient, alice: ApiUser, services: Services, tmp_path: Path
) -> None:
    api.get("/api/v1/me", headers=alice.headers)
    archive = tmp_path / "backup.tar.gz"
    services.admin.backup(archive)
    for _ in range(3):
        api.get("/api/v1/settings", headers=alice.headers)
    before = services.audit.head()
    assert before is not None
    services.admin.restore(archive)
    services.audit.record(actor="cli", action="restore", target=str(archive))
    after = services.audit.head()
    assert after is not None
    assert after.seq == before.seq + 1
    assert [r.action for r in services.audit.newest(limit=5).items][:4] == ["restore", *["settings.read"] * 3]
    assert services.audit.verify().ok


def test_restoring_into_a_fresh_installation_issues_an_admin_token(
    services: Services, root: ApiUser, alice: ApiUser, backend_kind: str, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar.gz"
    services.admin.backup(archive)
    services.infra.keyring.active_id()  # the master key file exists from first use on
    other_home = tmp_path / "other"
    (other_home / "keys").mkdir(parents=True)
    if backend_kind == "sqlite":  # on DynamoDB the keyring is already shared (Secrets Manager)
        (other_home / "keys" / "master.key").write_bytes(services.config.master_key_path.read_bytes())
        (other_home / "keys" / "master.key").chmod(0o600)
    environment = services.config.environment + "f"
    endpoint = services.config.dynamodb_endpoint_url
    config = make_config(backend_kind, other_home, environment, endpoint, services.config.master_key_secret)
    other = build_provisioned(config)
    try:
        result = other.admin.restore(archive)
        assert result.summary.users_added == ["alice", "root"]
        assert result.admin_user == "root"
        assert result.admin_token is not None
        assert other.users.authenticate(result.admin_token).is_admin
        for old in (root.token, alice.token):
            with pytest.raises(Unauthenticated):
                other.users.authenticate(old)
        again = other.admin.restore(archive)  # the admin has a token now: none issued
        assert again.admin_token is None
    finally:
        other.close()

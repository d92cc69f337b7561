"""The local vault: round trips, references, ciphertext-only storage, tampering, rotation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mantissa_log.domain.common import SECRET_REF_RE
from mantissa_log.errors import NotFound, SecretStoreError
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.secrets.vault import LocalVault
from mantissa_log.state.repositories.vault import VaultRepository
from mantissa_log.state.sqlite_backend import SqliteBackend
from mantissa_log.state.tables import VAULT_SECRETS

REF = re.compile(r"^arn:mantissa-log:vault:local:000000000000:secret:user-1/slack-main-[A-Za-z0-9]{6}$")
# Distinctive values so a byte search of the database cannot hit by accident.
SECRETS = [
    "https://hooks.slack.com/services/T0001/B0001/" + "Zq9xWv3Lm7Pk2Rt8",
    "sk-ant-api03-" + "Q7wE9rT1yU3iO5pA2sD4fG6hJ8kL0zX",
    "pagerduty-" + "R0u7iNgK3y9a8b7c6d5e4f3a2b1c0d9e",
    "smtp-password-" + "üñíçødé-✓",
]


@pytest.fixture
def vault(sqlite_backend: SqliteBackend, keyring: Keyring) -> LocalVault:
    return LocalVault(VaultRepository(sqlite_backend), keyring)


def test_round_trip_and_reference_shape(vault: LocalVault) -> None:
    ref = vault.put("user-1", "slack-main", SECRETS[0])
    assert REF.match(ref)
    assert SECRET_REF_RE.match(ref)
    assert vault.get(ref) == SECRETS[0]
    assert vault.exists(ref)
    assert vault.owner_of(ref) == "user-1"


def test_each_put_gets_a_new_reference(vault: LocalVault) -> None:
    refs = {vault.put("user-1", "slack-main", "value-1") for _ in range(20)}
    assert len(refs) == 20


def test_entry_holds_ciphertext_only(vault: LocalVault, sqlite_backend: SqliteBackend) -> None:
    ref = vault.put("user-1", "slack-main", SECRETS[1])
    item = sqlite_backend.get(VAULT_SECRETS, {"secret_id": ref})
    assert item is not None
    assert set(item) == {"secret_id", "owner", "name", "kid", "nonce", "ciphertext", "created_at", "updated_at"}
    assert item["owner"] == "user-1"
    assert item["name"] == "slack-main"
    assert item["kid"] == vault.keyring.active_id()
    assert SECRETS[1] not in repr(item)


def test_replace_keeps_reference(vault: LocalVault, sqlite_backend: SqliteBackend) -> None:
    ref = vault.put("user-1", "jira", "first-value")
    created = sqlite_backend.get(VAULT_SECRETS, {"secret_id": ref})
    vault.replace(ref, "second-value")
    assert vault.get(ref) == "second-value"
    after = sqlite_backend.get(VAULT_SECRETS, {"secret_id": ref})
    assert created is not None
    assert after is not None
    assert after["created_at"] == created["created_at"]
    assert after["nonce"] != created["nonce"]


def test_delete_then_not_found(vault: LocalVault) -> None:
    ref = vault.put("user-1", "jira", "value")
    vault.delete(ref)
    with pytest.raises(NotFound):
        vault.get(ref)
    assert not vault.exists(ref)
    vault.delete(ref)  # deleting again is not an error
    with pytest.raises(NotFound):
        vault.replace(ref, "new")


@pytest.mark.parametrize(
    "ref",
    [
        "arn:mantissa-log:vault:local:000000000000:secret:user-1/none-abcdef",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:user-123-jira-api-token",
        "not-a-reference",
        "",
    ],
)
def test_unknown_reference_is_not_found(vault: LocalVault, ref: str) -> None:
    with pytest.raises(NotFound):
        vault.get(ref)
    with pytest.raises(NotFound):
        vault.replace(ref, "value")
    vault.delete(ref)


@pytest.mark.parametrize(("owner", "name"), [("user/1", "x"), ("user 1", "x"), ("", "x"), ("u", "a:b"), ("u", "")])
def test_owner_and_name_are_restricted(vault: LocalVault, owner: str, name: str) -> None:
    with pytest.raises(SecretStoreError, match="A-Z a-z 0-9"):
        vault.put(owner, name, "value")


def test_empty_value_is_refused(vault: LocalVault) -> None:
    with pytest.raises(SecretStoreError):
        vault.put("user-1", "x", "")


def test_database_files_contain_no_plaintext(vault: LocalVault, sqlite_backend: SqliteBackend, tmp_path: Path) -> None:
    refs = [vault.put("user-1", f"s{i}", value) for i, value in enumerate(SECRETS)]
    vault.replace(refs[0], SECRETS[0] + "-v2")
    # Read while the WAL still holds the writes, then again after a checkpoint.
    for checkpoint in (False, True):
        if checkpoint:
            sqlite_backend.close()
        files = [p for p in tmp_path.iterdir() if p.name.startswith("state.db")]
        assert any(p.name == "state.db" for p in files)
        dump = b"".join(p.read_bytes() for p in files)
        for value in [*SECRETS, SECRETS[0] + "-v2"]:
            assert value.encode() not in dump
            assert value.encode("utf-16-le") not in dump
    reopened = SqliteBackend(tmp_path / "state.db", "test")
    try:
        fresh = LocalVault(VaultRepository(reopened), vault.keyring)
        assert [fresh.get(ref) for ref in refs[1:]] == SECRETS[1:]
    finally:
        reopened.close()


def test_tampered_ciphertext_is_refused(vault: LocalVault, sqlite_backend: SqliteBackend) -> None:
    ref = vault.put("user-1", "jira", "token-value-123")
    item = sqlite_backend.get(VAULT_SECRETS, {"secret_id": ref})
    assert item is not None
    raw = bytearray(item["ciphertext"].encode())
    raw[2] = ord("A") if raw[2] != ord("A") else ord("B")
    sqlite_backend.put(VAULT_SECRETS, {**item, "ciphertext": raw.decode()})
    with pytest.raises(SecretStoreError, match="failed authentication") as info:
        vault.get(ref)
    assert "token-value-123" not in str(info.value)


def test_entry_moved_to_another_reference_is_refused(vault: LocalVault, sqlite_backend: SqliteBackend) -> None:
    mine = vault.put("user-1", "jira", "mine")
    theirs = vault.put("user-2", "jira", "theirs")
    item = sqlite_backend.get(VAULT_SECRETS, {"secret_id": theirs})
    assert item is not None
    sqlite_backend.put(VAULT_SECRETS, {**item, "secret_id": mine})
    with pytest.raises(SecretStoreError):
        vault.get(mine)


def test_rotation_rewrap_and_retire(vault: LocalVault, keyring: Keyring) -> None:
    refs = {vault.put("user-1", f"s{i}", value): value for i, value in enumerate(SECRETS)}
    old = keyring.active_id()
    new = keyring.add_key()
    assert all(vault.get(ref) == value for ref, value in refs.items())  # old key still readable
    fresh = vault.put("user-1", "after-rotation", "fresh-value")  # already under the new key
    assert vault.rewrap_all() == len(SECRETS)
    assert vault.rewrap_all() == 0
    keyring.retire(old)
    assert keyring.key_ids() == [new]
    assert all(vault.get(ref) == value for ref, value in refs.items())
    assert vault.get(fresh) == "fresh-value"


def test_retiring_without_rewrap_makes_entries_unreadable(vault: LocalVault, keyring: Keyring) -> None:
    ref = vault.put("user-1", "jira", "value")
    old = keyring.active_id()
    keyring.add_key()
    keyring.retire(old)
    with pytest.raises(SecretStoreError, match=f"key {old} not in keyring"):
        vault.get(ref)

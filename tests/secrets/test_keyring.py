"""The master key file: created private, refused when loose or malformed, rotated atomically."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path

import pytest

from mantissa_log.errors import SecretStoreError
from mantissa_log.secrets.keyring import Keyring

KEY_ID = re.compile(r"^k-[0-9a-f]{12}$")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_0600_file_even_with_umask_0(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    old = os.umask(0)
    try:
        key_id = Keyring(path).active_id()
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    doc = json.loads(path.read_text())
    assert doc["active"] == key_id
    assert KEY_ID.match(key_id)
    assert len(base64.b64decode(doc["keys"][key_id])) == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_existing_file_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    first = Keyring(path)
    second = Keyring(path)
    assert first.active_id() == second.active_id()
    assert first.key(first.active_id()) == second.key(second.active_id())


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o660, 0o644])
def test_group_or_other_readable_file_is_refused(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "master.key"
    Keyring(path).active_id()
    os.chmod(path, loose)
    with pytest.raises(SecretStoreError, match="chmod 600"):
        Keyring(path).active_id()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"keys": {}}',
        '{"active": "k-000000000000", "keys": {}}',
        '{"active": "k-000000000000", "keys": {"k-000000000000": "c2hvcnQ="}}',
        '{"active": "bad", "keys": {"bad": "' + base64.b64encode(bytes(32)).decode() + '"}}',
        '{"active": "k-000000000000", "keys": {"k-000000000000": "%%%"}}',
    ],
)
def test_malformed_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "master.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(SecretStoreError, match="malformed"):
        Keyring(path).active_id()


def test_add_key_rotates_and_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    ring = Keyring(path)
    old = ring.active_id()
    old_key = ring.key(old)
    new = ring.add_key()
    assert new != old
    assert KEY_ID.match(new)
    assert ring.active_id() == new
    assert ring.key(old) == old_key
    assert sorted(ring.key_ids()) == sorted([old, new])
    assert mode(path) == 0o600
    # Another instance (another process) sees the rotation.
    assert Keyring(path).active_id() == new


def test_retire(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "master.key")
    old = ring.active_id()
    with pytest.raises(SecretStoreError, match="active key"):
        ring.retire(old)
    ring.add_key()
    ring.retire(old)
    with pytest.raises(SecretStoreError, match=f"key {old} not in keyring"):
        ring.key(old)
    with pytest.raises(SecretStoreError, match="not in keyring"):
        ring.retire(old)
    assert mode(tmp_path / "master.key") == 0o600


def test_unknown_key_id(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError, match=r"key k-ffffffffffff not in keyring"):
        Keyring(tmp_path / "master.key").key("k-ffffffffffff")


def test_errors_never_show_key_material(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    active = Keyring(path).active_id()
    encoded = json.loads(path.read_text())["keys"][active]
    os.chmod(path, 0o644)
    with pytest.raises(SecretStoreError) as info:
        Keyring(path).active_id()
    assert encoded not in str(info.value)

"""Envelope encryption: local and KMS wrappers, AAD binding, tampering, re-wrapping."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mantissa_log.errors import SecretStoreError
from mantissa_log.secrets.envelope import (
    EnvelopeCipher,
    KmsKeyWrapper,
    LocalKeyWrapper,
    is_envelope,
)
from mantissa_log.secrets.keyring import Keyring

CONFIG = {"channel": "#security-alerts", "nested": {"list": [1, 2.5, True, None]}, "ü": "✓"}
AAD = "integration:user-1:slack-main"


@pytest.fixture
def cipher(keyring: Keyring) -> EnvelopeCipher:
    return EnvelopeCipher(LocalKeyWrapper(keyring))


def flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_round_trip_and_shape(cipher: EnvelopeCipher, keyring: Keyring) -> None:
    env = cipher.encrypt_json(CONFIG, AAD)
    assert set(env) == {"v", "alg", "kid", "wk", "n", "ct"}
    assert env["v"] == "1"
    assert env["alg"] == "AES-256-GCM"
    assert env["kid"] == keyring.active_id()
    assert all(isinstance(v, str) for v in env.values())
    assert len(base64.b64decode(env["n"])) == 12
    assert "security-alerts" not in repr(env)
    assert cipher.decrypt_json(env, AAD) == CONFIG
    assert is_envelope(env)
    assert cipher.is_envelope(env)


def test_fresh_data_key_per_call(cipher: EnvelopeCipher) -> None:
    first, second = cipher.encrypt_json(CONFIG, AAD), cipher.encrypt_json(CONFIG, AAD)
    assert first["wk"] != second["wk"]
    assert first["ct"] != second["ct"]
    assert first["n"] != second["n"]


NOT_STRINGS = dict.fromkeys(["v", "alg", "kid", "wk", "n", "ct"], 1)


@pytest.mark.parametrize("value", [None, "text", {"v": "1"}, [], NOT_STRINGS])
def test_is_envelope_negatives(value: Any) -> None:
    assert not is_envelope(value)


def test_wrong_aad_fails(cipher: EnvelopeCipher) -> None:
    env = cipher.encrypt_json(CONFIG, AAD)
    with pytest.raises(SecretStoreError, match="failed authentication"):
        cipher.decrypt_json(env, "integration:user-2:slack-main")


@pytest.mark.parametrize("field", ["ct", "n", "wk"])
def test_tampering_fails(cipher: EnvelopeCipher, field: str) -> None:
    env = cipher.encrypt_json(CONFIG, AAD)
    with pytest.raises(SecretStoreError):
        cipher.decrypt_json({**env, field: flip(env[field])}, AAD)


def test_swapped_wrapped_key_fails(cipher: EnvelopeCipher) -> None:
    one, other = cipher.encrypt_json(CONFIG, AAD), cipher.encrypt_json(CONFIG, AAD)
    with pytest.raises(SecretStoreError):
        cipher.decrypt_json({**one, "wk": other["wk"]}, AAD)


@pytest.mark.parametrize(
    "change",
    [{"v": "2"}, {"alg": "ROT13"}, {"ct": "***"}, {"kid": "k-ffffffffffff"}],
)
def test_malformed_or_unknown_key(cipher: EnvelopeCipher, change: dict[str, str]) -> None:
    env = cipher.encrypt_json(CONFIG, AAD)
    with pytest.raises(SecretStoreError):
        cipher.decrypt_json({**env, **change}, AAD)


def test_not_an_envelope(cipher: EnvelopeCipher) -> None:
    with pytest.raises(SecretStoreError, match="not a valid envelope"):
        cipher.decrypt_json({"channel": "#x"}, AAD)


def test_rewrap_after_rotation(cipher: EnvelopeCipher, keyring: Keyring) -> None:
    env = cipher.encrypt_json(CONFIG, AAD)
    old = keyring.active_id()
    new = keyring.add_key()
    assert cipher.needs_rewrap(env)
    moved = cipher.rewrap(env)
    assert moved["kid"] == new
    assert moved["ct"] == env["ct"]
    assert moved["n"] == env["n"]
    assert not cipher.needs_rewrap(moved)
    keyring.retire(old)
    assert cipher.decrypt_json(moved, AAD) == CONFIG
    with pytest.raises(SecretStoreError, match="not in keyring"):
        cipher.decrypt_json(env, AAD)


# -- KMS (real moto_server) ----------------------------------------------------------------
def test_kms_round_trip_records_key(kms: Any, kms_key: str) -> None:
    wrapper = KmsKeyWrapper(kms, kms_key)
    cipher = EnvelopeCipher(wrapper)
    env = cipher.encrypt_json(CONFIG, AAD)
    assert kms_key in env["kid"]
    assert env["kid"] == wrapper.active_id()
    assert cipher.decrypt_json(env, AAD) == CONFIG
    with pytest.raises(SecretStoreError):
        cipher.decrypt_json(env, "integration:user-1:other")


def test_kms_rewrap_to_another_key(kms: Any, kms_key: str) -> None:
    env = EnvelopeCipher(KmsKeyWrapper(kms, kms_key)).encrypt_json(CONFIG, AAD)
    second = str(kms.create_key()["KeyMetadata"]["KeyId"])
    cipher = EnvelopeCipher(KmsKeyWrapper(kms, second))
    assert cipher.needs_rewrap(env)
    moved = cipher.rewrap(env)
    assert second in moved["kid"]
    assert moved["ct"] == env["ct"]
    assert cipher.decrypt_json(moved, AAD) == CONFIG


def test_kms_tampered_wrapped_key(kms: Any, kms_key: str) -> None:
    cipher = EnvelopeCipher(KmsKeyWrapper(kms, kms_key))
    env = cipher.encrypt_json(CONFIG, AAD)
    with pytest.raises(SecretStoreError, match="KMS Decrypt"):
        cipher.decrypt_json({**env, "wk": flip(env["wk"])}, AAD)


def test_kms_unknown_key(kms: Any) -> None:
    wrapper = KmsKeyWrapper(kms, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(SecretStoreError, match="KMS Encrypt"):
        EnvelopeCipher(wrapper).encrypt_json(CONFIG, AAD)

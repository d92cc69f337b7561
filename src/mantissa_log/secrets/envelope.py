"""Envelope encryption for documents stored in the state store (e.g. integration `config`).

Each call draws a fresh 32-byte data key, encrypts the JSON with it (AES-256-GCM), and stores the
data key wrapped by the master key (local keyring) or by KMS. Rotation then only re-wraps the
small data key; the ciphertext of the document never changes.

The caller's `aad` (e.g. "integration:user-1:slack-main") is authenticated with the ciphertext,
so an envelope copied onto another row fails to decrypt instead of leaking into it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mantissa_log.errors import SecretStoreError
from mantissa_log.secrets.keyring import Keyring

VERSION = "1"
ALGORITHM = "AES-256-GCM"
ENVELOPE_FIELDS = frozenset({"v", "alg", "kid", "wk", "n", "ct"})
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
# KMS binds the wrapped data key to this context; a blob wrapped for another purpose won't open.
KMS_CONTEXT = {"purpose": "mantissa-log-data-key"}


class KeyWrapper(ABC):
    """Wraps and unwraps data keys with a master key that never leaves its home."""

    @abstractmethod
    def active_id(self) -> str:
        """The id of the key that `wrap` uses now."""

    @abstractmethod
    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """(key id, wrapped data key)."""

    @abstractmethod
    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """The data key. Raises SecretStoreError for an unknown key or a damaged blob."""


class LocalKeyWrapper(KeyWrapper):
    """AES-256-GCM under the keyring's master key; output is nonce || ciphertext+tag."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def active_id(self) -> str:
        return self.keyring.active_id()

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        key_id = self.keyring.active_id()
        nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(self.keyring.key(key_id)).encrypt(nonce, data_key, _wrap_aad(key_id))
        return key_id, nonce + wrapped

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        master = self.keyring.key(key_id)
        try:
            return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(key_id))
        except (InvalidTag, ValueError):
            raise SecretStoreError(f"wrapped data key under {key_id} failed authentication") from None


class KmsKeyWrapper(KeyWrapper):
    """KMS Encrypt/Decrypt; the key ARN KMS reports is recorded so an alias can move later."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self.kms = kms_client
        self.key_id = key_id
        self._arn: str | None = None

    def active_id(self) -> str:
        if self._arn is None:
            with _kms_errors("DescribeKey", self.key_id):
                meta = self.kms.describe_key(KeyId=self.key_id)
            self._arn = str(meta["KeyMetadata"]["Arn"])
        return self._arn

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        with _kms_errors("Encrypt", self.key_id):
            out = self.kms.encrypt(KeyId=self.key_id, Plaintext=data_key, EncryptionContext=KMS_CONTEXT)
        return str(out["KeyId"]), bytes(out["CiphertextBlob"])

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        with _kms_errors("Decrypt", key_id):
            out = self.kms.decrypt(KeyId=key_id, CiphertextBlob=wrapped, EncryptionContext=KMS_CONTEXT)
        return bytes(out["Plaintext"])


@contextmanager
def _kms_errors(operation: str, key_id: str) -> Iterator[None]:
    """KMS failures as SecretStoreError; only the error code is kept (no request payloads)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretStoreError(f"KMS {operation} with key {key_id} failed: {code}") from None
    except BotoCoreError as exc:
        raise SecretStoreError(f"KMS {operation} with key {key_id} failed: {type(exc).__name__}") from None


def is_envelope(value: Any) -> bool:
    """True for a dict shaped like `encrypt_json`'s output (plain configs never are)."""
    return (
        isinstance(value, dict)
        and set(value) == ENVELOPE_FIELDS
        and all(isinstance(part, str) for part in value.values())
    )


class EnvelopeCipher:
    """JSON in, `{"v","alg","kid","wk","n","ct"}` out; every field is a string (both backends)."""

    is_envelope = staticmethod(is_envelope)

    def __init__(self, wrapper: KeyWrapper) -> None:
        self.wrapper = wrapper

    def encrypt_json(self, value: Any, aad: str) -> dict[str, str]:
        plain = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plain, _data_aad(aad))
        key_id, wrapped = self.wrapper.wrap(data_key)
        return {
            "v": VERSION,
            "alg": ALGORITHM,
            "kid": key_id,
            "wk": _b64(wrapped),
            "n": _b64(nonce),
            "ct": _b64(ciphertext),
        }

    def decrypt_json(self, envelope: Any, aad: str) -> Any:
        key_id, wrapped, nonce, ciphertext = _parts(envelope, aad)
        data_key = self.wrapper.unwrap(key_id, wrapped)
        try:
            plain = AESGCM(data_key).decrypt(nonce, ciphertext, _data_aad(aad))
        except (InvalidTag, ValueError):
            raise SecretStoreError(
                f"encrypted data for {aad} failed authentication (tampered, or belongs to another item)"
            ) from None
        return json.loads(plain)

    def needs_rewrap(self, envelope: dict[str, str]) -> bool:
        return envelope.get("kid") != self.wrapper.active_id()

    def rewrap(self, envelope: dict[str, str]) -> dict[str, str]:
        """The same envelope with its data key wrapped under the active key (rotation)."""
        key_id, wrapped, _, _ = _parts(envelope, "envelope")
        new_id, new_wrapped = self.wrapper.wrap(self.wrapper.unwrap(key_id, wrapped))
        return {**envelope, "kid": new_id, "wk": _b64(new_wrapped)}


def _parts(envelope: Any, what: str) -> tuple[str, bytes, bytes, bytes]:
    if not is_envelope(envelope):
        raise SecretStoreError(f"encrypted data for {what} is not a valid envelope")
    if envelope["v"] != VERSION or envelope["alg"] != ALGORITHM:
        raise SecretStoreError(
            f"encrypted data for {what} has unsupported version/algorithm {envelope['v']}/{envelope['alg']}"
        )
    try:
        wrapped, nonce, ciphertext = (base64.b64decode(envelope[name], validate=True) for name in ("wk", "n", "ct"))
    except (binascii.Error, ValueError):
        raise SecretStoreError(f"encrypted data for {what} is not valid base64") from None
    if len(nonce) != NONCE_BYTES:
        raise SecretStoreError(f"encrypted data for {what} has a bad nonce")
    return envelope["kid"], wrapped, nonce, ciphertext


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _data_aad(aad: str) -> bytes:
    # Version-prefixed so a future format cannot be confused with this one.
    return f"mantissa-log:envelope:v{VERSION}:{aad}".encode()


def _wrap_aad(key_id: str) -> bytes:
    return f"mantissa-log:data-key:{key_id}".encode()

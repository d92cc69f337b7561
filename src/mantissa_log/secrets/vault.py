"""The local vault: secret values encrypted with the master key, kept in the state store.

Entries live in the `vault-secrets` table so backup and restore carry them, but only as
ciphertext: AES-256-GCM under the keyring's active key, with the reference as associated data
(an entry copied under another reference does not decrypt). The key id is stored with each entry
so old entries stay readable after `Keyring.add_key()` until `rewrap_all()` moves them.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mantissa_log.clock import now_iso
from mantissa_log.domain.common import SECRET_REF_RE
from mantissa_log.errors import ConfigError, NotFound, SecretStoreError
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.state.repositories.vault import SealedValue, VaultEntry, VaultRepository

PART_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
REGION_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SUFFIX_ALPHABET = string.ascii_letters + string.digits
NONCE_BYTES = 12


def check_part(what: str, value: str) -> None:
    """Owner and name become part of the reference, so only ARN-safe characters are allowed."""
    if not isinstance(value, str) or not PART_RE.match(value):
        raise SecretStoreError(f"secret {what} must be 1-128 characters of A-Z a-z 0-9 _ . -")


def random_suffix() -> str:
    # Six random characters, like Secrets Manager's ARN suffix: a deleted and re-created name
    # never gets the old reference back.
    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(6))


class LocalVault(SecretStore):
    def __init__(
        self,
        entries: VaultRepository,
        keyring: Keyring,
        region: str = "local",
        account: str = "000000000000",
    ) -> None:
        if not REGION_RE.match(region) or not ACCOUNT_RE.match(account):
            raise ConfigError("vault region/account must be ARN-safe (A-Z a-z 0-9 - _ .)")
        self.entries = entries
        self.keyring = keyring
        self.prefix = f"arn:mantissa-log:vault:{region}:{account}:secret:"

    # -- SecretStore ---------------------------------------------------------------------
    def put(self, owner: str, name: str, value: str) -> str:
        check_part("owner", owner)
        check_part("name", name)
        check_value(value)
        now = now_iso()
        for _ in range(5):
            ref = f"{self.prefix}{owner}/{name}-{random_suffix()}"
            # Never overwrite: a suffix collision just draws another suffix.
            if self.entries.create(VaultEntry(ref, owner, name, self._seal(ref, value), now, now)):
                return ref
        raise SecretStoreError(f"could not allocate a reference for {owner}/{name}")

    def get(self, ref: str) -> str:
        return self._open(self._item(ref))

    def replace(self, ref: str, value: str) -> None:
        check_value(value)
        self._item(ref)
        if not self.entries.reseal(ref, self._seal(ref, value), now_iso()):
            raise NotFound(f"secret {ref} not found")

    def delete(self, ref: str) -> None:
        if self.owns(ref):
            self.entries.delete(ref)

    # -- vault specifics -----------------------------------------------------------------
    def owns(self, ref: str) -> bool:
        """True when `ref` has this vault's shape (other refs are never looked up)."""
        return isinstance(ref, str) and ref.startswith(self.prefix) and bool(SECRET_REF_RE.match(ref))

    def owner_of(self, ref: str) -> str | None:
        """The owner encoded in a vault reference, for callers that check who may use it."""
        if not self.owns(ref):
            return None
        return ref[len(self.prefix) :].split("/", 1)[0]

    def rewrap_all(self) -> int:
        """Re-encrypt every entry not yet under the active key; returns how many changed."""
        active = self.keyring.active_id()
        changed = 0
        for entry in self.entries.all():
            old = entry.sealed.kid
            if old == active:
                continue
            sealed = self._seal(entry.secret_id, self._open(entry))
            # Only if nobody replaced it meanwhile (a concurrent write is already current).
            if self.entries.reseal(entry.secret_id, sealed, None, if_kid=old):
                changed += 1
        return changed

    # -- crypto --------------------------------------------------------------------------
    def _item(self, ref: str) -> VaultEntry:
        entry = self.entries.get(ref) if self.owns(ref) else None
        if entry is None:
            raise NotFound(f"secret {ref} not found")
        return entry

    def _seal(self, ref: str, value: str) -> SealedValue:
        key_id = self.keyring.active_id()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.keyring.key(key_id)).encrypt(nonce, value.encode(), ref.encode())
        return SealedValue(key_id, base64.b64encode(nonce).decode(), base64.b64encode(ciphertext).decode())

    def _open(self, entry: VaultEntry) -> str:
        ref = entry.secret_id
        key = self.keyring.key(entry.sealed.kid)
        try:
            nonce = base64.b64decode(entry.sealed.nonce, validate=True)
            ciphertext = base64.b64decode(entry.sealed.ciphertext, validate=True)
            return AESGCM(key).decrypt(nonce, ciphertext, ref.encode()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretStoreError(
                f"secret {ref} failed authentication (tampered, or moved from another reference)"
            ) from None


def check_value(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise SecretStoreError("a secret value must be a non-empty string")

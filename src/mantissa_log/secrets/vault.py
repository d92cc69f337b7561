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
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mantissa_log.clock import now_iso
from mantissa_log.domain.common import SECRET_REF_RE
from mantissa_log.errors import ConfigError, Conflict, NotFound, SecretStoreError
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Compare, Exists, NotExists
from mantissa_log.state.tables import VAULT_SECRETS

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
        backend: StateBackend,
        keyring: Keyring,
        region: str = "local",
        account: str = "000000000000",
    ) -> None:
        if not REGION_RE.match(region) or not ACCOUNT_RE.match(account):
            raise ConfigError("vault region/account must be ARN-safe (A-Z a-z 0-9 - _ .)")
        self.backend = backend
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
            item: dict[str, Any] = {
                "secret_id": ref,
                "owner": owner,
                "name": name,
                **self._seal(ref, value),
                "created_at": now,
                "updated_at": now,
            }
            try:
                # Never overwrite: a suffix collision just draws another suffix.
                self.backend.put(VAULT_SECRETS, item, condition=NotExists("secret_id"))
            except Conflict:
                continue
            return ref
        raise SecretStoreError(f"could not allocate a reference for {owner}/{name}")

    def get(self, ref: str) -> str:
        return self._open(self._item(ref))

    def replace(self, ref: str, value: str) -> None:
        check_value(value)
        self._item(ref)
        try:
            self.backend.update(
                VAULT_SECRETS,
                {"secret_id": ref},
                set_values={**self._seal(ref, value), "updated_at": now_iso()},
                condition=Exists("secret_id"),
            )
        except Conflict:
            raise NotFound(f"secret {ref} not found") from None

    def delete(self, ref: str) -> None:
        if self.owns(ref):
            self.backend.delete(VAULT_SECRETS, {"secret_id": ref})

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
        for item in self.backend.scan(VAULT_SECRETS):
            old = item.get("kid")
            if old == active:
                continue
            ref = str(item["secret_id"])
            sealed = self._seal(ref, self._open(item))
            try:
                # Only if nobody replaced it meanwhile (a concurrent write is already current).
                self.backend.update(
                    VAULT_SECRETS,
                    {"secret_id": ref},
                    set_values=sealed,
                    condition=Compare("kid", "=", old),
                )
            except Conflict:
                continue
            changed += 1
        return changed

    # -- crypto --------------------------------------------------------------------------
    def _item(self, ref: str) -> dict[str, Any]:
        item = self.backend.get(VAULT_SECRETS, {"secret_id": ref}) if self.owns(ref) else None
        if item is None:
            raise NotFound(f"secret {ref} not found")
        return item

    def _seal(self, ref: str, value: str) -> dict[str, str]:
        key_id = self.keyring.active_id()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.keyring.key(key_id)).encrypt(nonce, value.encode(), ref.encode())
        return {
            "kid": key_id,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
        }

    def _open(self, item: dict[str, Any]) -> str:
        ref = str(item.get("secret_id"))
        key = self.keyring.key(str(item.get("kid")))
        try:
            nonce = base64.b64decode(str(item.get("nonce")), validate=True)
            ciphertext = base64.b64decode(str(item.get("ciphertext")), validate=True)
            return AESGCM(key).decrypt(nonce, ciphertext, ref.encode()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretStoreError(
                f"secret {ref} failed authentication (tampered, or moved from another reference)"
            ) from None


def check_value(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise SecretStoreError("a secret value must be a non-empty string")

"""Entries of the local vault (ciphertext only; the crypto is in `secrets.vault`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Item, StateBackend
from mantissa_log.state.conditions import Compare, Condition, Exists, NotExists
from mantissa_log.state.tables import VAULT_SECRETS


@dataclass(frozen=True)
class SealedValue:
    """A secret value encrypted under key `kid` (base64 text, as stored)."""

    kid: str
    nonce: str
    ciphertext: str


@dataclass(frozen=True)
class VaultEntry:
    secret_id: str
    owner: str
    name: str
    sealed: SealedValue
    created_at: str
    updated_at: str

    @staticmethod
    def from_item(item: Item) -> VaultEntry:
        return VaultEntry(
            secret_id=str(item["secret_id"]),
            owner=str(item.get("owner", "")),
            name=str(item.get("name", "")),
            sealed=SealedValue(str(item.get("kid")), str(item.get("nonce")), str(item.get("ciphertext"))),
            created_at=str(item.get("created_at", "")),
            updated_at=str(item.get("updated_at", "")),
        )


class VaultRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def create(self, entry: VaultEntry) -> bool:
        """Add an entry under a reference nobody holds; False when the reference is taken."""
        item = {
            "secret_id": entry.secret_id,
            "owner": entry.owner,
            "name": entry.name,
            "kid": entry.sealed.kid,
            "nonce": entry.sealed.nonce,
            "ciphertext": entry.sealed.ciphertext,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
        }
        try:
            self.backend.put(VAULT_SECRETS, item, condition=NotExists("secret_id"))
        except Conflict:
            return False
        return True

    def get(self, secret_id: str) -> VaultEntry | None:
        item = self.backend.get(VAULT_SECRETS, {"secret_id": secret_id})
        return None if item is None else VaultEntry.from_item(item)

    def reseal(self, secret_id: str, sealed: SealedValue, updated_at: str | None, *, if_kid: str | None = None) -> bool:
        """Store a new ciphertext for an existing entry (only while it is still under `if_kid`, if given)."""
        condition: Condition = Exists("secret_id") if if_kid is None else Compare("kid", "=", if_kid)
        values = {"kid": sealed.kid, "nonce": sealed.nonce, "ciphertext": sealed.ciphertext}
        if updated_at is not None:
            values["updated_at"] = updated_at
        try:
            self.backend.update(VAULT_SECRETS, {"secret_id": secret_id}, set_values=values, condition=condition)
        except Conflict:
            return False
        return True

    def delete(self, secret_id: str) -> None:
        self.backend.delete(VAULT_SECRETS, {"secret_id": secret_id})

    def all(self) -> Iterator[VaultEntry]:
        for item in self.backend.scan(VAULT_SECRETS):
            yield VaultEntry.from_item(item)

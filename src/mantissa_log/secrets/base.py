"""The secret-store interface. Tables keep only the reference a store returns (an ARN)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class SecretStore(ABC):
    """Holds secret values; callers keep only the returned reference."""

    @abstractmethod
    def put(self, owner: str, name: str, value: str) -> str:
        """Store a new secret for `owner` (a user_id); return its ARN-like reference."""

    @abstractmethod
    def get(self, ref: str) -> str:
        """The secret value. Raises NotFound for an unknown or deleted reference."""

    @abstractmethod
    def replace(self, ref: str, value: str) -> None:
        """New value under the same reference. Raises NotFound when unknown."""

    @abstractmethod
    def delete(self, ref: str) -> None:
        """Remove the secret; deleting an unknown reference is not an error."""

    def owner_of(self, ref: str) -> str | None:
        """The user a reference was issued to; None when this store cannot tell (callers then refuse it)."""
        return None

    def exists(self, ref: str) -> bool:
        from mantissa_log.errors import NotFound

        try:
            self.get(ref)
        except NotFound:
            return False
        return True

"""Pieces every repository uses: typed pages and the cipher port for encrypted fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from mantissa_log.state.backend import Key

T = TypeVar("T")


@dataclass
class ModelPage(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_key: Key | None = None


class FieldCipher(Protocol):
    """Envelope encryption of one field, bound to its item by `aad` (implemented in secrets/)."""

    def encrypt_json(self, value: Any, aad: str) -> dict[str, str]: ...

    def decrypt_json(self, envelope: dict[str, str], aad: str) -> Any: ...

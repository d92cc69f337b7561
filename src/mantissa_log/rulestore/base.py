"""The rule-store interface and the key check both implementations share."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

from mantissa_log.errors import ValidationFailed

# user_rules/<user>/<rule>.yaml, nothing that could climb out of the store.
KEY_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9][A-Za-z0-9_.-]{0,127})+$")


def check_key(key: str) -> str:
    if not KEY_RE.match(key) or ".." in key.split("/"):
        raise ValidationFailed(f"not a valid rule-store key: {key!r}", field="s3_key")
    return key


class RuleStore(ABC):
    @abstractmethod
    def put(self, key: str, body: bytes) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Raises NotFound when absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Deleting an absent key is not an error."""

    @abstractmethod
    def keys(self, prefix: str = "") -> Iterator[str]: ...

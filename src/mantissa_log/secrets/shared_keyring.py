"""The keyring shared by every host: the master key document kept in AWS Secrets Manager.

With DynamoDB state, one host's encrypted items are read by every other host, so a key file on
one host's disk is the wrong place for the key. This keyring has the file's format and rules
(`keyring.py`) but keeps the document as one secret's value. `mantissa-log init` creates the
secret; a normal start only reads it, and a missing secret is a clear error, never a new key.

Another host may rotate the key: the document is read again after `REFRESH_SECONDS`, and at once
when a key id is asked for that this host has not seen yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.errors import SecretStoreError
from mantissa_log.secrets.keyring import Keyring, fresh_keyring_document, keyring_document, parse_keyring

REFRESH_SECONDS = 30.0


class SharedKeyring(Keyring):
    """The keyring document in Secrets Manager under `secret_id`."""

    def __init__(self, client: Any, secret_id: str) -> None:
        super().__init__(Path(f"secretsmanager:{secret_id}"))  # a name for messages; no file is used
        self.client = client
        self.secret_id = secret_id
        self._loaded_at: float | None = None

    def key(self, key_id: str) -> bytes:
        self._load()
        if key_id not in self._keys:  # another host may have rotated: read the document again
            self._load(force=True)
        return super().key(key_id)

    def _load(self, force: bool = False) -> None:
        fresh = self._loaded_at is not None and time.monotonic() - self._loaded_at < REFRESH_SECONDS
        if fresh and not force:
            return
        try:
            value = self.client.get_secret_value(SecretId=self.secret_id)["SecretString"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code == "ResourceNotFoundException":
                raise SecretStoreError(
                    f"the shared master key secret {self.secret_id} does not exist; "
                    "create it with `mantissa-log init` (admin credentials)",
                    field="MANTISSA_MASTER_KEY_SECRET",
                ) from None
            raise SecretStoreError(f"cannot read the shared master key {self.secret_id}: {code}") from None
        except BotoCoreError as exc:
            raise SecretStoreError(f"cannot read the shared master key {self.secret_id}: {exc}") from None
        self._active, self._keys = parse_keyring(str(value).encode(), self.path)
        self._loaded_at = time.monotonic()

    def _write(self, active: str, keys: dict[str, bytes]) -> None:
        try:
            self.client.put_secret_value(SecretId=self.secret_id, SecretString=keyring_document(active, keys).decode())
        except (ClientError, BotoCoreError) as exc:
            raise SecretStoreError(f"cannot write the shared master key {self.secret_id}: {exc}") from None
        self._load(force=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # No lock across hosts: rotation is an operator's command, run from one place at a time.
        self._load(force=True)
        yield


def create_shared_keyring(client: Any, secret_id: str, kms_key_id: str | None = None) -> bool:
    """Provisioning: create the secret with one fresh key; False when it already exists (kept)."""
    request: dict[str, Any] = {
        "Name": secret_id,
        "SecretString": fresh_keyring_document().decode(),
        "Description": "Mantissa Log master keyring shared by every host",
    }
    if kms_key_id:
        request["KmsKeyId"] = kms_key_id
    try:
        client.create_secret(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceExistsException":
            return False
        raise SecretStoreError(f"cannot create the shared master key {secret_id}: {exc}") from None
    return True

"""AWS Secrets Manager as the secret store: one secret per value, named under a prefix.

Names are `<prefix>/<owner>/<name>-<6 random>` so a re-created secret never reuses a reference,
and the store only touches secrets under its own prefix: a reference pointing elsewhere (another
application's secret) is treated as unknown rather than read with this process's credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.errors import ConfigError, NotFound, SecretStoreError
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.vault import check_part, check_value, random_suffix

PREFIX_RE = re.compile(r"^[A-Za-z0-9_.+=@-]+(/[A-Za-z0-9_.+=@-]+)*$")
_NOT_FOUND = {"ResourceNotFoundException"}


class AwsSecretsManagerStore(SecretStore):
    def __init__(self, client: Any, prefix: str) -> None:
        if not PREFIX_RE.match(prefix):
            raise ConfigError(f"secrets prefix {prefix!r} must look like mantissa-log/<environment>")
        self.client = client
        self.prefix = prefix

    def put(self, owner: str, name: str, value: str) -> str:
        check_part("owner", owner)
        check_part("name", name)
        check_value(value)
        secret_name = f"{self.prefix}/{owner}/{name}-{random_suffix()}"
        with _errors("create", secret_name):
            out = self.client.create_secret(Name=secret_name, SecretString=value)
        return str(out["ARN"])

    def get(self, ref: str) -> str:
        self._check_ref(ref)
        with _errors("read", ref):
            out = self.client.get_secret_value(SecretId=ref)
        if "SecretString" not in out:
            raise SecretStoreError(f"secret {ref} holds binary data, not a string")
        return str(out["SecretString"])

    def replace(self, ref: str, value: str) -> None:
        check_value(value)
        self._check_ref(ref)
        with _errors("update", ref):
            self.client.put_secret_value(SecretId=ref, SecretString=value)

    def delete(self, ref: str) -> None:
        if not self.owns(ref):
            return
        try:
            with _errors("delete", ref):
                self.client.delete_secret(SecretId=ref, ForceDeleteWithoutRecovery=True)
        except NotFound:
            pass

    def owns(self, ref: str) -> bool:
        """True for a Secrets Manager ARN whose name is under this store's prefix."""
        name = _secret_name(ref)
        return name is not None and name.startswith(self.prefix + "/")

    def owner_of(self, ref: str) -> str | None:
        """The owner encoded in the secret's name, for callers that check who may use it."""
        name = _secret_name(ref)
        if name is None or not name.startswith(self.prefix + "/"):
            return None
        return name[len(self.prefix) + 1 :].split("/", 1)[0]

    def _check_ref(self, ref: str) -> None:
        if not self.owns(ref):
            raise NotFound(f"secret {ref} not found")


def _secret_name(ref: str) -> str | None:
    # arn:<partition>:secretsmanager:<region>:<account>:secret:<name>
    parts = ref.split(":", 6) if isinstance(ref, str) else []
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or parts[5] != "secret":
        return None
    return parts[6]


@contextmanager
def _errors(action: str, what: str) -> Iterator[None]:
    """AWS failures as NotFound / SecretStoreError; only the error code is kept, so no request
    parameter (the secret value) can reach a message or a log."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        message = str(error.get("Message", ""))
        if code in _NOT_FOUND or (code == "InvalidRequestException" and "deleted" in message):
            raise NotFound(f"secret {what} not found") from None
        raise SecretStoreError(f"Secrets Manager could not {action} {what}: {code}") from None
    except BotoCoreError as exc:
        raise SecretStoreError(f"Secrets Manager could not {action} {what}: {type(exc).__name__}") from None

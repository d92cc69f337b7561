"""The KMS key integration configs are envelope-encrypted under: checked at start, made by init.

`MANTISSA_KMS_KEY_ID` may be a key id, an ARN or an alias (`alias/mantissa-log-prod`). Only an
alias can be created by provisioning (a key id is chosen by KMS, not by us).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.errors import SecretStoreError


def kms_key_usable(kms: Any, key_id: str) -> bool:
    """True when the key exists and is enabled; False when it does not exist."""
    try:
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NotFoundException":
            return False
        raise SecretStoreError(f"kms key {key_id}: {exc.response.get('Error', {}).get('Code')}") from None
    except BotoCoreError as exc:
        raise SecretStoreError(f"kms key {key_id}: {exc}") from None
    if metadata.get("KeyState") != "Enabled":
        raise SecretStoreError(
            f"kms key {key_id} is {metadata.get('KeyState')}, not Enabled", field="MANTISSA_KMS_KEY_ID"
        )
    return True


def ensure_kms_key(kms: Any, key_id: str) -> bool:
    """Provisioning: True when a key (with rotation on) and its alias were created."""
    if kms_key_usable(kms, key_id):
        return False
    if not key_id.startswith("alias/"):
        raise SecretStoreError(
            f"kms key {key_id} does not exist; name an alias (alias/...) for init to create one",
            field="MANTISSA_KMS_KEY_ID",
        )
    created = kms.create_key(Description=f"Mantissa Log ({key_id})", KeyUsage="ENCRYPT_DECRYPT")
    new_id = created["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=new_id)
    try:
        kms.create_alias(AliasName=key_id, TargetKeyId=new_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
            raise
        # Another init won the race: ours is an orphan, scheduled for deletion.
        kms.schedule_key_deletion(KeyId=new_id, PendingWindowInDays=7)
        return False
    return True

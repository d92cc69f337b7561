"""Master-key rotation: a new key becomes active, everything is re-wrapped, old keys retire.

Safe to re-run after a crash: until the old key is retired both keys are in the keyring, so
every item stays readable whichever key wraps it at the moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from mantissa_log.secrets.envelope import EnvelopeCipher, is_envelope
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.secrets.vault import LocalVault
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.integrations import IntegrationRepository


@dataclass
class RotationResult:
    new_key_id: str
    retired: list[str]
    vault_entries: int
    integration_configs: int
    audit_key: bool = False  # the audit key's envelope was re-wrapped


def rotate_master_key(
    keyring: Keyring,
    cipher: EnvelopeCipher,
    vault: LocalVault | None,
    integrations: IntegrationRepository,
    audit: AuditRepository | None = None,
) -> RotationResult:
    old_ids = [k for k in keyring.key_ids()]
    new_id = keyring.add_key()
    vault_count = vault.rewrap_all() if vault is not None else 0
    configs = 0
    for item in integrations.stored_items():
        envelope = item.get("config")
        if isinstance(envelope, dict) and is_envelope(envelope) and cipher.needs_rewrap(envelope):
            integrations.put_stored_item(item | {"config": cipher.rewrap(envelope)})
            configs += 1
    audit_key = audit.rewrap_key(cipher) if audit is not None else False
    for key_id in old_ids:
        keyring.retire(key_id)
    return RotationResult(new_id, old_ids, vault_count, configs, audit_key)

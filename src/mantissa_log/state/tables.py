"""Every table Mantissa Log keeps: the seed's three, plus users, tokens and the audit chain."""

from __future__ import annotations

from mantissa_log.state.backend import IndexSpec, TableSpec

ENABLED_RULES_INDEX = "EnabledRulesIndex"
INTEGRATION_TYPE_INDEX = "IntegrationTypeIndex"

USER_SETTINGS = TableSpec(name="user-settings", hash_key="user_id")
DETECTION_RULES = TableSpec(
    name="detection-rules",
    hash_key="user_id",
    range_key="rule_name",
    indexes=(IndexSpec(ENABLED_RULES_INDEX, "enabled", "severity"),),
)
INTEGRATION_SETTINGS = TableSpec(
    name="integration-settings",
    hash_key="user_id",
    range_key="integration_id",
    indexes=(IndexSpec(INTEGRATION_TYPE_INDEX, "integration_type"),),
)
USERS = TableSpec(name="users", hash_key="user_id")
API_TOKENS = TableSpec(name="api-tokens", hash_key="token_hash")
# One chain; `seq` is the position, so appends race on a conditional put of seq+1.
AUDIT_LOG = TableSpec(name="audit-log", hash_key="chain", range_key="seq", range_key_type="N")
# Local vault entries live in the state store too, so backup/restore carries them (ciphertext only).
VAULT_SECRETS = TableSpec(name="vault-secrets", hash_key="secret_id")

SEED_TABLES = (USER_SETTINGS, DETECTION_RULES, INTEGRATION_SETTINGS)
ALL_TABLES = (*SEED_TABLES, USERS, API_TOKENS, AUDIT_LOG, VAULT_SECRETS)

"""Every table Mantissa Log keeps: the seed's three, plus users, tokens, the audit chain, alerts and
deliveries, LLM usage and query history."""

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

# Alerts, newest first per user; pending ones findable across users for the delivery workers.
DELIVERY_STATUS_INDEX = "DeliveryStatusIndex"
ALERTS = TableSpec(
    name="alerts",
    hash_key="user_id",
    range_key="alert_id",
    indexes=(IndexSpec(DELIVERY_STATUS_INDEX, "delivery_status", "alert_id"),),
)
# Open alerts by dedup key: a repeat inside the suppression window folds into the first alert.
ALERT_DEDUP = TableSpec(name="alert-dedup", hash_key="dedup_key")
# Per-rule run state: watermark over ingest time, lease for multi-worker safety, next due time.
RULE_RUNS = TableSpec(name="rule-runs", hash_key="rule_key")

# The delivery outbox: one item per (alert, integration). Due items sit in a sparse index
# (`queue` = "due", ordered by `due_at`); delivered and dead ones leave it.
DUE_DELIVERIES_INDEX = "DueDeliveriesIndex"
DELIVERIES = TableSpec(
    name="deliveries",
    hash_key="alert_key",
    range_key="integration_id",
    indexes=(IndexSpec(DUE_DELIVERIES_INDEX, "queue", "due_at"),),
)
# Which Jira issue holds a dedup key (repeats comment on it while it is open).
JIRA_ISSUES = TableSpec(name="jira-issues", hash_key="ledger_key")
# Web UI sessions, by the SHA-256 of the cookie value; `ttl` ends them.
WEB_SESSIONS = TableSpec(name="web-sessions", hash_key="session_hash")

# LLM token usage per user, per day, provider and model (one atomic ADD per model call).
LLM_USAGE = TableSpec(name="llm-usage", hash_key="user_id", range_key="usage_key")
# Questions in plain English: a user's conversations (ids sort by time), and answers cached by
# question, conversation, model and data (TTL).
QUERY_CONVERSATIONS = TableSpec(name="query-conversations", hash_key="user_id", range_key="conversation_id")
QUERY_CACHE = TableSpec(name="query-cache", hash_key="cache_key")

# Collectors (log sources pulled from where they live): their configuration, and apart from it
# the state their runs keep (checkpoint, lease, status), written on every batch.
COLLECTORS = TableSpec(name="collectors", hash_key="collector_id")
COLLECTOR_STATE = TableSpec(name="collector-state", hash_key="collector_id")

SEED_TABLES = (USER_SETTINGS, DETECTION_RULES, INTEGRATION_SETTINGS)
ALL_TABLES = (
    *SEED_TABLES,
    USERS,
    API_TOKENS,
    AUDIT_LOG,
    VAULT_SECRETS,
    ALERTS,
    ALERT_DEDUP,
    RULE_RUNS,
    DELIVERIES,
    JIRA_ISSUES,
    WEB_SESSIONS,
    LLM_USAGE,
    QUERY_CONVERSATIONS,
    QUERY_CACHE,
    COLLECTORS,
    COLLECTOR_STATE,
)

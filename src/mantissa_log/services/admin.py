"""Operator use cases: backup/restore, key rotation, TTL purge, and the cross-user index views.

These are for admins and the command line; every other service works within one user's items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mantissa_log.clock import Clock
from mantissa_log.domain.common import IntegrationType, Severity
from mantissa_log.domain.integrations import Integration
from mantissa_log.domain.rules import DetectionRule
from mantissa_log.rulestore.base import RuleStore
from mantissa_log.secrets.envelope import EnvelopeCipher
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.secrets.vault import LocalVault
from mantissa_log.services.backup import BackupSummary, backup, restore
from mantissa_log.services.keys import RotationResult, rotate_master_key
from mantissa_log.services.users import UserService
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.integrations import IntegrationRepository
from mantissa_log.state.repositories.rules import DetectionRuleRepository
from mantissa_log.state.repositories.users import UserRepository
from mantissa_log.state.tables import ALL_TABLES


@dataclass
class RestoreResult:
    summary: BackupSummary
    # A new token for an admin, when no admin had one after the restore (a fresh installation).
    admin_user: str | None = None
    admin_token: str | None = None


class AdminService:
    def __init__(
        self,
        backend: StateBackend,
        rule_bodies: RuleStore,
        keyring: Keyring,
        cipher: EnvelopeCipher,
        vault: LocalVault | None,
        rules: DetectionRuleRepository,
        integrations: IntegrationRepository,
        clock: Clock,
        *,
        users: UserService,
        user_repo: UserRepository,
        audit: AuditRepository | None = None,
        flush_audit: Callable[[], None] = lambda: None,
    ) -> None:
        self.backend = backend
        self.rule_bodies = rule_bodies
        self.keyring = keyring
        self.cipher = cipher
        self.vault = vault
        self.rules = rules
        self.integrations = integrations
        self.clock = clock
        self.users = users
        self.user_repo = user_repo
        self.audit = audit
        # Records the audit writer still holds are written before a backup, a restore or a rotation.
        self.flush_audit = flush_audit

    def backup(self, path: Path) -> BackupSummary:
        self.flush_audit()
        return backup(self.backend, self.rule_bodies, path)

    def restore(self, path: Path) -> RestoreResult:
        """Restore the data; tokens and the audit chain stay (services/backup.py). If then no admin
        holds a token (a fresh installation), one is issued and returned, to be shown once."""
        self.flush_audit()
        result = RestoreResult(restore(self.backend, self.rule_bodies, path))
        admins = sorted(user.user_id for user in self.user_repo.list_users() if user.is_admin)
        if any(self.user_repo.tokens_of(admin) for admin in admins):
            return result
        if admins:
            result.admin_user, result.admin_token = admins[0], self.users.issue_token(admins[0])
        else:
            _, result.admin_token = self.users.create_user("admin", is_admin=True)
            result.admin_user = "admin"
        return result

    def rotate_master_key(self) -> RotationResult:
        self.flush_audit()  # the audit key may be created by a record still queued: re-wrap it too
        return rotate_master_key(self.keyring, self.cipher, self.vault, self.integrations, self.audit)

    def purge_expired(self) -> int:
        """Remove items whose TTL has passed; returns how many."""
        now = int(self.clock.now().timestamp())
        return sum(self.backend.purge_expired(spec, now) for spec in ALL_TABLES)

    def enabled_rules(
        self, severity: Severity | None = None, *, limit: int = 50, start_key: Key | None = None
    ) -> ModelPage[DetectionRule]:
        """All users' enabled rules, via EnabledRulesIndex (optionally one severity)."""
        if severity is None:
            return self.rules.list_enabled_rules(limit=limit, start_key=start_key)
        return self.rules.list_enabled_rules_by_severity(severity, limit=limit, start_key=start_key)

    def integrations_by_type(
        self, integration_type: IntegrationType, *, limit: int = 50, start_key: Key | None = None
    ) -> ModelPage[Integration]:
        """All users' integrations of one type, via IntegrationTypeIndex."""
        return self.integrations.list_integrations_by_type(integration_type, limit=limit, start_key=start_key)

"""Integration settings use cases: CRUD scoped to the caller, secrets kept out of the tables.

Write order keeps "nothing partial": a new secret is stored first, then the item is written
conditionally; if that write fails the new secret is deleted again. An old secret is deleted
only after the item no longer points at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.common import IntegrationType
from mantissa_log.domain.integrations import (
    Integration,
    IntegrationSpec,
    IntegrationStatus,
    integration_spec,
    parse_integration,
)
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER, IntegrationWrite
from mantissa_log.domain.validation import deep_merge, parse_with
from mantissa_log.errors import Conflict, NotFound, ValidationFailed
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.detect import reject_plaintext_secrets
from mantissa_log.services.identity import Principal
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.integrations import IntegrationRepository

PATCHABLE = frozenset({"enabled", "config", "secret"})


def _check_secret_value(spec: IntegrationSpec[Any], secret: SecretStr) -> None:
    value = secret.get_secret_value()
    spec.check_secret(value)
    if any(ch in value for ch in "\r\n"):
        raise ValidationFailed("the secret must be a single line", field="secret")


class IntegrationService:
    def __init__(
        self,
        repo: IntegrationRepository,
        secrets: SecretStore,
        clock: Clock,
        *,
        check: Callable[[Integration], None] | None = None,
    ) -> None:
        self.repo = repo
        self.secrets = secrets
        self.clock = clock
        # What the output of the type checks before anything is stored (a webhook template renders
        # within its limits, an email sender is in an allowed domain); raises ValidationFailed.
        self.check = check

    # -- reads -------------------------------------------------------------------------------
    def get(self, who: Principal, integration_id: str) -> Integration:
        found = self.repo.get_integration(who.user_id, integration_id)
        if found is None:
            raise NotFound(f"no integration {integration_id}", field="integration_id")
        return found

    def list(
        self,
        who: Principal,
        *,
        integration_type: IntegrationType | None = None,
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ModelPage[Integration]:
        # A user's own integrations of one type: their partition, filtered (the GSI spans all users).
        return self.repo.list_integrations_for_user(
            who.user_id, integration_type=integration_type, limit=limit, start_key=start_key
        )

    # -- writes ------------------------------------------------------------------------------
    def create(self, who: Principal, body: IntegrationWrite) -> Integration:
        if body.integration_id is None:
            raise ValidationFailed("field required", field="integration_id")
        if self.repo.get_integration(who.user_id, body.integration_id) is not None:
            raise Conflict(f"integration {body.integration_id} already exists", field="integration_id")
        return self._write(who, body.integration_id, body, existing=None)

    def replace(self, who: Principal, integration_id: str, body: IntegrationWrite) -> Integration:
        if body.integration_id not in (None, integration_id):
            raise ValidationFailed("does not match the path", field="integration_id")
        return self._write(who, integration_id, body, existing=self.get(who, integration_id))

    def patch(self, who: Principal, integration_id: str, patch: dict[str, Any]) -> Integration:
        existing = self.get(who, integration_id)
        for key in patch:
            if key not in PATCHABLE:
                raise ValidationFailed(
                    "cannot be changed by PATCH (use PUT)"
                    if key == "integration_type"
                    else "unknown or read-only field",
                    field=key,
                )
        if "config" in patch and not isinstance(patch["config"], dict):
            raise ValidationFailed("must be an object", field="config")
        merged: dict[str, Any] = {
            "integration_type": existing.integration_type,
            "enabled": patch.get("enabled", existing.enabled),
            "config": deep_merge(existing.config.dump(), patch.get("config") or {}),
        }
        if "secret" in patch:
            merged["secret"] = patch["secret"]
        body = parse_with(INTEGRATION_WRITE_ADAPTER, merged)
        return self._write(who, integration_id, body, existing=existing)

    def delete(self, who: Principal, integration_id: str) -> None:
        existing = self.get(who, integration_id)
        self.repo.delete_integration(who.user_id, integration_id)
        if existing.secret_arn:
            self.secrets.delete(existing.secret_arn)

    def record_test(self, who: Principal, integration_id: str, *, ok: bool, error: str | None) -> Integration:
        existing = self.get(who, integration_id)
        status: IntegrationStatus = "configured" if ok else "error"
        needs = integration_spec(existing.integration_type).needs_secret(existing.config)
        if ok and needs and not existing.secret_arn:
            status = "not_configured"
        return self.repo.record_test(
            who.user_id,
            integration_id,
            at=iso(self.clock.now()),
            status="success" if ok else "error",
            error=error,
            integration_status=status,
        )

    def _write(
        self, who: Principal, integration_id: str, body: IntegrationWrite, existing: Integration | None
    ) -> Integration:
        config = body.config.dump()
        reject_plaintext_secrets(config, "config")
        spec = integration_spec(body.integration_type)
        ref_field = spec.secret_ref_field
        kept_ref = existing.secret_arn if existing and existing.integration_type == body.integration_type else None
        if ref_field and config.get(ref_field) not in (None, kept_ref):
            raise ValidationFailed(
                "is managed by the server: send the secret value in the write-only `secret` field",
                field=f"config.{ref_field}",
            )
        new_ref: str | None = None
        if body.secret is not None:
            _check_secret_value(spec, body.secret)
            new_ref = self.secrets.put(who.user_id, integration_id, body.secret.get_secret_value())
        secret_ref = new_ref or kept_ref
        if ref_field:
            config[ref_field] = secret_ref
        now = iso(self.clock.now())
        candidate: dict[str, Any] = {
            "user_id": who.user_id,
            "integration_id": integration_id,
            "integration_type": body.integration_type,
            "enabled": body.enabled,
            "config": {k: v for k, v in config.items() if v is not None},
            "created_at": existing.created_at if existing else now,
            "updated_at": now,
        }
        if secret_ref:
            candidate["secret_arn"] = secret_ref
        if existing and existing.integration_type == body.integration_type:
            for carried in ("last_test", "last_test_status", "last_test_error"):
                value = getattr(existing, carried)
                if value is not None:
                    candidate[carried] = value
        try:
            integration = parse_integration(candidate)
            if self.check is not None:
                self.check(integration)
            needs = spec.needs_secret(integration.config)
            integration.status = "not_configured" if needs and not secret_ref else "configured"
            if existing is None:
                self.repo.create_integration(integration)
            else:
                self.repo.replace_integration(integration)
        except BaseException:
            if new_ref:
                self.secrets.delete(new_ref)
            raise
        if existing and existing.secret_arn and existing.secret_arn != secret_ref:
            self.secrets.delete(existing.secret_arn)
        return integration

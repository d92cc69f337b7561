"""User settings use cases. The LLM API key goes to the secret store; the item keeps its reference."""

from __future__ import annotations

from typing import Any

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.settings import Preferences, UserSettings, UserSettingsPut
from mantissa_log.domain.validation import deep_merge, parse_model
from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs.netguard import check_url
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.detect import reject_plaintext_secrets
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.settings import UserSettingsRepository

READ_ONLY = frozenset({"user_id", "api_key_secret_id", "created_at", "updated_at"})


class UserSettingsService:
    def __init__(
        self, repo: UserSettingsRepository, secrets: SecretStore, clock: Clock, *, allow_private_targets: bool = False
    ) -> None:
        self.repo = repo
        self.secrets = secrets
        self.clock = clock
        self.allow_private_targets = allow_private_targets

    def check_llm_base_url(self, url: str) -> None:
        """The endpoint must pass the outbound guard (no loopback, private or metadata targets unless
        the operator allows private ones). Checked at save; a client calling it must check again and
        connect only to the checked addresses (`outputs.netguard.resolve_target`), as senders do."""
        try:
            check_url(url, allow_private=self.allow_private_targets)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="llm_base_url") from None

    def get(self, who: Principal) -> UserSettings:
        """The stored item, or the defaults (not stored) for a user who never saved any."""
        found = self.repo.get_settings(who.user_id)
        if found is not None:
            return found
        now = iso(self.clock.now())
        return UserSettings(user_id=who.user_id, created_at=now, updated_at=now)

    def put(self, who: Principal, body: UserSettingsPut) -> UserSettings:
        reject_plaintext_secrets(body.model_dump(mode="json", exclude={"api_key"}), "")
        if body.llm_base_url is not None:
            self.check_llm_base_url(body.llm_base_url)
        existing = self.repo.get_settings(who.user_id)
        old_ref = existing.api_key_secret_id if existing else None
        new_ref: str | None = None
        keep_ref = old_ref
        if "api_key" in body.model_fields_set:
            keep_ref = None
            if body.api_key is not None:
                provider = body.llm_provider or "llm"
                new_ref = self.secrets.put(who.user_id, f"{provider}-api-key", body.api_key.get_secret_value())
        now = iso(self.clock.now())
        fields = body.model_dump(mode="json", exclude={"api_key"}, exclude_none=True)
        ref = new_ref or keep_ref
        try:
            settings = parse_model(
                UserSettings,
                fields
                | {"user_id": who.user_id, "created_at": existing.created_at if existing else now, "updated_at": now}
                | ({"api_key_secret_id": ref} if ref else {}),
            )
            self.repo.put_settings(settings)
        except BaseException:
            if new_ref:
                self.secrets.delete(new_ref)
            raise
        if old_ref and old_ref != ref:
            self.secrets.delete(old_ref)
        return settings

    def patch(self, who: Principal, patch: dict[str, Any]) -> UserSettings:
        for key in patch:
            if key in READ_ONLY:
                raise ValidationFailed("read-only field", field=key)
        stored = self.repo.get_settings(who.user_id)
        if stored is not None and set(patch) == {"preferences"} and isinstance(patch["preferences"], dict):
            # The seed's access pattern "update user preferences": one UpdateItem of `preferences`.
            merged = deep_merge(stored.preferences.dump(), patch["preferences"])
            reject_plaintext_secrets(merged, "preferences")
            preferences = parse_model(Preferences, merged, "preferences")
            return self.repo.update_preferences(who.user_id, preferences, iso(self.clock.now()))
        current = self.get(who).model_dump(mode="json", exclude=set(READ_ONLY), exclude_none=True)
        secret_part = {k: patch[k] for k in ("api_key",) if k in patch}
        merged = deep_merge(current, {k: v for k, v in patch.items() if k != "api_key"}) | secret_part
        return self.put(who, parse_model(UserSettingsPut, merged))

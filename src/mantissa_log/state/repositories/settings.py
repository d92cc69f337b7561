"""User settings: seed access patterns 1 (get by user_id) and 2 (update preferences)."""

from __future__ import annotations

from mantissa_log.domain.settings import Preferences, UserSettings
from mantissa_log.errors import Conflict, NotFound
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Exists
from mantissa_log.state.tables import USER_SETTINGS


class UserSettingsRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def get_settings(self, user_id: str) -> UserSettings | None:
        """Pattern: GetItem(user_id)."""
        item = self.backend.get(USER_SETTINGS, {"user_id": user_id})
        return None if item is None else UserSettings.model_validate(item)

    def update_preferences(self, user_id: str, preferences: Preferences, updated_at: str) -> UserSettings:
        """Pattern: UpdateItem(user_id, preferences) — only on an existing item."""
        try:
            item = self.backend.update(
                USER_SETTINGS,
                {"user_id": user_id},
                set_values={"preferences": preferences.dump(), "updated_at": updated_at},
                condition=Exists("user_id"),
            )
        except Conflict:
            raise NotFound(f"no settings for {user_id}") from None
        return UserSettings.model_validate(item)

    def put_settings(self, settings: UserSettings) -> None:
        self.backend.put(USER_SETTINGS, settings.dump())

    def delete_settings(self, user_id: str) -> bool:
        return self.backend.delete(USER_SETTINGS, {"user_id": user_id})

"""The user-settings item (seed table `mantissa-log-user-settings-{environment}`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints

from mantissa_log.domain.common import Name, SecretRef, StrictModel, Timestamp

LlmProvider = Literal["anthropic", "openai", "google", "bedrock"]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Preferences(StrictModel):
    query_model: ModelName | None = None
    detection_model: ModelName | None = None
    max_tokens: int = Field(default=2000, ge=1, le=200_000)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)


class UiPreferences(StrictModel):
    theme: Literal["light", "dark"] = "light"
    default_time_range: Literal["24h", "7d", "30d"] = "24h"
    items_per_page: int = Field(default=25, ge=1, le=500)


class UserSettingsFields(StrictModel):
    """What a user may set; the write models of the API derive from this."""

    llm_provider: LlmProvider | None = None
    llm_model: ModelName | None = None
    # Added to the seed: an OpenAI-compatible endpoint (e.g. a local model server).
    llm_base_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    preferences: Preferences = Field(default_factory=Preferences)
    ui_preferences: UiPreferences = Field(default_factory=UiPreferences)


class UserSettings(UserSettingsFields):
    """The stored item, seed shape. `api_key_secret_id` is a reference, never a key."""

    user_id: Name
    api_key_secret_id: SecretRef | None = None
    created_at: Timestamp
    updated_at: Timestamp


class UserSettingsPut(UserSettingsFields):
    """PUT body: every user field; `api_key` is write-only (kept when absent, removed when null)."""

    api_key: Annotated[SecretStr, Field(min_length=8, max_length=4096)] | None = None

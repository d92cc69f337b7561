"""Process configuration: environment variables `MANTISSA_*`, optionally a TOML file.

Nothing here is built at import time; `load_settings()` is called by the edges (CLI, app factory).
The embedded default needs no configuration at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from mantissa_log.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MANTISSA_", extra="forbid", frozen=True)

    home: Path = Field(default=Path(".mantissa"), description="data home: state, vault key, rules, lake")
    environment: str = Field(default="dev", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    state_backend: Literal["sqlite", "dynamodb"] = "sqlite"
    dynamodb_endpoint_url: str | None = None
    secrets_backend: Literal["vault", "aws"] = "vault"
    secrets_endpoint_url: str | None = None
    # With a KMS key, integration configs are envelope-encrypted under KMS instead of the local key.
    kms_key_id: str | None = None
    kms_endpoint_url: str | None = None
    rule_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    allow_private_targets: bool = False
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    # A secret-store reference (ARN) for the SMTP password; never the password itself.
    smtp_password_secret: str | None = None
    smtp_timeout_seconds: float = 30.0
    # Where alert links in messages point (the web UI of this installation).
    public_url: str = "http://127.0.0.1:8000"
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # Delivery retries: a failed delivery is retried with backoff for this long, then dead.
    delivery_max_age_seconds: float = Field(default=86_400.0, gt=0, le=30 * 86_400.0)
    delivery_backoff_seconds: float = 2.0
    delivery_backoff_max_seconds: float = 600.0
    # A worker that dies mid-delivery loses its claim after this; another worker then resends.
    # Longer than any send's own deadline (webhook `timeout_seconds` is at most 120 s).
    delivery_lease_seconds: float = 300.0
    # A worker holding a rule renews its lease every third of this while the run is alive; a
    # crashed worker's rules are taken over within one lease plus one tick.
    rule_lease_seconds: float = Field(default=60.0, ge=3.0, le=3600.0)
    # An event re-ingested within this long after it was stored is counted as a duplicate, not stored.
    dedup_horizon_seconds: float = Field(default=7 * 86_400.0, ge=0.0, le=366 * 86_400.0)
    # The longest window one run covers; a rule further behind catches up over several runs.
    max_run_window_seconds: float = Field(default=86_400.0, ge=60.0, le=30 * 86_400.0)
    # Questions in plain English and rule drafting with each user's own LLM (docs/LLM.md).
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    # A provider asking to wait longer than this (Retry-After) fails at once, saying when to retry.
    llm_max_retry_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    query_max_rows: int = Field(default=1000, ge=1, le=100_000)
    query_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    query_memory_mb: int = Field(default=512, ge=64, le=65_536)
    query_threads: int = Field(default=2, ge=1, le=64)
    query_history_days: int = Field(default=30, ge=1, le=3650)
    query_cache_seconds: int = Field(default=3600, ge=0, le=30 * 86_400)
    # Example values per field sent to the model with the schema (0: none leave the server).
    query_schema_examples: int = Field(default=3, ge=0, le=10)
    # MITRE's enterprise-attack.json (a file, or an https URL) for checking rules' attack.* tags;
    # unset, pySigma downloads it. Installations without internet access point this at a local copy.
    attack_data: str | None = None
    config_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then the optional TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        file = os.environ.get("MANTISSA_CONFIG_FILE")
        if file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(file)))
        return tuple(sources)

    @property
    def state_path(self) -> Path:
        return self.home / "state.db"

    @property
    def master_key_path(self) -> Path:
        return self.home / "keys" / "master.key"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def rules_dir(self) -> Path:
        return self.home / "rules"

    @property
    def cache_dir(self) -> Path:
        """Data we can fetch or rebuild again (pySigma's parsed ATT&CK lists); safe to delete."""
        return self.home / "cache"

    @property
    def region(self) -> str:
        return self.aws_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and file), with a clear error naming the bad variable."""
    file = os.environ.get("MANTISSA_CONFIG_FILE")
    if file and not Path(file).is_file():
        raise ConfigError(f"MANTISSA_CONFIG_FILE points to a missing file: {file}", field="MANTISSA_CONFIG_FILE")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "MANTISSA_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']}", field=name) from None

"""Process configuration: environment variables `MANTISSA_*`, optionally a TOML file.

Nothing here is built at import time; `load_settings()` is called by the edges (CLI, app factory).
The embedded default needs no configuration at all.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
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
    # DynamoDB mode shares state across hosts, so every host must read the same keys: a keyring
    # document (the master key file's format) kept in Secrets Manager under this id, created by
    # `mantissa-log init`. Without it (and without KMS) a host would make a key no other host has.
    master_key_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9/_+=.@:-]{1,2048}$")
    rule_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    # The lake: local Parquet files under the home, or the same partitions in S3 read by Athena.
    lake: Literal["local", "s3"] = "local"
    lake_bucket: str | None = None  # default: MANTISSA_S3_BUCKET
    lake_prefix: str = Field(default="lake/", pattern=r"^([A-Za-z0-9_.-]+/)*$")
    glue_database: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,255}$")  # default mantissa_log_<env>
    glue_endpoint_url: str | None = None
    athena_workgroup: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")  # default mantissa-log-<env>
    athena_endpoint_url: str | None = None
    # The workgroup's cutoff: a query that would scan more is cancelled by Athena (cost guard).
    athena_bytes_scanned_cutoff: int = Field(default=10 << 30, ge=10 << 20)
    allow_private_targets: bool = False
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    # A secret-store reference (ARN) for the SMTP password; never the password itself.
    smtp_password_secret: str | None = None
    # Each SMTP socket operation; the whole session gets three times it (outputs/email.py). Capped so
    # that a session always ends well within a delivery claim's longest hold (delivery/claims.py).
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # The sender every email uses unless the user picks a from_address in one of the allowed
    # domains (MANTISSA_SMTP_FROM_DOMAINS, comma-separated; default: the domain of smtp_from).
    # A user's own address outside them goes in reply_to: this server is no spoofing relay.
    smtp_from: str = Field(default="mantissa-log@localhost", pattern=r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}$")
    smtp_from_domains: str = Field(default="", pattern=r"^[A-Za-z0-9., -]*$")
    # Integration test sends per user per minute (every type): the test action is no relay either.
    test_sends_per_minute: int = Field(default=5, ge=1, le=1000)
    # Webhook templates render in worker processes with these hard limits (outputs/template_pool.py).
    template_cpu_seconds: float = Field(default=1.0, gt=0, le=30)
    template_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    template_memory_mb: int = Field(default=96, ge=48, le=4096)
    template_workers: int = Field(default=4, ge=1, le=64)
    # Ingest caps: bytes after decompression per upload or file, bytes per line (uploads are read
    # line by line), bytes per event (larger events are refused by line, the rest kept).
    max_decompressed_bytes: int = Field(default=256 << 20, ge=1 << 20)
    max_line_bytes: int = Field(default=8 << 20, ge=1 << 10)
    max_event_bytes: int = Field(default=1 << 20, ge=1 << 10)
    # Where alert links in messages point (the web UI of this installation).
    public_url: str = "http://127.0.0.1:8000"
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # Delivery retries: a failed delivery is retried with backoff for this long, then dead.
    delivery_max_age_seconds: float = Field(default=86_400.0, gt=0, le=30 * 86_400.0)
    delivery_backoff_seconds: float = 2.0
    delivery_backoff_max_seconds: float = 600.0
    # A worker that dies mid-delivery loses its claim after this; another worker then resends.
    # A live worker renews the claims of sends still running (services/delivery/claims.py), so a
    # send may take longer than this (a webhook: retry_count + 1 tries of up to 3 x timeout each).
    delivery_lease_seconds: float = 300.0
    # Processes running the outbox's delivery loop in a worker (the worker's own included): one
    # process is bound by the interpreter lock; more use more cores (docs/DELIVERY.md).
    delivery_processes: int = Field(default=1, ge=1, le=16)
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
    # The HTTP edge. Forwarding headers (X-Forwarded-For/-Proto) count only from these proxies:
    # comma-separated addresses or CIDR networks, e.g. `10.0.0.0/8,192.0.2.7`. Empty: from nobody.
    trusted_proxies: str = ""
    # A request body must keep arriving at this average pace after a first grace period (slow clients).
    body_grace_seconds: float = Field(default=5.0, gt=0, le=60)
    body_min_bytes_per_second: int = Field(default=16_384, ge=1)
    # A connection must have sent a whole request head within this (slow headers).
    request_head_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # SIGTERM: requests in flight get this long to finish, then the server stops regardless.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0, le=600)
    config_file: Path | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        networks = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                networks.append(str(ipaddress.ip_network(part, strict=False)))
            except ValueError:
                raise ValueError("use IP addresses or CIDR networks separated by commas") from None
        return ",".join(networks)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [n for n in self.trusted_proxies.split(",") if n]

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
    def audit_dir(self) -> Path:
        """The audit checkpoints a database writer cannot reach (see state/audit_checkpoints.py)."""
        return self.home / "audit"

    @property
    def cache_dir(self) -> Path:
        """Data we can fetch or rebuild again (pySigma's parsed ATT&CK lists); safe to delete."""
        return self.home / "cache"

    @property
    def sender_domains(self) -> tuple[str, ...]:
        """The domains a user's from_address may use (lower case)."""
        listed = [d.strip().lower() for d in self.smtp_from_domains.split(",") if d.strip()]
        return tuple(listed) or (self.smtp_from.rsplit("@", 1)[1].lower(),)

    @property
    def lake_bucket_name(self) -> str | None:
        return self.lake_bucket or self.s3_bucket

    @property
    def glue_database_name(self) -> str:
        return self.glue_database or "mantissa_log_" + self.environment.lower().replace("-", "_").replace(".", "_")

    @property
    def athena_workgroup_name(self) -> str:
        return self.athena_workgroup or f"mantissa-log-{self.environment}"

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

"""Collectors: log sources pulled from where they live, configured by admins.

A collector is a kind (where and how to read), a kind-specific config without any credential, an
optional secret-store reference for the credential, and a period. What its runs keep (checkpoint,
lease, status) is `CollectorState`, stored apart so a run never rewrites the configuration.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError

from mantissa_log.domain.common import Name, SecretRef, StrictModel, Timestamp, error_field
from mantissa_log.errors import ValidationFailed

CollectorKind = Literal["cloudtrail_s3", "cloudtrail_sqs", "okta", "github", "m365", "google_workspace"]
COLLECTOR_KINDS: tuple[str, ...] = ("cloudtrail_s3", "cloudtrail_sqs", "okta", "github", "m365", "google_workspace")

HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$", max_length=2048)]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
IsoStart = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")]


class CloudTrailS3Config(StrictModel):
    """An S3 bucket a trail (often an organisation trail) delivers to."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    # Up to and including `AWSLogs/`; organisation ids and account ids below it are discovered.
    prefix: Annotated[str, StringConstraints(max_length=512)] = "AWSLogs/"
    region: AwsRegion = "us-east-1"
    accounts: list[AccountId] = Field(default_factory=list, max_length=1000)  # empty: every account found
    regions: list[AwsRegion] = Field(default_factory=list, max_length=50)  # empty: every region found
    endpoint_url: HttpUrl | None = None  # an S3-compatible endpoint (checked by the outbound guard)


class CloudTrailSqsConfig(StrictModel):
    """An SQS queue receiving the bucket's S3 event notifications (directly or through SNS)."""

    queue_url: HttpUrl
    region: AwsRegion = "us-east-1"
    endpoint_url: HttpUrl | None = None
    wait_seconds: int = Field(default=1, ge=0, le=20)  # long polling per receive
    max_messages: int = Field(default=100, ge=1, le=10_000)  # per run


class OktaConfig(StrictModel):
    base_url: HttpUrl  # https://<org>.okta.com
    since: IsoStart | None = None  # first run starts here (default: 7 days before the first run)
    page_size: int = Field(default=1000, ge=1, le=1000)


class GitHubConfig(StrictModel):
    base_url: HttpUrl = "https://api.github.com"
    org: Name | None = None
    enterprise: Name | None = None
    since: IsoStart | None = None
    page_size: int = Field(default=100, ge=1, le=100)


M365ContentType = Literal[
    "Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"
]

M365_DEFAULT_TYPES: tuple[M365ContentType, ...] = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
)


class M365Config(StrictModel):
    """Office 365 Management Activity API: an Entra ID app (client credentials) of the tenant."""

    tenant_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$")]
    client_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    content_types: list[M365ContentType] = Field(default_factory=lambda: list(M365_DEFAULT_TYPES), min_length=1)
    base_url: HttpUrl = "https://manage.office.com"
    login_url: HttpUrl = "https://login.microsoftonline.com"
    since: IsoStart | None = None  # first run starts here (default: 1 day back; the API keeps 7 days)


WorkspaceApplication = Literal[
    "admin",
    "login",
    "token",
    "saml",
    "drive",
    "groups",
    "groups_enterprise",
    "user_accounts",
    "mobile",
    "calendar",
    "meet",
    "chat",
    "gcp",
    "rules",
    "access_transparency",
    "context_aware_access",
    "data_studio",
    "jamboard",
    "keep",
]

WORKSPACE_DEFAULT_APPS: tuple[WorkspaceApplication, ...] = ("admin", "login", "token", "saml")


class GoogleWorkspaceConfig(StrictModel):
    """Admin SDK Reports API through a service account with domain-wide delegation."""

    delegated_admin: Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}$")]
    applications: list[WorkspaceApplication] = Field(default_factory=lambda: list(WORKSPACE_DEFAULT_APPS), min_length=1)
    base_url: HttpUrl = "https://admin.googleapis.com"
    token_url: HttpUrl = "https://oauth2.googleapis.com/token"
    since: IsoStart | None = None  # first run starts here (default: 1 day back)
    # Reports arrive late (minutes to hours, per application): each window starts this far before
    # the previous one ended; events met again are duplicates, not stored twice.
    overlap_minutes: int = Field(default=60, ge=0, le=1440)
    page_size: int = Field(default=1000, ge=1, le=1000)


CONFIG_MODELS: dict[str, type[StrictModel]] = {
    "cloudtrail_s3": CloudTrailS3Config,
    "cloudtrail_sqs": CloudTrailSqsConfig,
    "okta": OktaConfig,
    "github": GitHubConfig,
    "m365": M365Config,
    "google_workspace": GoogleWorkspaceConfig,
}
# The lake source each kind writes to.
SOURCE_OF_KIND: dict[str, str] = {
    "cloudtrail_s3": "cloudtrail",
    "cloudtrail_sqs": "cloudtrail",
    "okta": "okta",
    "github": "github",
    "m365": "m365",
    "google_workspace": "google_workspace",
}
# Kinds that cannot work without a credential (the AWS kinds may use the host's own role).
NEEDS_SECRET = frozenset({"okta", "github", "m365", "google_workspace"})


class Collector(StrictModel):
    collector_id: Name
    kind: CollectorKind
    config: dict[str, Any]
    secret_ref: SecretRef | None = None
    every_seconds: int = Field(default=60, ge=5, le=86_400)
    enabled: bool = True
    created_at: Timestamp
    updated_at: Timestamp

    @property
    def source(self) -> str:
        return SOURCE_OF_KIND[self.kind]


def parse_config(kind: str, config: Any) -> StrictModel:
    """The kind's config model, or ValidationFailed naming `config.<field>`."""
    model = CONFIG_MODELS.get(kind)
    if model is None:
        raise ValidationFailed(f"unknown collector kind; use one of {', '.join(COLLECTOR_KINDS)}", field="kind")
    try:
        parsed = TypeAdapter(model).validate_python(config, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(first["msg"], field=error_field(("config", *first["loc"]))) from None
    if isinstance(parsed, GitHubConfig) and (parsed.org is None) == (parsed.enterprise is None):
        raise ValidationFailed("set exactly one of org and enterprise", field="config.org")
    return parsed


class CollectorState(StrictModel):
    """What a collector's runs keep. `checkpoint` is the kind's own position, as JSON text."""

    collector_id: Name
    checkpoint: str = "{}"
    lease_owner: str | None = None
    lease_until: float | None = None
    next_due: float = 0.0
    last_attempt: Timestamp | None = None
    last_success: Timestamp | None = None
    last_error: str | None = None
    last_note: str | None = None  # what the last successful run wants known (rate limited, a message left)
    newest_event: Timestamp | None = None  # the newest event (or object) time collected: the lag's origin
    events_total: int = 0
    # [minute (epoch seconds), events] over the last hour: events/hour without a time series store.
    recent: list[list[float]] = Field(default_factory=list)

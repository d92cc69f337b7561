"""Shared value types: severities, timestamps, identifiers, secret references."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
# Higher number = more severe; `severity_threshold` means "at least this".
SEVERITY_RANK: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# The one list of integration type names: pydantic's discriminated unions need it as a literal.
# Everything else a type means is in its spec (`domain/integrations/<type>.py`).
IntegrationType = Literal["slack", "jira", "pagerduty", "email", "webhook"]
INTEGRATION_TYPES: tuple[IntegrationType, ...] = get_args(IntegrationType)

BoolString = Literal["true", "false"]
CreatedFrom = Literal["web_ui", "api", "cli"]
RunStatus = Literal["success", "error"]

ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
Timestamp = Annotated[str, StringConstraints(pattern=ISO_PATTERN)]

# Identifiers a user picks: safe in URLs, file names and S3 keys.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
NAME_RE = re.compile(NAME_PATTERN)

# References to secrets look like ARNs: AWS Secrets Manager's own, or the local vault's
# `arn:mantissa-log:vault:local:<owner>:secret:<name>`.
SECRET_REF_PATTERN = (
    r"^arn:[a-z0-9-]+:(secretsmanager|vault):[A-Za-z0-9-]*:[A-Za-z0-9_.-]*:secret:[A-Za-z0-9/_+=.@-]{1,512}$"
)
SECRET_REF_RE = re.compile(SECRET_REF_PATTERN)
SecretRef = Annotated[str, StringConstraints(pattern=SECRET_REF_PATTERN)]


class StrictModel(BaseModel):
    """Base for every stored or received document: unknown keys and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)

    def dump(self) -> dict[str, Any]:
        """The item as stored: JSON-compatible, without unset optional fields."""
        return self.model_dump(mode="json", exclude_none=True)


def error_field(loc: tuple[str | int, ...], *, drop: frozenset[str] = frozenset()) -> str:
    """A pydantic location as a dotted field name, without transport prefixes and union tags."""
    parts = [str(p) for p in loc if str(p) not in drop]
    return ".".join(parts)

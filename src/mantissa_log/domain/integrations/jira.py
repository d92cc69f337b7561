"""Jira REST create-issue configuration. The API token is a secret."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import Severity, StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec, always

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=2048)]


def _default_priorities() -> dict[Severity, str]:
    return {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}


class JiraConfig(StrictModel):
    jira_url: HttpsUrl
    project_key: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,49}$")]
    issue_type: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "Task"
    priority_mapping: dict[Severity, Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=_default_priorities
    )
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    labels: list[Annotated[str, StringConstraints(pattern=r"^\S{1,255}$")]] = Field(default_factory=list)
    # Added to the seed: the account the token belongs to (Jira Cloud basic auth) and API version.
    username: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    api_version: Literal["2", "3"] | None = None  # None = v2, the version every Jira answers


SPEC = IntegrationSpec(name="jira", config_model=JiraConfig, secret_label="Jira API token", needs_secret=always)

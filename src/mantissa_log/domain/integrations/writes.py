"""Write models of the integrations API: POST/PUT bodies, dispatched on `integration_type`.

`secret` is write-only: it goes to the secret store and the item keeps only `secret_arn`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, TypeAdapter

from mantissa_log.domain.common import Name, StrictModel
from mantissa_log.domain.integrations.email import EmailConfig
from mantissa_log.domain.integrations.jira import JiraConfig
from mantissa_log.domain.integrations.pagerduty import PagerDutyConfig
from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.domain.integrations.webhook import WebhookConfig

SecretValue = Annotated[SecretStr, Field(min_length=1, max_length=8192)]


class IntegrationWriteBase(StrictModel):
    # Required on POST; on PUT it comes from the path (and must match when given).
    integration_id: Name | None = None
    enabled: bool = True
    secret: SecretValue | None = None


class SlackWrite(IntegrationWriteBase):
    integration_type: Literal["slack"]
    config: SlackConfig


class JiraWrite(IntegrationWriteBase):
    integration_type: Literal["jira"]
    config: JiraConfig


class PagerDutyWrite(IntegrationWriteBase):
    integration_type: Literal["pagerduty"]
    config: PagerDutyConfig


class EmailWrite(IntegrationWriteBase):
    integration_type: Literal["email"]
    config: EmailConfig


class WebhookWrite(IntegrationWriteBase):
    integration_type: Literal["webhook"]
    config: WebhookConfig


IntegrationWrite = Annotated[
    SlackWrite | JiraWrite | PagerDutyWrite | EmailWrite | WebhookWrite,
    Field(discriminator="integration_type"),
]
INTEGRATION_WRITE_ADAPTER: TypeAdapter[IntegrationWrite] = TypeAdapter(IntegrationWrite)

"""One parser per source family; each is `parse(data: bytes, *, filename: str = "") -> ParseResult`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mantissa_log.errors import ValidationFailed
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParsedEvent, ParseResult
from mantissa_log.lake.parsers import (
    azure,
    cloudtrail,
    gcp_audit,
    generic,
    github,
    google_workspace,
    guardduty,
    kubernetes,
    m365,
    okta,
    vpcflow,
)
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser


class Parser(Protocol):
    def __call__(self, data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult: ...


PARSERS: dict[str, Parser] = {
    "cloudtrail": cloudtrail.parse,
    "okta": okta.parse,
    "github": github.parse,
    "gcp_audit": gcp_audit.parse,
    "vpcflow": vpcflow.parse,
    "azure_signin": azure.parse_signin,
    "azure_audit": azure.parse_audit,
    "azure_activity": azure.parse_activity,
    "azure_riskdetection": azure.parse_riskdetection,
    "azure_pim": azure.parse_pim,
    "m365": m365.parse,
    "google_workspace": google_workspace.parse,
    "kubernetes": kubernetes.parse,
    "guardduty": guardduty.parse,
    "json": generic.parse,
}

# The sources whose inputs are JSON values (every one but vpcflow): the native ingest reads their
# JSON lines with DuckDB and hands what it cannot vouch for to these parsers.
JSON_PARSERS: dict[str, JsonSourceParser] = {
    "cloudtrail": cloudtrail.PARSER,
    "okta": okta.PARSER,
    "github": github.PARSER,
    "gcp_audit": gcp_audit.PARSER,
    "azure_signin": azure.SIGNIN,
    "azure_audit": azure.AUDIT,
    "azure_activity": azure.ACTIVITY,
    "azure_riskdetection": azure.RISKDETECTION,
    "azure_pim": azure.PIM,
    "m365": m365.PARSER,
    "google_workspace": google_workspace.PARSER,
    "kubernetes": kubernetes.PARSER,
    "guardduty": guardduty.PARSER,
    "json": generic.PARSER,
}


def parse(source: str, data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    """Parse an upload for `source` (one of `SOURCE_NAMES`)."""
    parser = PARSERS.get(source)
    if parser is None:
        raise ValidationFailed(f"unknown log source '{source}'; expected one of {', '.join(PARSERS)}", field="source")
    return parser(data, filename=filename, limits=limits)


def stream(
    source: str, data: bytes, result: ParseResult, limits: IngestLimits = DEFAULT_LIMITS
) -> Iterator[ParsedEvent]:
    """The upload's events as they are read (rejections and repairs go to `result`): the caller can
    store them in chunks, so an upload of many small events is never held as objects all at once."""
    if source == "vpcflow":
        return vpcflow.stream(data, result, limits)
    parser = JSON_PARSERS.get(source)
    if parser is None:
        raise ValidationFailed(f"unknown log source '{source}'; expected one of {', '.join(PARSERS)}", field="source")
    return parser.stream(data, result, limits)


__all__ = ["JSON_PARSERS", "PARSERS", "Parser", "parse", "stream"]

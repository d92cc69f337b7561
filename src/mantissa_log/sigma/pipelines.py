"""One pySigma processing pipeline per log source: the field names SigmaHQ rules use -> our event paths.

Our events keep each source's native field names (CloudTrail, Okta, GitHub audit log, GCP LogEntry),
so most SigmaHQ rules need no mapping. The exceptions are names from other shippers: SigmaHQ's GCP
rules use ECS-style `gcp.audit.*` names and a `data.` envelope (a Pub/Sub sink's wrapper); its Azure
rules use Log Analytics column names, its Microsoft 365 rules ECS-like ones (`sigma.mappings`).
"""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation, FieldPrefixMappingTransformation
from sigma.rule import SigmaLogSource

from mantissa_log.domain.log_sources import SOURCES, LogSource, source_for_logsource
from mantissa_log.sigma.mappings import SOURCE_FIELDS

# Exact field names, applied first.
FIELD_MAPPINGS: dict[str, dict[str, str]] = {
    "gcp_audit": {
        "gcp.audit.method_name": "protoPayload.methodName",
        "gcp.audit.service_name": "protoPayload.serviceName",
        "gcp.audit.resource_name": "protoPayload.resourceName",
        "gcp.audit.authentication_info.principal_email": "protoPayload.authenticationInfo.principalEmail",
        "gcp.audit.request_metadata.caller_ip": "protoPayload.requestMetadata.callerIp",
        "gcp.audit.request_metadata.caller_supplied_user_agent": (
            "protoPayload.requestMetadata.callerSuppliedUserAgent"
        ),
        "gcp.audit.status.code": "protoPayload.status.code",
        "gcp.audit.status.message": "protoPayload.status.message",
        # `resource` and `logName` belong to the LogEntry, not to protoPayload, whatever the rule says.
        "data.protoPayload.resource.type": "resource.type",
        "data.protoPayload.logName": "logName",
    },
    "vpcflow": {
        "src_ip": "srcaddr",
        "dst_ip": "dstaddr",
        "src_port": "srcport",
        "dst_port": "dstport",
    },
}

# Field name prefixes, applied after the exact names (which never start with these prefixes).
PREFIX_MAPPINGS: dict[str, dict[str, str]] = {
    "gcp_audit": {"data.": ""},
}


def pipeline_for(source: str) -> ProcessingPipeline:
    """A fresh pipeline for one key of SOURCES (empty when its names are native); pipelines hold state."""
    if source not in SOURCES:
        raise KeyError(source)
    items: list[ProcessingItem] = []
    if fields := SOURCE_FIELDS.get(source):
        items += fields.items(source)
    if mapping := FIELD_MAPPINGS.get(source):
        items.append(
            ProcessingItem(
                identifier=f"mantissa_{source}_field_names",
                transformation=FieldMappingTransformation(dict(mapping)),  # type: ignore[arg-type]
            )
        )
    if prefixes := PREFIX_MAPPINGS.get(source):
        items.append(
            ProcessingItem(
                identifier=f"mantissa_{source}_field_prefixes",
                transformation=FieldPrefixMappingTransformation(dict(prefixes)),  # type: ignore[arg-type]
            )
        )
    return ProcessingPipeline(name=f"mantissa {source}", priority=20, items=items)


def map_field(source: str, field: str) -> str:
    """The same mapping for a bare field name (correlation `group-by`)."""
    if fields := SOURCE_FIELDS.get(source):
        return fields.names.first(field)
    mapped = FIELD_MAPPINGS.get(source, {}).get(field, field)
    for prefix, replacement in PREFIX_MAPPINGS.get(source, {}).items():
        if mapped.startswith(prefix):
            return replacement + mapped[len(prefix) :]
    return mapped


def source_for_rule(logsource: SigmaLogSource) -> LogSource | None:
    """The log source a rule's `logsource` selects (product/service pairs in SOURCES)."""
    return source_for_logsource(logsource.product, logsource.service)

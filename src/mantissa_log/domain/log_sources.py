"""Log sources: how each is identified and the explicit schema its events are read with.

A `structure` is a DuckDB `json_transform` structure: every scalar leaf is VARCHAR (so numbers
and booleans compare as text, the way Sigma compares them), objects we do not enumerate stay
`JSON`, and arrays of objects are `[{...}]`. Fields outside the structure are still reachable
through the raw event (`raw`), which is always kept: no field is ever lost.
Explicit structures matter: DuckDB's JSON sampling silently drops keys that first appear late.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from mantissa_log.domain.structures.azure import (
    AZURE_ACTIVITY,
    AZURE_AUDIT,
    AZURE_PIM,
    AZURE_RISKDETECTION,
    AZURE_SIGNIN,
)
from mantissa_log.domain.structures.google_workspace import GOOGLE_WORKSPACE
from mantissa_log.domain.structures.guardduty import GUARDDUTY
from mantissa_log.domain.structures.kubernetes import KUBERNETES
from mantissa_log.domain.structures.m365 import M365

SourceName = Literal[
    "cloudtrail",
    "okta",
    "github",
    "gcp_audit",
    "vpcflow",
    "azure_signin",
    "azure_audit",
    "azure_activity",
    "azure_riskdetection",
    "azure_pim",
    "m365",
    "google_workspace",
    "kubernetes",
    "guardduty",
    "json",
]
SOURCE_NAMES: tuple[SourceName, ...] = (
    "cloudtrail",
    "okta",
    "github",
    "gcp_audit",
    "vpcflow",
    "azure_signin",
    "azure_audit",
    "azure_activity",
    "azure_riskdetection",
    "azure_pim",
    "m365",
    "google_workspace",
    "kubernetes",
    "guardduty",
    "json",
)

V = "VARCHAR"
J = "JSON"

_SESSION_ISSUER = {"type": V, "principalId": V, "arn": V, "accountId": V, "userName": V}
CLOUDTRAIL: dict[str, Any] = {
    "eventVersion": V,
    "userIdentity": {
        "type": V,
        "principalId": V,
        "arn": V,
        "accountId": V,
        "accessKeyId": V,
        "userName": V,
        "invokedBy": V,
        "identityProvider": V,
        "sessionContext": {
            "sessionIssuer": _SESSION_ISSUER,
            "attributes": {"creationDate": V, "mfaAuthenticated": V},
            "sourceIdentity": V,
            "webIdFederationData": J,
        },
    },
    "eventTime": V,
    "eventSource": V,
    "eventName": V,
    "awsRegion": V,
    "sourceIPAddress": V,
    "userAgent": V,
    "errorCode": V,
    "errorMessage": V,
    "requestParameters": J,
    "responseElements": J,
    "additionalEventData": J,
    "requestID": V,
    "eventID": V,
    "readOnly": V,
    "resources": J,
    "eventType": V,
    "apiVersion": V,
    "managementEvent": V,
    "recipientAccountId": V,
    "sharedEventID": V,
    "vpcEndpointId": V,
    "eventCategory": V,
    "serviceEventDetails": J,
    "sessionCredentialFromConsole": V,
    "tlsDetails": J,
}

OKTA: dict[str, Any] = {
    "uuid": V,
    "published": V,
    "eventType": V,
    "legacyEventType": V,
    "version": V,
    "severity": V,
    "displayMessage": V,
    "actor": {"id": V, "type": V, "alternateId": V, "displayName": V, "detailEntry": J},
    "client": J,
    "device": J,
    "authenticationContext": J,
    "outcome": {"result": V, "reason": V},
    "target": [{"id": V, "type": V, "alternateId": V, "displayName": V, "detailEntry": J}],
    "transaction": J,
    "debugContext": {"debugData": J},
    "securityContext": {"asNumber": V, "asOrg": V, "isp": V, "domain": V, "isProxy": V},
    "request": J,
}

GITHUB: dict[str, Any] = {
    "@timestamp": V,
    "_document_id": V,
    "action": V,
    "actor": V,
    "actor_id": V,
    "actor_location": J,
    "user": V,
    "user_id": V,
    "org": V,
    "org_id": V,
    "repo": V,
    "repo_id": V,
    "business": V,
    "created_at": V,
    "operation_type": V,
    "transport_protocol_name": V,
    "public_repo": V,
    "visibility": V,
    "team": V,
    "permission": V,
}

GCP_AUDIT: dict[str, Any] = {
    "insertId": V,
    "logName": V,
    "timestamp": V,
    "receiveTimestamp": V,
    "severity": V,
    "resource": J,
    "protoPayload": {
        "@type": V,
        "serviceName": V,
        "methodName": V,
        "resourceName": V,
        "authenticationInfo": J,
        "authorizationInfo": [{"permission": V, "granted": V, "resource": V, "resourceAttributes": J}],
        "requestMetadata": J,
        "request": J,
        "response": J,
        "status": J,
        "metadata": J,
    },
}

# VPC flow logs v2 default format; custom formats add columns by their header names.
VPCFLOW_V2_FIELDS: tuple[str, ...] = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)
VPCFLOW: dict[str, Any] = {name: V for name in VPCFLOW_V2_FIELDS}


class LogSource(NamedTuple):
    name: SourceName
    structure: dict[str, Any]
    # JSON paths tried in order for the event time; ingest time is used when none is present.
    time_fields: tuple[str, ...]
    id_fields: tuple[str, ...] = ()
    # Sigma logsource (product, service) pairs that select this source.
    sigma_logsources: tuple[tuple[str | None, str | None], ...] = ()

    def structure_json(self) -> str:
        return json.dumps(self.structure, separators=(",", ":"))


SOURCES: dict[str, LogSource] = {
    "cloudtrail": LogSource(
        "cloudtrail", CLOUDTRAIL, ("eventTime",), ("eventID",), (("aws", "cloudtrail"), ("aws", None))
    ),
    "okta": LogSource("okta", OKTA, ("published",), ("uuid",), (("okta", "okta"), ("okta", None))),
    "github": LogSource(
        "github", GITHUB, ("@timestamp", "created_at"), ("_document_id",), (("github", "audit"), ("github", None))
    ),
    "gcp_audit": LogSource(
        "gcp_audit", GCP_AUDIT, ("timestamp", "receiveTimestamp"), ("insertId",), (("gcp", "gcp.audit"),)
    ),
    "vpcflow": LogSource("vpcflow", VPCFLOW, ("start",), (), (("aws", "vpcflowlogs"), ("aws", "vpc_flow"))),
    # Azure Monitor diagnostic settings (storage / Event Hubs); time is the record's `time`, else the
    # Graph resource's own (some blob captures write `time` as "7/18/2026 2:03:03 PM").
    "azure_signin": LogSource(
        "azure_signin",
        AZURE_SIGNIN,
        ("time", "properties.createdDateTime"),
        ("properties.id",),
        (("azure", "signinlogs"),),
    ),
    "azure_audit": LogSource(
        "azure_audit",
        AZURE_AUDIT,
        ("time", "properties.activityDateTime"),
        ("properties.id",),
        (("azure", "auditlogs"),),
    ),
    # No event id in Activity log exports: the store hashes the raw event.
    "azure_activity": LogSource("azure_activity", AZURE_ACTIVITY, ("time",), (), (("azure", "activitylogs"),)),
    "azure_riskdetection": LogSource(
        "azure_riskdetection",
        AZURE_RISKDETECTION,
        ("time", "properties.detectedDateTime", "detectedDateTime"),
        ("properties.id", "id"),
        (("azure", "riskdetection"),),
    ),
    # PIM alert incidents carry no time of their own: ingest time stands in.
    "azure_pim": LogSource("azure_pim", AZURE_PIM, (), ("id",), (("azure", "pim"),)),
    "m365": LogSource(
        "m365",
        M365,
        ("CreationTime",),
        ("Id",),
        (
            ("m365", "audit"),
            ("m365", "threat_management"),
            ("m365", "threat_detection"),
            ("m365", "exchange"),
            ("m365", None),
        ),
    ),
    # An activity's id is (time, uniqueQualifier, applicationName, customerId): no single id field.
    "google_workspace": LogSource(
        "google_workspace",
        GOOGLE_WORKSPACE,
        ("id.time",),
        (),
        (("gcp", "google_workspace.admin"), ("gcp", "google_workspace.login"), ("google_workspace", None)),
    ),
    # `auditID` is shared by the stages of one request (RequestReceived, ResponseComplete): not an
    # event id; the store hashes the raw event.
    "kubernetes": LogSource(
        "kubernetes",
        KUBERNETES,
        ("requestReceivedTimestamp", "stageTimestamp"),
        (),
        (("kubernetes", "audit"), ("kubernetes", None)),
    ),
    # A finding keeps its `id` across updates: each update is its own event, identified by its hash.
    "guardduty": LogSource(
        "guardduty", GUARDDUTY, ("updatedAt", "detail.updatedAt", "time"), (), (("aws", "guardduty"),)
    ),
    "json": LogSource("json", {}, ("timestamp", "time", "@timestamp", "eventTime", "published"), ()),
}


def source_for_logsource(product: str | None, service: str | None) -> LogSource | None:
    """The log source a Sigma rule's `logsource` selects (exact pair first, then product only)."""
    for source in SOURCES.values():
        if (product, service) in source.sigma_logsources:
            return source
    for source in SOURCES.values():
        if (product, None) in source.sigma_logsources:
            return source
    return None

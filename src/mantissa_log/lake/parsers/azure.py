"""Azure: Entra ID sign-in, audit and risk logs and the Activity log, as diagnostic settings export
them (a storage blob or an Event Hubs capture: `{"records": [...]}` envelopes, one per line or
pretty-printed, JSON lines, JSON arrays, gzip); Entra PIM alert incidents from Microsoft Graph.

A diagnostic-settings stream often carries several categories at once, so each source keeps only
its own categories (`category`, compared case-insensitively) and rejects the others with a reason
naming the categories it expected: ingest the same capture under each source you want. Risk
detections are also accepted as Microsoft Graph returns them (`riskEventType` at the top level);
PIM incidents come from Graph pages (`{"value": [...]}`) or as JSON lines.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.checks import AnyOf, Require
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

SIGN_IN_CATEGORIES = (
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
)
AUDIT_CATEGORIES = ("AuditLogs",)
# The Activity log's categories; "Write", "Delete" and "Action" are what older exports wrote.
ACTIVITY_CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
    "Write",
    "Delete",
    "Action",
)
RISK_CATEGORIES = ("UserRiskEvents", "ServicePrincipalRiskEvents")

RECORDS = "records"


def _diagnostic(categories: tuple[str, ...], **keys: tuple[str, ...]) -> Require:
    return Require(values=(("category", categories),), what="a diagnostic-settings record", **keys)


SIGNIN = JsonSourceParser("azure_signin", _diagnostic(SIGN_IN_CATEGORIES, objects=("properties",)), envelope=RECORDS)
AUDIT = JsonSourceParser("azure_audit", _diagnostic(AUDIT_CATEGORIES, objects=("properties",)), envelope=RECORDS)
ACTIVITY = JsonSourceParser(
    "azure_activity", _diagnostic(ACTIVITY_CATEGORIES, strings=("operationName",)), envelope=RECORDS
)
RISKDETECTION = JsonSourceParser(
    "azure_riskdetection",
    AnyOf(
        (
            _diagnostic(RISK_CATEGORIES, objects=("properties",)),
            Require(strings=("riskEventType", "id"), what="a Microsoft Graph riskDetection"),
        )
    ),
    envelope=RECORDS,
)
PIM = JsonSourceParser("azure_pim", Require(strings=("@odata.type", "id")), envelope="value")


def parse_signin(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return SIGNIN.parse(data, filename=filename, limits=limits)


def parse_audit(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return AUDIT.parse(data, filename=filename, limits=limits)


def parse_activity(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return ACTIVITY.parse(data, filename=filename, limits=limits)


def parse_riskdetection(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return RISKDETECTION.parse(data, filename=filename, limits=limits)


def parse_pim(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PIM.parse(data, filename=filename, limits=limits)

"""Azure: SigmaHQ's names (mostly Log Analytics columns: `ResultType`, `AuthenticationRequirement`,
`Category`, `OperationNameValue`, ...) -> diagnostic-settings record paths (`resultType`,
`properties.authenticationRequirement`, `properties.category`, `operationName`, ...)."""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingItem
from sigma.types import SigmaString, SpecialChars

from mantissa_log.domain.structures.azure import (
    AZURE_AUDIT,
    AZURE_SIGNIN,
    RISK_DETECTION,
)
from mantissa_log.sigma.mappings.base import SourceFields, lower_first, top_level, under
from mantissa_log.sigma.transformations import FieldByValue, FieldNames, RewriteValues, Target, plain_values

_SIGNIN_TOP = top_level(AZURE_SIGNIN)
_AUDIT_TOP = top_level(AZURE_AUDIT)

SIGNIN = SourceFields(
    FieldNames(
        exact={
            "TimeGenerated": "time",
            "Id": "properties.id",
            "IPAddress": "properties.ipAddress",
            "ClientApp": "properties.clientAppUsed",
            "Username": "properties.userPrincipalName",
            "LocationDetails": "properties.location",
            "ConditionalAccessPolicies": "properties.appliedConditionalAccessPolicies",
            "ResourceIdentity": "properties.resourceId",
            # SigmaHQ's sign-in rules name the authentication flow (ROPC, device code) this way.
            "properties.message": "properties.authenticationProtocol",
        },
        # Every other Log Analytics column is the Graph signIn property of the same name.
        fallback=under("properties", _SIGNIN_TOP),
    ),
    before=lambda: [
        # The portal's and Log Analytics' "Status: Success" is error code 0; other Status values
        # (`contains: MFA Denied`) are read in the status object's text.
        ProcessingItem(
            identifier="mantissa_azure_signin_status",
            transformation=FieldByValue(field_name="Status", table={"success": ("properties.status.errorCode", "0")}),
        ),
        ProcessingItem(
            identifier="mantissa_azure_signin_protocol",
            transformation=RewriteValues(
                fields=frozenset({"properties.message"}),
                rewrite=plain_values({"Device Code": "deviceCode", "Device Code Flow": "deviceCode"}),
            ),
        ),
    ],
)


def _audit_fallback(name: str) -> Target:
    head, _, rest = name.partition(".")
    # `AdditionalDetails.<Key>`: the value of the additionalDetails entry with that key.
    if head.lower() == "additionaldetails" and rest and rest.lower() not in ("key", "value"):
        return f"properties.additionalDetails[key={rest}].value"
    # `ConsentContext.IsAdminConsent` (and its siblings) are modifiedProperties of a consent record.
    if head.lower() == "consentcontext" and rest:
        return f"properties.targetResources.modifiedProperties[displayName={name}].newValue"
    return under("properties", _AUDIT_TOP)(name)


_CONSENT_FLAGS = frozenset(f"consentcontext.{flag}" for flag in ("isadminconsent", "isapponly", "onbehalfofall"))


def _json_string(value: SigmaString) -> SigmaString | None:
    # modifiedProperties values are JSON texts: the string False is stored as "False" (quoted).
    return None if value.contains_special() else '"' + value + '"'


AUDIT = SourceFields(
    FieldNames(
        exact={
            "TimeGenerated": "time",
            "Id": "properties.id",
            # The activity's name: operationName repeats properties.activityDisplayName.
            "properties.message": "operationName",
            "ActivityType": "properties.activityDisplayName",
            # Log Analytics' Category is the directoryAudit category (the record's own is "AuditLogs").
            "Category": "properties.category",
            # Audit records have no Status: the result (success/failure) and its reason.
            "Status": ("properties.result", "properties.resultReason"),
            "Result": "properties.result",
            "failure_status_reason": "properties.resultReason",
            "AADOperationType": "properties.operationType",
            "Target": "properties.targetResources",
        },
        fallback=_audit_fallback,
    ),
    before=lambda: [
        ProcessingItem(
            identifier="mantissa_azure_audit_consent_values",
            transformation=RewriteValues(fields=_CONSENT_FLAGS, rewrite=_json_string),
        )
    ],
)


def _provider_prefix(value: SigmaString) -> SigmaString:
    # An operation name starts with its resource provider's namespace: `Microsoft.Xyz/...`.
    return value + "/" + SpecialChars.WILDCARD_MULTI


ACTIVITY = SourceFields(
    FieldNames(
        exact={
            "TimeGenerated": "time",
            "CategoryValue": "category",
            "OperationNameValue": "operationName",
            "ResourceProviderValue": "operationName",
            "ActivityStatusValue": "resultType",
            "ActivitySubstatusValue": "resultSignature",
            "Authorization": "identity.authorization",
            "Claims": "identity.claims",
            "Properties": "properties",
        }
    ),
    before=lambda: [
        ProcessingItem(
            identifier="mantissa_azure_activity_provider",
            transformation=RewriteValues(fields=frozenset({"resourceprovidervalue"}), rewrite=_provider_prefix),
        )
    ],
)

# Diagnostic records hold the riskDetection under `properties`; Graph returns it bare: both are read.
_RISK_ONLY_TOP = top_level(AZURE_SIGNIN) - top_level(RISK_DETECTION) - {"location"}
RISKDETECTION = SourceFields(
    FieldNames(
        exact={"TimeGenerated": "time", "Location": ("properties.location", "location")},
        fallback=under("properties", _RISK_ONLY_TOP, also_bare=True),
    )
)

_PIM_PREFIX = "#microsoft.graph."


def _pim_types(value: SigmaString) -> list[SigmaString] | None:
    if value.contains_special():
        return None
    name = str(value)
    names = [name]
    if name.endswith("AlertConfiguration"):
        # SigmaHQ names this alert by its configuration type; its incidents are `...AlertIncident`.
        names.append(name.removesuffix("Configuration") + "Incident")
    return [SigmaString.from_str(_PIM_PREFIX + lower_first(item)) for item in names]


PIM = SourceFields(
    # SigmaHQ's PIM rules name the alert incident's type `riskEventType`; Graph calls it @odata.type.
    FieldNames(exact={"riskEventType": "@odata.type", "alertIncidentType": "@odata.type"}),
    before=lambda: [
        ProcessingItem(
            identifier="mantissa_azure_pim_types",
            transformation=RewriteValues(fields=frozenset({"riskeventtype", "alertincidenttype"}), rewrite=_pim_types),
        )
    ],
)

AZURE_FIELDS: dict[str, SourceFields] = {
    "azure_signin": SIGNIN,
    "azure_audit": AUDIT,
    "azure_activity": ACTIVITY,
    "azure_riskdetection": RISKDETECTION,
    "azure_pim": PIM,
}

"""Microsoft 365, Google Workspace, Kubernetes and GuardDuty: SigmaHQ's names -> native paths."""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingItem

from mantissa_log.domain.structures.google_workspace import GOOGLE_WORKSPACE
from mantissa_log.sigma.fields import WHOLE_EVENT
from mantissa_log.sigma.mappings.base import SourceFields, top_level
from mantissa_log.sigma.transformations import FieldNames, RewriteValues, Target, plain_suffix_removed, plain_values

# Microsoft 365. Native names are PascalCase; SigmaHQ's exchange / threat_* rules use ECS-like
# lowercase names (eventSource, eventName, status) that would collide with native `Status` if
# compared case-insensitively: this table is case-sensitive.
_EXTENDED = ("RequestType", "ResultStatusDetail", "UserAuthenticationMethod", "KeepMeSignedIn")
M365 = SourceFields(
    FieldNames(
        exact={
            "eventSource": "Workload",
            # An Exchange cmdlet's name is the Operation; a Security & Compliance alert's is its Name.
            "eventName": ("Operation", "Name"),
            "status": "ResultStatus",
            # The record as a whole (cmdlet, parameters, ...): `contains|all` finds each value anywhere.
            "Payload": WHOLE_EVENT,
            **{name: f"ExtendedProperties[Name={name}].Value" for name in _EXTENDED},
            "UserAgent": ("UserAgent", "ExtendedProperties[Name=UserAgent].Value"),
        },
        case_sensitive=True,
    ),
    before=lambda: [
        ProcessingItem(
            identifier="mantissa_m365_status",
            # ResultStatus: Succeeded / PartiallySucceeded / Failed; True / False for Exchange cmdlets.
            transformation=RewriteValues(
                fields=frozenset({"status"}),
                rewrite=plain_values({"success": ["Succeeded", "Success", "True"], "failure": ["Failed", "False"]}),
                # Exactly `status`: native `Status` is a Security & Compliance alert's own status.
                case_sensitive=True,
            ),
        )
    ],
)

# Google Workspace: SigmaHQ's names come from the Cloud Logging export of Workspace logs
# (`protoPayload.serviceName`, `protoPayload.metadata.event.eventName`) or a flattened form
# (`eventService`, `eventName`, `setting_name`). Parameters are read by name.
_SERVICE_NAMES = ("eventService", "protoPayload.serviceName")
_WORKSPACE_TOP = top_level(GOOGLE_WORKSPACE)


def _workspace_parameter(name: str) -> Target:
    if "." in name or name.lower() in _WORKSPACE_TOP:
        return None
    base = f"events.parameters[name={name}]"
    return tuple(f"{base}.{kind}" for kind in ("value", "multiValue", "boolValue", "intValue"))


GOOGLE_WORKSPACE_FIELDS = SourceFields(
    FieldNames(
        exact={
            **{name: "id.applicationName" for name in _SERVICE_NAMES},
            "eventName": "events.name",
            "protoPayload.metadata.event.eventName": "events.name",
            "eventType": "events.type",
            "protoPayload.metadata.event.eventType": "events.type",
            "protoPayload.authenticationInfo.principalEmail": "actor.email",
            "protoPayload.requestMetadata.callerIp": "ipAddress",
        },
        prefixes={"protoPayload.metadata.event.parameter.": "events.parameters."},
        fallback=_workspace_parameter,
    ),
    before=lambda: [
        ProcessingItem(
            identifier="mantissa_google_workspace_service",
            # Cloud Logging names the service `login.googleapis.com`; the Reports API the application `login`.
            transformation=RewriteValues(
                fields=frozenset(name.lower() for name in _SERVICE_NAMES),
                rewrite=plain_suffix_removed(".googleapis.com"),
            ),
        )
    ],
)

_CONTAINERS = ("containers", "initContainers", "ephemeralContainers")
KUBERNETES = SourceFields(
    FieldNames(
        exact={
            "apiGroup": "objectRef.apiGroup",
            # SigmaHQ's pod rules name parts of the created pod's spec.
            "hostPath": "requestObject.spec.volumes.hostPath",
            "capabilities": tuple(f"requestObject.spec.{kind}.securityContext.capabilities" for kind in _CONTAINERS),
        }
    )
)

# GuardDuty: a field is read on the finding and on the finding inside an EventBridge event.
_EVENTBRIDGE_ONLY = frozenset({"version", "detail-type", "source", "account", "time", "resources", "detail"})


def _finding_or_detail(name: str) -> Target:
    if name.split(".", 1)[0].lower() in _EVENTBRIDGE_ONLY:
        return None
    return (name, f"detail.{name}")


GUARDDUTY_FIELDS = SourceFields(FieldNames(fallback=_finding_or_detail))

OTHER_FIELDS: dict[str, SourceFields] = {
    "m365": M365,
    "google_workspace": GOOGLE_WORKSPACE_FIELDS,
    "kubernetes": KUBERNETES,
    "guardduty": GUARDDUTY_FIELDS,
}

"""Azure Monitor diagnostic-settings records (Entra ID sign-in, audit, risk; the Activity log) and
Microsoft Graph PIM alert incidents.

Every diagnostic record shares the resource-log top level (`time`, `resourceId`, `operationName`,
`category`, `resultType`, `properties`, ...); what a category logs sits under `properties` in the
Microsoft Graph resource's own names (signIn, directoryAudit, riskDetection).
"""

from __future__ import annotations

from typing import Any

V = "VARCHAR"
J = "JSON"


def _top(*, identity: Any, level: str) -> dict[str, Any]:
    """The resource-log top level. Entra ID writes `Level` (a number) and `identity` as text; the
    Activity log writes `level` (a word) and `identity` as an object of claims."""
    return {
        "time": V,
        "resourceId": V,
        "operationName": V,
        "operationVersion": V,
        "category": V,
        "tenantId": V,
        "resultType": V,
        "resultSignature": V,
        "resultDescription": V,
        "durationMs": V,
        "callerIpAddress": V,
        "correlationId": V,
        "identity": identity,
        level: V,
        "location": V,
    }


_GEO = {"city": V, "state": V, "countryOrRegion": V, "geoCoordinates": J}
_KEY_VALUE = [{"key": V, "value": V}]

SIGN_IN_PROPERTIES: dict[str, Any] = {
    "id": V,
    "createdDateTime": V,
    "userDisplayName": V,
    "userPrincipalName": V,
    "userId": V,
    "userType": V,
    "appId": V,
    "appDisplayName": V,
    "ipAddress": V,
    "status": {"errorCode": V, "failureReason": V, "additionalDetails": V},
    "clientAppUsed": V,
    "userAgent": V,
    "deviceDetail": {
        "deviceId": V,
        "displayName": V,
        "operatingSystem": V,
        "browser": V,
        "isCompliant": V,
        "isManaged": V,
        "trustType": V,
    },
    "location": _GEO,
    "correlationId": V,
    "conditionalAccessStatus": V,
    "appliedConditionalAccessPolicies": [
        {
            "id": V,
            "displayName": V,
            "result": V,
            "enforcedGrantControls": J,
            "enforcedSessionControls": J,
        }
    ],
    "originalRequestId": V,
    "isInteractive": V,
    "authenticationProcessingDetails": _KEY_VALUE,
    "networkLocationDetails": J,
    "riskDetail": V,
    "riskLevelAggregated": V,
    "riskLevelDuringSignIn": V,
    "riskState": V,
    "riskEventTypes": J,
    "riskEventTypes_v2": J,
    "resourceDisplayName": V,
    "resourceId": V,
    "resourceTenantId": V,
    "homeTenantId": V,
    "tokenIssuerName": V,
    "tokenIssuerType": V,
    "authenticationDetails": [
        {
            "authenticationStepDateTime": V,
            "authenticationMethod": V,
            "authenticationMethodDetail": V,
            "succeeded": V,
            "authenticationStepResultDetail": V,
            "authenticationStepRequirement": V,
        }
    ],
    "authenticationRequirementPolicies": J,
    "authenticationRequirement": V,
    "authenticationProtocol": V,
    "alternateSignInName": V,
    "signInIdentifier": V,
    "signInIdentifierType": V,
    "servicePrincipalId": V,
    "servicePrincipalName": V,
    "managedIdentityType": V,
    "crossTenantAccessType": V,
    "incomingTokenType": V,
    "autonomousSystemNumber": V,
    "flaggedForReview": V,
    "isTenantRestricted": V,
    "mfaDetail": {"authMethod": V, "authDetail": V},
    "uniqueTokenIdentifier": V,
    "sessionId": V,
}

AZURE_SIGNIN: dict[str, Any] = {**_top(identity=V, level="Level"), "properties": SIGN_IN_PROPERTIES}

AUDIT_PROPERTIES: dict[str, Any] = {
    "id": V,
    "category": V,
    "correlationId": V,
    "result": V,
    "resultReason": V,
    "activityDisplayName": V,
    "activityDateTime": V,
    "loggedByService": V,
    "operationType": V,
    "userAgent": V,
    "initiatedBy": {
        "user": {"id": V, "displayName": V, "userPrincipalName": V, "ipAddress": V, "roles": J},
        "app": {"appId": V, "displayName": V, "servicePrincipalId": V, "servicePrincipalName": V},
    },
    "targetResources": [
        {
            "id": V,
            "displayName": V,
            "type": V,
            "userPrincipalName": V,
            "groupType": V,
            "modifiedProperties": [{"displayName": V, "oldValue": V, "newValue": V}],
            "administrativeUnits": J,
        }
    ],
    "additionalDetails": _KEY_VALUE,
}

AZURE_AUDIT: dict[str, Any] = {**_top(identity=V, level="Level"), "properties": AUDIT_PROPERTIES}

AZURE_ACTIVITY: dict[str, Any] = {
    **_top(
        identity={
            "authorization": {
                "scope": V,
                "action": V,
                "evidence": {
                    "role": V,
                    "roleAssignmentScope": V,
                    "roleAssignmentId": V,
                    "roleDefinitionId": V,
                    "principalId": V,
                    "principalType": V,
                },
            },
            "claims": J,
        },
        level="level",
    ),
    # `properties` is the event's own property bag: these keys are the common ones.
    "properties": {
        "statusCode": V,
        "statusMessage": V,
        "serviceRequestId": V,
        "eventCategory": V,
        "eventName": V,
        "operationId": V,
        "entity": V,
        "message": V,
        "hierarchy": V,
        "resourceLocation": V,
        "isComplianceCheck": V,
        "ancestors": V,
        "policies": J,
        "requestbody": J,
        "responseBody": J,
    },
}

# Microsoft Graph riskDetection / servicePrincipalRiskDetection, as diagnostic settings write it
# under `properties` (UserRiskEvents, ServicePrincipalRiskEvents) and as Graph returns it.
RISK_DETECTION: dict[str, Any] = {
    "id": V,
    "requestId": V,
    "correlationId": V,
    "riskType": V,
    "riskEventType": V,
    "riskState": V,
    "riskLevel": V,
    "riskDetail": V,
    "source": V,
    "detectionTimingType": V,
    "activity": V,
    "tokenIssuerType": V,
    "ipAddress": V,
    "activityDateTime": V,
    "detectedDateTime": V,
    "lastUpdatedDateTime": V,
    "userId": V,
    "userDisplayName": V,
    "userPrincipalName": V,
    "servicePrincipalId": V,
    "servicePrincipalDisplayName": V,
    "appId": V,
    "additionalInfo": V,
    "location": _GEO,
}

AZURE_RISKDETECTION: dict[str, Any] = {
    # `location` is text on a diagnostic record and an object on a Graph riskDetection.
    **{key: value for key, value in _top(identity=V, level="Level").items() if key != "location"},
    **{key: value for key, value in RISK_DETECTION.items() if key != "location"},
    "location": J,
    "properties": RISK_DETECTION,
}

# Microsoft Graph unifiedRoleManagementAlertIncident (PIM alerts for Entra roles): the derived
# type, named by `@odata.type`, says which alert the incident belongs to.
AZURE_PIM: dict[str, Any] = {
    "@odata.type": V,
    "id": V,
    "assigneeId": V,
    "assigneeDisplayName": V,
    "assigneeUserPrincipalName": V,
    "assignmentCreatedDateTime": V,
    "lastSignInDateTime": V,
    "lastActivationDateTime": V,
    "activationCount": V,
    "sequenceStartDateTime": V,
    "sequenceEndDateTime": V,
    "roleDefinitionId": V,
    "roleDisplayName": V,
    "roleTemplateId": V,
}

"""Amazon GuardDuty findings: the finding object (S3 export lines, `detail` of EventBridge events),
and the EventBridge event around it (`detail-type: GuardDuty Finding`)."""

from __future__ import annotations

from typing import Any

V = "VARCHAR"
J = "JSON"

FINDING: dict[str, Any] = {
    "schemaVersion": V,
    "accountId": V,
    "region": V,
    "partition": V,
    "id": V,
    "arn": V,
    "type": V,
    "resource": {
        "resourceType": V,
        "accessKeyDetails": {"accessKeyId": V, "principalId": V, "userName": V, "userType": V},
        "instanceDetails": J,
        "s3BucketDetails": J,
        "eksClusterDetails": J,
        "kubernetesDetails": J,
        "ecsClusterDetails": J,
        "containerDetails": J,
        "rdsDbInstanceDetails": J,
        "lambdaDetails": J,
    },
    "service": {
        "serviceName": V,
        "detectorId": V,
        "action": {
            "actionType": V,
            "awsApiCallAction": J,
            "networkConnectionAction": J,
            "dnsRequestAction": J,
            "portProbeAction": J,
            "kubernetesApiCallAction": J,
            "rdsLoginAttemptAction": J,
        },
        "evidence": J,
        "archived": V,
        "count": V,
        "eventFirstSeen": V,
        "eventLastSeen": V,
        "resourceRole": V,
        "featureName": V,
        "additionalInfo": J,
        "runtimeDetails": J,
        "detection": J,
    },
    "severity": V,
    "createdAt": V,
    "updatedAt": V,
    "title": V,
    "description": V,
}

GUARDDUTY: dict[str, Any] = {
    **FINDING,
    # EventBridge event fields (`id` and `region` are shared with the finding).
    "version": V,
    "detail-type": V,
    "source": V,
    "account": V,
    "time": V,
    "resources": J,
    "detail": FINDING,
}

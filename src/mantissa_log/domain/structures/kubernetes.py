"""Kubernetes audit events, `audit.k8s.io/v1` `Event` (log backend lines, webhook `EventList` items)."""

from __future__ import annotations

from typing import Any

V = "VARCHAR"
J = "JSON"

_USER = {"username": V, "uid": V, "groups": J, "extra": J}

KUBERNETES: dict[str, Any] = {
    "kind": V,
    "apiVersion": V,
    "level": V,
    "auditID": V,
    "stage": V,
    "requestURI": V,
    "verb": V,
    "user": _USER,
    "impersonatedUser": _USER,
    "sourceIPs": J,
    "userAgent": V,
    "objectRef": {
        "resource": V,
        "namespace": V,
        "name": V,
        "uid": V,
        "apiGroup": V,
        "apiVersion": V,
        "resourceVersion": V,
        "subresource": V,
    },
    "responseStatus": {"code": V, "status": V, "reason": V, "message": V, "metadata": J, "details": J},
    "requestObject": J,
    "responseObject": J,
    "requestReceivedTimestamp": V,
    "stageTimestamp": V,
    "annotations": J,
}

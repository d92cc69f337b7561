"""Google Workspace Admin SDK Reports API activities (`activities.list` items).

Each activity holds one or more `events`, each with its `parameters`: a list of name/value pairs
(`value`, `multiValue`, `boolValue`, `intValue`, ...), read by name (`parameters[name=X]`).
"""

from __future__ import annotations

from typing import Any

V = "VARCHAR"
J = "JSON"

GOOGLE_WORKSPACE: dict[str, Any] = {
    "kind": V,
    "etag": V,
    "id": {"time": V, "uniqueQualifier": V, "applicationName": V, "customerId": V},
    "actor": {"callerType": V, "email": V, "profileId": V, "key": V, "applicationInfo": J},
    "ownerDomain": V,
    "ipAddress": V,
    "networkInfo": J,
    "resourceDetails": J,
    "events": [{"type": V, "name": V, "parameters": J}],
}

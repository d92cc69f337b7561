"""Microsoft 365 Management Activity API records (`Audit.*`, `DLP.All` content blobs).

The common schema plus the service-specific keys SigmaHQ's rules and our documentation name.
`Parameters` is a list of Name/Value pairs for Exchange cmdlets and a string for Security &
Compliance cmdlets, so it stays JSON; so do the other keys whose shape differs by workload.
"""

from __future__ import annotations

from typing import Any

V = "VARCHAR"
J = "JSON"

_NAME_VALUE = [{"Name": V, "Value": V}]
_ID_TYPE = [{"ID": V, "Type": V}]

M365: dict[str, Any] = {
    # Common schema
    "Id": V,
    "RecordType": V,
    "CreationTime": V,
    "Operation": V,
    "OrganizationId": V,
    "UserType": V,
    "UserKey": V,
    "Workload": V,
    "ResultStatus": V,
    "ObjectId": V,
    "UserId": V,
    "ClientIP": V,
    "Scope": V,
    "AppAccessContext": J,
    # Exchange admin and mailbox
    "Parameters": J,
    "ModifiedProperties": J,
    "ExternalAccess": V,
    "OriginatingServer": V,
    "OrganizationName": V,
    "ModifiedObjectResolvedName": V,
    "LogonType": V,
    "MailboxGuid": V,
    "MailboxOwnerUPN": V,
    "ClientInfoString": V,
    "ClientIPAddress": V,
    "OperationProperties": _NAME_VALUE,
    "Item": J,
    "Folder": J,
    "AffectedItems": J,
    # Entra ID (AzureActiveDirectory workload)
    "AzureActiveDirectoryEventType": V,
    "ExtendedProperties": _NAME_VALUE,
    "DeviceProperties": _NAME_VALUE,
    "Actor": _ID_TYPE,
    "ActorContextId": V,
    "ActorIpAddress": V,
    "Target": _ID_TYPE,
    "TargetContextId": V,
    "ApplicationId": V,
    "ErrorNumber": V,
    "LogonError": V,
    # SharePoint / OneDrive
    "SiteUrl": V,
    "SourceFileName": V,
    "SourceFileExtension": V,
    "SourceRelativeUrl": V,
    "UserAgent": V,
    # Security & Compliance cmdlets and alerts
    "StartTime": V,
    "ClientApplication": V,
    "NonPIIParameters": J,
    "AlertId": V,
    "AlertType": V,
    "Name": V,
    "PolicyId": V,
    "Status": V,
    "Severity": V,
    "Category": V,
    "Source": V,
    "Comments": V,
    "Data": V,
    "AlertEntityId": V,
    "EntityType": V,
    # Defender for Office 365 email events (ThreatIntelligence workload)
    "Directionality": V,
    "DeliveryAction": V,
    "DetectionType": V,
    "DetectionMethod": V,
    "InternetMessageId": V,
    "NetworkMessageId": V,
    "P1Sender": V,
    "P2Sender": V,
    "Recipients": J,
    "SenderIp": V,
    "Subject": V,
    "Verdict": V,
    "MessageTime": V,
    "ThreatsAndDetectionTech": J,
    "AttachmentData": J,
}

"""Field paths and name mappings the cloud sources need: list selectors, keys with dots, the whole
event, SigmaHQ's Log Analytics / ECS-like names, and values that mean something else natively."""

from __future__ import annotations

import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.fields import (
    EACH,
    WHOLE_EVENT,
    FieldPathError,
    JsonValue,
    Part,
    StructLeaf,
    Where,
    parse_field,
    resolve,
)
from mantissa_log.sigma.pipelines import map_field
from tests.sigma.helpers import rule, run
from tests.sigma.test_athena import parse_trino

WORKSPACE = SOURCES["google_workspace"].structure


def activity(*parameters: dict[str, object]) -> dict[str, object]:
    return {"id": {"applicationName": "admin"}, "events": [{"name": "X", "parameters": list(parameters)}]}


def test_a_selector_may_hold_dots_and_a_path_may_continue_after_it() -> None:
    assert parse_field("a.b[displayName=Role.DisplayName].newValue") == (
        Part("a"),
        Part("b", Where("displayName", "Role.DisplayName")),
        Part("newValue"),
    )
    for bad in ("a..b", "a.", "a[x]", "a[=y].b", 'a"b'):
        with pytest.raises(FieldPathError):
            parse_field(bad)


def test_a_selector_reads_raw_json_through_the_selected_elements() -> None:
    paths = resolve(WORKSPACE, "events.parameters[name=NEW_VALUE].value")
    where = Where("name", "NEW_VALUE")
    assert paths == [
        JsonValue(None, ("events", EACH, "parameters", EACH, where, "value")),
        JsonValue(None, ("events", EACH, "parameters", EACH, where, "value", EACH)),
    ]


def test_selected_values_never_mix_elements() -> None:
    detection = "    sel:\n        events.parameters[name=new_value].value: 'false'\n    condition: sel"
    switched_off = activity({"name": "OLD_VALUE", "value": "true"}, {"name": "NEW_VALUE", "value": "false"})
    switched_on = activity({"name": "OLD_VALUE", "value": "false"}, {"name": "NEW_VALUE", "value": "true"})
    many = activity({"name": "NEW_VALUE", "multiValue": ["x", "false"]})
    text = rule(detection, logsource="product: gcp\n    service: google_workspace.admin")
    assert run(text, [switched_off, switched_on, many], source="google_workspace") == [0]
    multi = text.replace("].value", "].multiValue")
    assert run(multi, [switched_off, switched_on, many], source="google_workspace") == [2]
    [compiled] = compile_sigma(text)
    parse_trino(compiled.athena_predicate)


def test_keys_with_dots_and_the_whole_event() -> None:
    assert resolve(SOURCES["azure_pim"].structure, "@odata.type") == [StructLeaf(("@odata.type",))]
    assert resolve(SOURCES["m365"].structure, WHOLE_EVENT) == [JsonValue(None, ())]


def test_lists_inside_lists_keep_the_structure_spelling() -> None:
    audit = SOURCES["azure_audit"].structure
    paths = resolve(audit, "properties.TargetResources.ModifiedProperties.NewValue")
    assert all("newValue" in path.steps for path in paths if isinstance(path, JsonValue))


@pytest.mark.parametrize(
    ("source", "sigma_name", "ours"),
    [
        ("azure_signin", "UserPrincipalName", "properties.userPrincipalName"),
        ("azure_signin", "ResultType", "ResultType"),  # top level already (read case-insensitively)
        ("azure_signin", "ClientApp", "properties.clientAppUsed"),
        ("azure_audit", "category", "properties.category"),
        ("azure_audit", "additionalDetails.AdditionalInfo", "properties.additionalDetails[key=AdditionalInfo].value"),
        ("azure_activity", "OperationNameValue", "operationName"),
        ("azure_riskdetection", "riskEventType", "properties.riskEventType"),
        ("m365", "eventSource", "Workload"),
        ("m365", "Status", "Status"),  # native (an alert's status); SigmaHQ's lowercase `status` is not
        ("m365", "status", "ResultStatus"),
        ("google_workspace", "protoPayload.ServiceName", "id.applicationName"),
        ("google_workspace", "setting_name", "events.parameters[name=setting_name].value"),
        ("kubernetes", "apiGroup", "objectRef.apiGroup"),
        ("guardduty", "type", "type"),
    ],
)
def test_correlation_group_by_names_go_through_the_same_tables(source: str, sigma_name: str, ours: str) -> None:
    assert map_field(source, sigma_name) == ours


def test_values_that_mean_something_else_natively() -> None:
    def m365(detection: str, events: list[dict[str, object]]) -> list[int]:
        return run(rule(detection, logsource="product: m365\n    service: threat_management"), events, source="m365")

    alert = {"Workload": "SecurityComplianceCenter", "Operation": "AlertTriggered", "Status": "Active"}
    events = [dict(alert, ResultStatus="Succeeded"), dict(alert, ResultStatus="Failed"), {"Operation": "x"}]
    assert m365("    sel:\n        status: success\n    condition: sel", events) == [0]
    assert m365("    sel:\n        status: failure\n    condition: sel", events) == [1]
    assert m365("    sel:\n        Status: Active\n    condition: sel", events) == [0, 1]

    signin = "product: azure\n    service: signinlogs"
    ok = {"category": "SignInLogs", "properties": {"status": {"errorCode": 0}}}
    denied = {
        "category": "SignInLogs",
        "properties": {"status": {"errorCode": 500121, "additionalDetails": "MFA denied"}},
    }
    success = rule("    sel:\n        Status: Success\n    condition: sel", logsource=signin)
    assert run(success, [ok, denied], source="azure_signin") == [0]
    contains = rule("    sel:\n        Status|contains: MFA Denied\n    condition: sel", logsource=signin)
    assert run(contains, [ok, denied], source="azure_signin") == [1]


def test_provider_and_service_names_are_rewritten_to_native_values() -> None:
    activity_rule = rule(
        "    sel:\n        ResourceProviderValue: Microsoft.KeyVault\n    condition: sel",
        logsource="product: azure\n    service: activitylogs",
    )
    events = [{"operationName": "MICROSOFT.KEYVAULT/VAULTS/WRITE"}, {"operationName": "MICROSOFT.KEYVAULTX/A/WRITE"}]
    assert run(activity_rule, events, source="azure_activity") == [0]
    login_rule = rule(
        "    sel:\n        protoPayload.serviceName: login.googleapis.com\n    condition: sel",
        logsource="product: gcp\n    service: google_workspace.login",
    )
    logins = [{"id": {"applicationName": "login"}, "events": []}, {"id": {"applicationName": "admin"}, "events": []}]
    assert run(login_rule, logins, source="google_workspace") == [0]

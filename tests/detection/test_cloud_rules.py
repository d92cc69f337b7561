"""SigmaHQ's rules for the cloud sources of issue 13 run on the real lake and engine over our samples.

Each sample file is ingested as a producer writes it (the lake's native reader), then every rule
named below is compiled for its own log source and scanned by the detection engine; what it
matches must be exactly the samples listed (1-based), and the near misses nothing. Kubernetes and
GuardDuty have no rules in the corpus: the rules for them here follow SigmaHQ's style.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mantissa_log.lake import LogLake
from mantissa_log.lake.detect.duckdb_engine import DuckDbEngine
from mantissa_log.lake.detect.model import RuleScan, RuleWindow
from mantissa_log.services.detection.hunt import hunt
from mantissa_log.sigma import compile_sigma
from tests.samples import sample_path, sample_records

RULES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "rules"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# source -> corpus rule file -> the samples it must match ([] = a near miss that must not match)
EXPECTED: dict[str, dict[str, list[int]]] = {
    "azure_signin": {
        "azure_ad_azurehound_discovery.yml": [1],
        "azure_ad_only_single_factor_auth_required.yml": [1, 5],
        "azure_ad_risky_sign_ins_with_singlefactorauth_from_unknown_devices.yml": [1],
        "azure_ad_sign_ins_from_unknown_devices.yml": [1, 5],
        "azure_user_login_blocked_by_conditional_access.yml": [2],
        "azure_conditional_access_failure.yml": [2],
        "azure_login_to_disabled_account.yml": [3],
        "azure_mfa_denies.yml": [4],
        "azure_mfa_interrupted.yml": [4],
        "azure_app_ropc_authentication.yml": [5],
        "azure_ad_suspicious_signin_bypassing_mfa.yml": [5],
        "azure_app_device_code_authentication.yml": [6],
        "azure_ad_sign_ins_from_noncompliant_devices.yml": [6],
        "azure_account_lockout.yml": [7],
        "azure_blocked_account_attempt.yml": [],  # 50057, but the description is not "Failure"
        "azure_ad_device_registration_or_join_without_mfa.yml": [],
    },
    "azure_audit": {
        "azure_ad_user_added_to_admin_role.yml": [1],
        "azure_ad_users_added_to_device_admin_roles.yml": [1],
        "azure_user_account_mfa_disable.yml": [2],
        "azure_app_end_user_consent.yml": [3],
        "azure_auditlogs_laps_credential_dumping.yml": [4],
        "azure_ad_account_created_deleted.yml": [5],
        "azure_guest_invite_failure.yml": [6],
        "azure_tap_added.yml": [7],
        "azure_ad_bitlocker_key_retrieval.yml": [8],
        "azure_aad_secops_ca_policy_removedby_bad_actor.yml": [9],
        "azure_aad_secops_ca_policy_updatedby_bad_actor.yml": [],
        "azure_mfa_disabled.yml": [],
    },
    "azure_activity": {
        "azure_network_security_modified_or_deleted.yml": [1],
        "azure_granting_permission_detection.yml": [2],
        "azure_keyvault_secrets_modified_or_deleted.yml": [3],
        "azure_aadhybridhealth_adfs_new_server.yml": [4],
        "azure_subscription_permissions_elevation_via_activitylogs.yml": [5],
        "azure_creating_number_of_resources_detection.yml": [6],
        "azure_aadhybridhealth_adfs_service_delete.yml": [],
        "azure_rare_operations.yml": [],
    },
    "azure_riskdetection": {
        "azure_identity_protection_atypical_travel.yml": [1],
        "azure_identity_protection_anonymous_ip_address.yml": [2],
        "azure_identity_protection_password_spray.yml": [3],
        "azure_identity_protection_leaked_credentials.yml": [],
    },
    "azure_pim": {
        "azure_pim_account_stale.yml": [1],
        "azure_pim_role_assigned_outside_of_pim.yml": [2],
        "azure_pim_too_many_global_admins.yml": [3],
        "azure_pim_role_no_mfa_required.yml": [4],
        "azure_pim_invalid_license.yml": [],
    },
    "m365": {
        "microsoft365_activity_from_anonymous_ip_addresses.yml": [1],
        "microsoft365_impossible_travel_activity.yml": [2],
        "microsoft365_susp_email_forwarding_activity.yml": [3, 4],
        "microsoft365_new_federated_domain_added_exchange.yml": [5],
        "microsoft365_new_federated_domain_added_audit.yml": [5],
        "microsoft365_bypass_conditional_access.yml": [6],
        "microsoft365_pst_export_alert_using_new_compliancesearchaction.yml": [7],
        "microsoft365_suspicious_email_delivered.yml": [8],
        "microsoft365_disabling_mfa.yml": [9],
        "microsoft365_from_susp_ip_addresses.yml": [],
        "microsoft365_susp_inbox_rule_creation_or_update_activity.yml": [],
    },
    "google_workspace": {
        "gcp_gworkspace_application_access_levels_modified.yml": [1],
        "gcp_gworkspace_mfa_disabled.yml": [2],  # not 3: there OLD_VALUE, not NEW_VALUE, is false
        "gcp_gworkspace_user_granted_admin_privileges.yml": [4],
        "gcp_gworkspace_suspicious_login.yml": [5],
        "gcp_gworkspace_govattack.yml": [],
    },
}

LOCAL_RULES: dict[str, dict[str, tuple[str, list[int]]]] = {
    "kubernetes": {
        "exec": ("verb: create\n    objectRef.resource: pods\n    objectRef.subresource: exec", [1]),
        "secrets listed": ("verb: list\n    objectRef.resource: secrets", [2]),
        "host path": ("verb: create\n    objectRef.resource: pods\n    hostPath: '*'", [3]),
        "capabilities": ("verb: create\n    objectRef.resource: pods\n    capabilities: '*'", [3]),
        "system namespace": ("verb: create\n    objectRef.resource: pods\n    objectRef.namespace: kube-system", [3]),
        "denied": ("responseStatus.code: [401, 403]", [4]),
        "role binding": (
            "apiGroup: rbac.authorization.k8s.io\n    objectRef.resource: [clusterrolebindings, rolebindings]\n"
            "    verb: [create, delete, patch, update]",
            [5],
        ),
        "deployment deleted": ("verb: delete\n    objectRef.resource: deployments", []),
    },
    "guardduty": {
        "exfiltration": ("type|startswith: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration'", [1]),
        "high on instance": ("severity|gte: 7\n    resource.resourceType: Instance", [2]),
        "mining port": (
            "type|startswith: 'CryptoCurrency:'\n    service.action.actionType: NETWORK_CONNECTION\n"
            "    service.action.networkConnectionAction.remotePortDetails.port: 3333",
            [2],
        ),
        "ssh probe": ("service.action.portProbeAction.portProbeDetails.localPortDetails.portName: SSH", [3]),
        "tor": ("type|contains: TorIPCaller", []),
    },
}

LOGSOURCES = {"kubernetes": "product: kubernetes\n  service: audit", "guardduty": "product: aws\n  service: guardduty"}


def local_rule(source: str, title: str, selection: str) -> str:
    return (
        f"title: {title}\nlogsource:\n  {LOGSOURCES[source]}\n"
        f"detection:\n  selection:\n    {selection}\n  condition: selection\nlevel: medium\n"
    )


def rule_texts(source: str) -> list[tuple[str, str, list[int]]]:
    if source in LOCAL_RULES:
        return [(name, local_rule(source, name, body), want) for name, (body, want) in LOCAL_RULES[source].items()]
    return [(name, (RULES / name).read_text(encoding="utf-8"), want) for name, want in EXPECTED[source].items()]


def canonical(records: list[dict[str, object]]) -> list[str]:
    return sorted(json.dumps(record, sort_keys=True) for record in records)


@pytest.mark.parametrize("source", sorted([*EXPECTED, *LOCAL_RULES]))
def test_rules_match_exactly_their_samples_in_the_lake(tmp_path: Path, source: str) -> None:
    lake = LogLake(tmp_path / "lake")
    stored = lake.ingest_file(source, sample_path(source), ingest_time=T0)
    records = sample_records(source)
    assert stored.rows == len(records)
    assert stored.rejected == ()
    scans, wanted = [], []
    for name, text, want in rule_texts(source):
        [compiled] = compile_sigma(text)
        assert compiled.source == source, name
        window = RuleWindow(T0 - timedelta(minutes=5), T0 - timedelta(minutes=5), T0 + timedelta(minutes=5))
        scans.append(RuleScan(compiled, window))
        wanted.append((name, want))
    outcome = DuckDbEngine(lake).scan(source, scans)
    for (name, want), result in zip(wanted, outcome.results, strict=True):
        assert isinstance(result, list), (name, result)
        [found] = result
        assert found.count == len(want), (name, found.count, want)
        assert canonical(found.samples) == canonical([records[i - 1] for i in want]), name


def test_every_corpus_rule_of_the_new_sources_is_exercised() -> None:
    """Two matching rules and one near miss at least per source (the brief's floor)."""
    for source, rules in EXPECTED.items():
        assert sum(bool(want) for want in rules.values()) >= 2, source
        assert any(not want for want in rules.values()), source


def test_hunt_over_the_corpus_refuses_no_rule() -> None:
    rules = sorted(RULES.glob("*.yml"))
    samples = [sample_path(source) for source in sorted([*EXPECTED, *LOCAL_RULES])]
    findings = hunt(rules, samples)
    assert [f.error for f in findings if f.error and f.rule_file] == []
    # The samples of sources no corpus rule reads are named as not hunted, never skipped in silence.
    unread = sorted(Path(str(f.events_file)).stem for f in findings if f.error and not f.rule_file)
    assert unread == sorted(LOCAL_RULES)
    by_rule = {(Path(f.rule_file).name, Path(str(f.events_file)).stem): f.matches for f in findings}
    assert by_rule[("azure_mfa_denies.yml", "azure_signin")] == 1
    assert by_rule[("microsoft365_susp_email_forwarding_activity.yml", "m365")] == 2
    assert ("gcp_gworkspace_mfa_disabled.yml", "google_workspace") in by_rule
    # A sign-in rule never sees audit records: the sign-in parser refuses them (their category).
    assert not any(rule.startswith("azure_mfa_denies") and events != "azure_signin" for rule, events in by_rule)

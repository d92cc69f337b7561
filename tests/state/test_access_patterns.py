"""The seed's 12 access patterns as named repository operations, on both backends."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mantissa_log.domain.integrations import parse_integration
from mantissa_log.domain.rules import DetectionRule, ExecutionRecord, rule_s3_key
from mantissa_log.domain.settings import Preferences, UserSettings
from mantissa_log.errors import Conflict, NotFound, SecretStoreError
from mantissa_log.secrets.envelope import EnvelopeCipher, LocalKeyWrapper
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.repositories.integrations import IntegrationRepository
from mantissa_log.state.repositories.rules import DetectionRuleRepository
from mantissa_log.state.repositories.settings import UserSettingsRepository
from mantissa_log.state.tables import INTEGRATION_SETTINGS
from tests.fixtures_state import make_backend

T0 = "2026-11-27T10:00:00Z"


def rule(user: str, name: str, severity: str = "high", enabled: str = "true") -> DetectionRule:
    return DetectionRule.model_validate(
        {
            "user_id": user,
            "rule_name": name,
            "s3_key": rule_s3_key(user, name),
            "severity": severity,
            "enabled": enabled,
            "created_at": T0,
            "updated_at": T0,
        }
    )


def test_settings_get_and_update_preferences(backend: StateBackend) -> None:
    repo = UserSettingsRepository(backend)
    assert repo.get_settings("user-123") is None
    repo.put_settings(UserSettings(user_id="user-123", llm_provider="openai", created_at=T0, updated_at=T0))
    updated = repo.update_preferences("user-123", Preferences(max_tokens=512, temperature=0.3), "2026-11-27T11:00:00Z")
    again = repo.get_settings("user-123")
    assert again == updated
    assert again is not None
    assert (again.preferences.max_tokens, again.preferences.temperature) == (512, 0.3)
    assert again.llm_provider == "openai"
    assert again.updated_at == "2026-11-27T11:00:00Z"
    with pytest.raises(NotFound):
        repo.update_preferences("nobody", Preferences(), T0)
    assert repo.get_settings("nobody") is None


def test_rule_patterns(backend: StateBackend) -> None:
    repo = DetectionRuleRepository(backend)
    repo.create_rule(rule("alice", "r1", "high"))
    repo.create_rule(rule("alice", "r2", "low"))
    repo.create_rule(rule("alice", "r3", "high", enabled="false"))
    repo.create_rule(rule("bob", "r1", "high"))
    repo.create_rule(rule("bob", "r9", "critical"))
    with pytest.raises(Conflict):
        repo.create_rule(rule("alice", "r1", "low"))
    got = repo.get_rule("alice", "r1")
    assert got is not None
    assert got.severity == "high"  # the refused duplicate wrote nothing

    assert [r.rule_name for r in repo.list_rules_for_user("alice").items] == ["r1", "r2", "r3"]
    assert repo.get_rule("alice", "nope") is None

    enabled = {(r.user_id, r.rule_name) for r in repo.list_enabled_rules().items}
    assert enabled == {("alice", "r1"), ("alice", "r2"), ("bob", "r1"), ("bob", "r9")}
    high = {(r.user_id, r.rule_name) for r in repo.list_enabled_rules_by_severity("high").items}
    assert high == {("alice", "r1"), ("bob", "r1")}

    repo.set_enabled("alice", "r1", False, "2026-11-27T12:00:00Z")
    high = {(r.user_id, r.rule_name) for r in repo.list_enabled_rules_by_severity("high").items}
    assert high == {("bob", "r1")}
    assert repo.set_enabled("alice", "r3", True, T0).enabled == "true"

    batch = repo.get_rules([("alice", "r1"), ("bob", "r9"), ("carol", "x")])
    assert sorted((r.user_id, r.rule_name) for r in batch) == [("alice", "r1"), ("bob", "r9")]
    assert repo.delete_rule("alice", "r2") is True
    assert repo.delete_rule("alice", "r2") is False


def test_enabled_rules_paginate(backend: StateBackend) -> None:
    repo = DetectionRuleRepository(backend)
    for i in range(7):
        repo.create_rule(rule(f"u{i % 3}", f"rule{i}", "medium"))
    seen: list[tuple[str, str]] = []
    start = None
    while True:
        page = repo.list_enabled_rules(limit=3, start_key=start)
        seen.extend((r.user_id, r.rule_name) for r in page.items)
        if page.next_key is None:
            break
        start = page.next_key
    assert sorted(seen) == sorted((f"u{i % 3}", f"rule{i}") for i in range(7))


def test_execution_statistics(backend: StateBackend) -> None:
    repo = DetectionRuleRepository(backend)
    repo.create_rule(rule("alice", "r1"))
    repo.record_execution(
        "alice",
        "r1",
        ExecutionRecord(at="2026-11-27T10:05:00Z", status="success", duration_ms=100, data_scanned_mb=2.5),
    )
    after = repo.record_execution(
        "alice",
        "r1",
        ExecutionRecord(at="2026-11-27T10:10:00Z", status="success", duration_ms=300, data_scanned_mb=1.5, alerts=2),
    )
    assert after.executions == 2
    assert after.alert_count == 2
    assert after.data_scanned_mb == pytest.approx(4.0)
    assert after.avg_duration_ms == pytest.approx(200)
    assert after.last_execution == "2026-11-27T10:10:00Z"
    assert after.last_alert == "2026-11-27T10:10:00Z"
    failed = repo.record_execution(
        "alice", "r1", ExecutionRecord(at="2026-11-27T10:15:00Z", status="error", duration_ms=50, error="boom")
    )
    assert (failed.last_execution_status, failed.last_error, failed.executions) == ("error", "boom", 3)
    assert failed.last_alert == "2026-11-27T10:10:00Z"  # no alert this run: unchanged
    recovered = repo.record_execution(
        "alice", "r1", ExecutionRecord(at="2026-11-27T10:20:00Z", status="success", duration_ms=50)
    )
    assert recovered.last_error is None
    stored = repo.get_rule("alice", "r1")
    assert stored == recovered
    with pytest.raises(NotFound):
        repo.record_execution("alice", "ghost", ExecutionRecord(at=T0, status="success", duration_ms=1))
    assert repo.get_rule("alice", "ghost") is None


def _hammer(kind: str, home: str, environment: str, endpoint: str | None, count: int) -> None:
    backend = make_backend(kind, Path(home), environment, endpoint)
    repo = DetectionRuleRepository(backend)
    for _ in range(count):
        repo.record_execution("alice", "busy", ExecutionRecord(at=T0, status="success", duration_ms=10, alerts=1))
    backend.close()


def test_concurrent_statistics_lose_no_increment(
    backend: StateBackend, backend_kind: str, tmp_path: Path, environment_name: str, request: pytest.FixtureRequest
) -> None:
    """Two worker processes, 500 runs each, on one rule: executions ends at exactly 1000."""
    DetectionRuleRepository(backend).create_rule(rule("alice", "busy"))
    endpoint = request.getfixturevalue("moto_endpoint") if backend_kind == "dynamodb" else None
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_hammer, args=(backend_kind, str(tmp_path), environment_name, endpoint, 500))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    final = DetectionRuleRepository(backend).get_rule("alice", "busy")
    assert final is not None
    assert final.executions == 1000
    assert final.alert_count == 1000
    assert final.total_duration_ms == pytest.approx(10_000)
    assert final.avg_duration_ms == pytest.approx(10)


def _cipher(tmp_path: Path) -> EnvelopeCipher:
    return EnvelopeCipher(LocalKeyWrapper(Keyring(tmp_path / "keys" / "master.key")))


def _integration(user: str, ident: str, kind: str = "slack") -> dict[str, object]:
    config: dict[str, object] = (
        {"channel": "siem-alerts"} if kind == "slack" else {"recipients": ["a@b.co"], "from_address": "m@b.co"}
    )
    return {
        "user_id": user,
        "integration_id": ident,
        "integration_type": kind,
        "config": config,
        "created_at": T0,
        "updated_at": T0,
    }


def test_integration_patterns(backend: StateBackend, tmp_path: Path) -> None:
    repo = IntegrationRepository(backend, _cipher(tmp_path))
    repo.create_integration(parse_integration(_integration("alice", "slack-main")))
    repo.create_integration(parse_integration(_integration("alice", "mail", "email")))
    repo.create_integration(parse_integration(_integration("bob", "slack-bob")))
    with pytest.raises(Conflict):
        repo.create_integration(parse_integration(_integration("alice", "slack-main", "email")))

    assert [i.integration_id for i in repo.list_integrations_for_user("alice").items] == ["mail", "slack-main"]
    got = repo.get_integration("alice", "slack-main")
    assert got is not None
    assert got.integration_type == "slack"
    assert repo.get_integration("bob", "slack-main") is None
    by_type = {(i.user_id, i.integration_id) for i in repo.list_integrations_by_type("slack").items}
    assert by_type == {("alice", "slack-main"), ("bob", "slack-bob")}

    tested = repo.record_test(
        "alice", "slack-main", at="2026-11-27T14:00:00Z", status="error", error="HTTP 404", integration_status="error"
    )
    assert (tested.last_test, tested.last_test_status, tested.last_test_error, tested.status) == (
        "2026-11-27T14:00:00Z",
        "error",
        "HTTP 404",
        "error",
    )
    ok = repo.record_test(
        "alice", "slack-main", at="2026-11-27T15:00:00Z", status="success", error=None, integration_status="configured"
    )
    assert ok.last_test_error is None
    assert repo.get_integration("alice", "slack-main") == ok
    with pytest.raises(NotFound):
        repo.record_test("alice", "ghost", at=T0, status="success", error=None, integration_status="configured")


def test_integration_config_is_encrypted_at_rest(backend: StateBackend, tmp_path: Path) -> None:
    repo = IntegrationRepository(backend, _cipher(tmp_path))
    repo.create_integration(parse_integration(_integration("alice", "slack-main")))
    raw = backend.get(INTEGRATION_SETTINGS, {"user_id": "alice", "integration_id": "slack-main"})
    assert raw is not None
    assert "siem-alerts" not in str(raw)
    assert set(raw["config"]) >= {"ct", "wk", "n", "kid"}
    # The envelope is bound to its row: copied onto another row it does not decrypt.
    backend.put(INTEGRATION_SETTINGS, raw | {"integration_id": "copy"})
    with pytest.raises(SecretStoreError):
        repo.get_integration("alice", "copy")

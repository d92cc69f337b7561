"""The audit chain is keyed, its head is pinned outside the database, verification is incremental,
500s are audited, and anonymous noise is summarised instead of growing the log."""

from __future__ import annotations

import hashlib
import json
import stat
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mantissa_log.domain.audit import AuditRecord
from mantissa_log.services.container import Services
from mantissa_log.state.tables import AUDIT_LOG
from tests.clock import ManualClock
from tests.fixtures_api import ApiUser


def _rows(services: Services) -> list[dict[str, Any]]:
    return sorted(services.infra.backend.query_all(AUDIT_LOG, "main"), key=lambda item: int(item["seq"]))


def _unkeyed_hash(item: dict[str, Any]) -> str:
    body = {k: v for k, v in item.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_rewritten_chain_does_not_verify_without_the_key(api: TestClient, alice: ApiUser, services: Services) -> None:
    for _ in range(4):
        api.get("/api/v1/me", headers=alice.headers)
    assert services.audit.verify().ok
    rows = _rows(services)
    # The attacker's move: edit a record, then recompute every later hash (as an unkeyed chain allowed).
    rows[1]["actor"] = "mallory"
    prev = rows[0]["hash"]
    for row in rows[1:]:
        row["prev_hash"] = prev
        row["hash"] = prev = _unkeyed_hash(row)
        services.infra.backend.put(AUDIT_LOG, row)
    verdict = services.audit.verify()
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)
    assert "MAC" in (verdict.reason or "")
    stored_key = services.infra.backend.get(AUDIT_LOG, {"chain": "_keys", "seq": 1})
    assert stored_key is not None
    assert set(stored_key["envelope"]) >= {"wk", "ct"}  # the key is only ever stored wrapped


def test_deleting_the_newest_records_is_detected(api: TestClient, alice: ApiUser, services: Services) -> None:
    for _ in range(5):
        api.get("/api/v1/me", headers=alice.headers)
    head = services.audit.head()
    assert head is not None
    for seq in (head.seq, head.seq - 1):
        services.infra.backend.delete(AUDIT_LOG, {"chain": "main", "seq": seq})
    verdict = services.audit.verify()
    assert not verdict.ok
    assert verdict.first_bad_seq == head.seq - 1
    assert f"appended up to seq {head.seq}" in (verdict.reason or "")
    files = services.config.audit_dir
    assert stat.S_IMODE(files.stat().st_mode) == 0o700
    assert stat.S_IMODE((files / "head.json").stat().st_mode) == 0o600


def test_get_audit_verifies_from_the_last_checkpoint(api: TestClient, root: ApiUser, services: Services) -> None:
    for _ in range(20):
        api.get("/api/v1/me", headers=root.headers)
    first = api.get("/api/v1/admin/audit", headers=root.headers).json()["verification"]
    assert first["ok"]
    assert first["checked"] >= 20
    second = api.get("/api/v1/admin/audit", headers=root.headers).json()["verification"]
    assert second["ok"]
    assert second["verified_from"] == first["records"]
    assert second["checked"] <= 2  # the records since: the last GET itself
    # The checkpoint record itself is still checked each time.
    pinned = services.infra.backend.get(AUDIT_LOG, {"chain": "main", "seq": second["records"]})
    assert pinned is not None
    services.infra.backend.put(AUDIT_LOG, pinned | {"status": 418})
    third = services.audit.verify(full=False)
    assert not third.ok
    assert "checkpoint" in (third.reason or "")


def test_a_500_is_audited(api: TestClient, alice: ApiUser, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.settings, "get", broken)
    with TestClient(api.app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/settings", headers=alice.headers)
    assert response.status_code == 500
    newest = services.audit.newest(limit=1).items[0]
    assert (newest.actor, newest.action, newest.status, newest.outcome) == ("alice", "settings.read", 500, "error")
    assert services.audit.verify().ok


def test_anonymous_noise_is_rate_limited_and_summarised(api: TestClient, alice: ApiUser, services: Services) -> None:
    clock = ManualClock()
    services.audit.clock = clock
    for _ in range(300):
        api.get("/api/v1/settings")  # no token
    anonymous = [r for r in services.audit.newest(limit=200).items if r.actor == "anonymous"]
    assert len(anonymous) == 10
    clock.advance(60)
    api.get("/api/v1/me", headers=alice.headers)
    latest: list[AuditRecord] = services.audit.newest(limit=2).items
    assert [r.action for r in latest] == ["me.read", "audit.anonymous_suppressed"]
    summary = latest[1]
    assert summary.detail["suppressed"] == "290"
    assert summary.detail["clients"] == "1"
    assert summary.detail["top"] == "testclient=290"
    assert services.audit.verify().ok


def test_rotating_the_master_key_keeps_the_chain_verifiable(
    api: TestClient, alice: ApiUser, services: Services
) -> None:
    api.get("/api/v1/me", headers=alice.headers)
    result = services.admin.rotate_master_key()
    assert result.audit_key
    services.infra.repos.audit._key = None  # read the re-wrapped key back from the store
    api.get("/api/v1/me", headers=alice.headers)
    assert services.audit.verify().ok

"""Backup then restore gives back every table and rule body exactly; bad archives change nothing."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.domain.rules import DetectionRule, rule_s3_key
from mantissa_log.errors import ValidationFailed
from mantissa_log.services.backup import backup, restore
from mantissa_log.services.container import Services
from mantissa_log.state.codec import encode
from mantissa_log.state.tables import ALL_TABLES
from tests.api.test_integrations_api import ALL
from tests.fixtures_api import ApiUser, make_config
from tests.provisioned import build_provisioned

BODY = "title: Odd bytes \xe9\r\ndetection:\n  sel: {eventName: ConsoleLogin}\n  condition: sel\n\x00".encode()


def _populate(services: Services, api: TestClient, alice: ApiUser) -> None:
    api.put(
        "/api/v1/settings",
        headers=alice.headers,
        json={"llm_provider": "openai", "api_key": "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"},
    )
    for body in ALL:
        api.post("/api/v1/integrations", headers=alice.headers, json=body)
    for i in range(30):  # more than one batch of 25
        name = f"rule-{i:02d}"
        services.infra.repos.rules.create_rule(
            DetectionRule(
                user_id="alice",
                rule_name=name,
                s3_key=rule_s3_key("alice", name),
                created_at="2026-11-27T10:00:00Z",
                updated_at="2026-11-27T10:00:00Z",
                data_scanned_mb=1.25,
            )
        )
        services.infra.rule_bodies.put(rule_s3_key("alice", name), BODY + str(i).encode())


# Credentials are not backed up and the audit chain is never replaced (test_restore_keeps.py).
NOT_RESTORED = frozenset({"api-tokens", "audit-log"})


def _snapshot(services: Services, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    # The audit's records are written by a background thread: a read of the tables is a read of the
    # audit, so it waits for the records handed in before it, as the product's readers do (without
    # this, records of `_populate`'s last requests landed between two snapshots under load).
    services.audit.flush()
    backend = services.infra.backend
    tables = {spec.name: sorted(map(encode, backend.scan(spec))) for spec in ALL_TABLES if spec.name not in skip}
    bodies = {key: services.infra.rule_bodies.get(key) for key in services.infra.rule_bodies.keys()}  # noqa: SIM118 - RuleStore.keys(), not a dict
    return {"tables": tables, "bodies": bodies}


def test_round_trip_is_exact(
    api: TestClient,
    alice: ApiUser,
    services: Services,
    tmp_path: Path,
    backend_kind: str,
    request: pytest.FixtureRequest,
) -> None:
    _populate(services, api, alice)
    before = _snapshot(services)
    archive = tmp_path / "backup.tar.gz"
    summary = backup(services.infra.backend, services.infra.rule_bodies, archive)
    assert summary.tables["detection-rules"] == 30
    assert summary.rule_bodies == 30
    assert archive.stat().st_mode & 0o077 == 0

    # Restore into a different, empty installation that shares only the master key.
    endpoint = services.config.dynamodb_endpoint_url
    other_home = tmp_path / "other"
    (other_home / "keys").mkdir(parents=True)
    if backend_kind == "sqlite":  # on DynamoDB the keyring is already shared (Secrets Manager)
        key = services.config.master_key_path
        (other_home / "keys" / "master.key").write_bytes(key.read_bytes())
        (other_home / "keys" / "master.key").chmod(0o600)
    other_config = make_config(
        backend_kind, other_home, services.config.environment + "r", endpoint, services.config.master_key_secret
    )
    other = build_provisioned(other_config)
    try:
        restore(other.infra.backend, other.infra.rule_bodies, archive)
        assert _snapshot(other, NOT_RESTORED) == {
            "tables": {k: v for k, v in before["tables"].items() if k not in NOT_RESTORED},  # type: ignore[attr-defined]
            "bodies": before["bodies"],
        }
        # Byte-for-byte: a backup of the restored installation holds the same data (its own audit chain aside).
        again = tmp_path / "again.tar.gz"
        backup(other.infra.backend, other.infra.rule_bodies, again)
        assert _members(again) == _members(archive)
        # The restored secrets and encrypted configs are usable, not just present.
        ref = other.settings.get(_principal()).api_key_secret_id
        assert ref is not None
        assert other.infra.secrets.get(ref) == "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
        assert other.integrations.get(_principal(), "jira-security").config.dump()["project_key"] == "SEC"
    finally:
        other.close()


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    return {name: data for name, data in files.items() if name not in ("manifest.json", "tables/audit-log.jsonl")}


def _principal():  # type: ignore[no-untyped-def]
    from mantissa_log.services.identity import Principal

    return Principal("alice")


def test_bad_archive_is_refused_before_anything_changes(
    api: TestClient, alice: ApiUser, services: Services, tmp_path: Path
) -> None:
    _populate(services, api, alice)
    before = _snapshot(services)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ValidationFailed, match="unreadable backup"):
        restore(services.infra.backend, services.infra.rule_bodies, junk)
    # A real archive with one table file truncated: counts disagree with the manifest.
    good = tmp_path / "good.tar.gz"
    backup(services.infra.backend, services.infra.rule_bodies, good)
    broken = tmp_path / "broken.tar.gz"
    with tarfile.open(good) as src, tarfile.open(broken, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "tables/detection-rules.jsonl":
                data = b"\n".join(data.splitlines()[:3]) + b"\n"
                member.size = len(data)
            import io

            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(ValidationFailed, match="manifest"):
        restore(services.infra.backend, services.infra.rule_bodies, broken)
    assert _snapshot(services) == before

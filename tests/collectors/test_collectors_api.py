"""The collectors API (admin only) and CLI: CRUD, write-only credentials, test, run, status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.collectors.apiserver import api_server, okta_events
from tests.fixtures_api import ApiUser

EXE = str(Path(sys.executable).parent / "mantissa-log")
TOKEN = "00-okta-secret-token-value"


def test_crud_test_run_and_status(api: TestClient, services: Services, root: ApiUser) -> None:
    with api_server("okta", TOKEN, okta_events(40)) as server:
        body = {
            "collector_id": "okta-prod",
            "kind": "okta",
            "config": {"base_url": server.base, "since": "2026-12-01T00:00:00Z"},
            "secret": TOKEN,
            "every_seconds": 30,
        }
        created = api.post("/api/v1/admin/collectors", json=body, headers=root.headers)
        assert created.status_code == 201, created.text
        assert TOKEN not in created.text
        assert created.json()["secret_ref"].startswith("arn:")
        assert created.json()["source"] == "okta"
        assert api.post("/api/v1/admin/collectors", json=body, headers=root.headers).status_code == 409

        tested = api.post("/api/v1/admin/collectors/okta-prod/test", headers=root.headers)
        assert tested.json()["ok"] is True, tested.text
        ran = api.post("/api/v1/admin/collectors/okta-prod/run", headers=root.headers)
        assert ran.json()["accepted"] == 40
        one = api.get("/api/v1/admin/collectors/okta-prod", headers=root.headers).json()
        assert one["status"]["events_total"] == 40
        assert one["status"]["events_per_hour"] == 40
        assert one["status"]["last_success"] is not None
        assert "last_error" not in one["status"]
        listed = api.get("/api/v1/admin/collectors", headers=root.headers).json()
        assert [c["collector_id"] for c in listed["items"]] == ["okta-prod"]

        # Replace without a secret keeps the stored credential.
        kept = api.put(
            "/api/v1/admin/collectors/okta-prod",
            json={k: v for k, v in body.items() if k not in ("collector_id", "secret")} | {"enabled": False},
            headers=root.headers,
        )
        assert kept.status_code == 200, kept.text
        assert kept.json()["secret_ref"] == created.json()["secret_ref"]
        assert kept.json()["enabled"] is False
    ref = created.json()["secret_ref"]
    assert services.infra.secrets.exists(ref)
    assert api.delete("/api/v1/admin/collectors/okta-prod", headers=root.headers).status_code == 204
    assert not services.infra.secrets.exists(ref)  # the credential stored for it goes with it
    assert api.get("/api/v1/admin/collectors/okta-prod", headers=root.headers).status_code == 404


def test_bad_configs_name_the_field(api: TestClient, root: ApiUser) -> None:
    cases = [
        ({"kind": "okta", "config": {"base_url": "https://x.okta.com"}}, "secret"),
        ({"kind": "okta", "config": {"base_url": "ftp://x"}, "secret": "t"}, "config.base_url"),
        ({"kind": "cloudtrail_s3", "config": {"bucket": "b!"}}, "config.bucket"),
        ({"kind": "cloudtrail_s3", "config": {"bucket": "abc", "password": "x"}}, "config.password"),
        ({"kind": "github", "config": {"org": "a", "enterprise": "b"}, "secret": "t"}, "config.org"),
        ({"kind": "okta", "config": {"base_url": "https://x.okta.com"}, "secret_ref": "plain"}, "secret_ref"),
    ]
    for body, field in cases:
        answer = api.post("/api/v1/admin/collectors", json={"collector_id": "c", **body}, headers=root.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text, (body, answer.text)


def test_the_worker_loop_runs_due_collectors(services: Services) -> None:
    names = [name for name, _, _ in services.worker.loops()]
    assert "collectors" in names


def test_cli_add_list_test_run_remove(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = os.environ | {"MANTISSA_HOME": str(home), "MANTISSA_ALLOW_PRIVATE_TARGETS": "true", "OKTA_TOKEN": TOKEN}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([EXE, "collectors", *args], env=env, capture_output=True, text=True, timeout=120)

    with api_server("okta", TOKEN, okta_events(25)) as server:
        config = f'{{"base_url": "{server.base}", "since": "2026-12-01T00:00:00Z"}}'
        added = cli("add", "okta", "--kind", "okta", "--config", config, "--secret-env", "OKTA_TOKEN")
        assert added.returncode == 0, added.stderr
        assert cli("test", "okta").stdout.startswith("ok:")
        ran = cli("run", "okta")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert '"accepted": 25' in ran.stdout
        listed = cli("list")
        assert '"events_total": 25' in listed.stdout
        assert TOKEN not in listed.stdout
    assert TOKEN.encode() not in (home / "state.db").read_bytes()
    assert cli("remove", "okta").returncode == 0
    assert cli("list").stdout.strip() == ""
    missing = cli("run", "okta")
    assert missing.returncode == 2
    assert "collector_id" in missing.stderr

"""The integration test action over HTTP and the CLI: a marked test alert, the seed's test fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services, build_services
from tests.delivery.conftest import delivery_config
from tests.delivery.receiver import Receiver, Reply


@pytest.fixture
def client(dlv: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    token = dlv.users.issue_token("alice")
    with TestClient(create_app(dlv.config, dlv)) as api:
        yield api, {"Authorization": f"Bearer {token}"}


def test_webhook_test_action_records_success(client: tuple[TestClient, dict[str, str]], receiver: Receiver) -> None:
    api, h = client
    api.post(
        "/api/v1/integrations",
        headers=h,
        json={
            "integration_id": "hook",
            "integration_type": "webhook",
            "config": {"url": receiver.url + "/hook", "headers": {"Authorization": "Bearer ${SECRET}"}},
            "secret": "tok_1234567890abcdefXYZ",
        },
    )
    response = api.post("/api/v1/integrations/hook/test", headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "success"
    assert response.json()["http_status"] == 200
    (got,) = receiver.requests
    assert got.json()["test"] is True
    assert "test" in got.json()["rule_title"].lower()
    item = api.get("/api/v1/integrations/hook", headers=h).json()
    assert item["last_test_status"] == "success"
    assert item["status"] == "configured"
    assert "last_test_error" not in item
    assert item["last_test"].endswith("Z")


def test_slack_test_action_with_bad_token_records_error(
    client: tuple[TestClient, dict[str, str]], receiver: Receiver
) -> None:
    api, h = client
    receiver.default = Reply(403, b"invalid_token")
    api.post(
        "/api/v1/integrations",
        headers=h,
        json={
            "integration_id": "slack",
            "integration_type": "slack",
            "config": {"channel": "soc"},
            "secret": receiver.url + "/services/T000/B000/XXXX",
        },
    )
    result = api.post("/api/v1/integrations/slack/test", headers=h).json()
    assert result["status"] == "error"
    assert result["http_status"] == 403
    assert result["message"]
    assert "XXXX" not in result["message"]  # the webhook URL is a secret: never echoed
    (got,) = receiver.requests
    assert "[TEST]" in json.dumps(got.json())
    item = api.get("/api/v1/integrations/slack", headers=h).json()
    assert (item["last_test_status"], item["status"]) == ("error", "error")
    assert item["last_test_error"]


def test_private_targets_refused_unless_allowed(tmp_path: Path, environment_name: str, receiver: Receiver) -> None:
    config = delivery_config("sqlite", tmp_path / "home", environment_name, None).model_copy(
        update={"allow_private_targets": False}
    )
    services = build_services(config)
    try:
        services.users.create_user("alice")
        from tests.delivery.conftest import ALICE, add_webhook

        add_webhook(services, "hook", receiver.url)
        result = services.delivery.tester.send_test(ALICE, "hook")
        assert result.status == "error"
        assert "loopback" in result.message.lower() or "private" in result.message.lower()
        assert receiver.requests == []
        assert services.integrations.get(ALICE, "hook").last_test_status == "error"
    finally:
        services.close()


def test_cli_test_command(tmp_path: Path, environment_name: str, receiver: Receiver) -> None:
    home = tmp_path / "home"
    services = build_services(delivery_config("sqlite", home, environment_name, None))
    try:
        services.users.create_user("alice")
        from tests.delivery.conftest import add_webhook

        add_webhook(services, "hook", receiver.url)
    finally:
        services.close()
    exe = str(Path(sys.executable).parent / "mantissa-log")
    env = os.environ | {
        "MANTISSA_HOME": str(home),
        "MANTISSA_ENVIRONMENT": environment_name,
        "MANTISSA_ALLOW_PRIVATE_TARGETS": "true",
    }
    done = subprocess.run(
        [exe, "integrations", "test", "hook", "--user", "alice"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["status"], shown["http_status"]) == ("success", 200)
    assert len(receiver.requests) == 1
    receiver.default = Reply(500, b"down")
    failed = subprocess.run(
        [exe, "integrations", "test", "hook", "--user", "alice"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["http_status"] == 500

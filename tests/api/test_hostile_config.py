"""Configuration that would fail later, leak a secret or reach the metadata service is refused at
save, with the field named and the value never echoed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures_api import ApiUser

R = "aB3dE5gH7jK9mN1pQ3sT5vW7"


def _webhook(**config: Any) -> dict[str, Any]:
    return {
        "integration_id": "hook",
        "integration_type": "webhook",
        "config": {"url": "https://siem.company.com/hook", **config},
    }


@pytest.mark.parametrize(
    "value", ["a\x00b", "a\x0bb", "line\u2028break", "caf\u00e9", "tab\x7f", "x\x1b[31m"], ids=repr
)
def test_header_values_that_cannot_be_sent_are_refused_at_save(api: TestClient, alice: ApiUser, value: str) -> None:
    response = api.post("/api/v1/integrations", headers=alice.headers, json=_webhook(headers={"X-Team": value}))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "config.headers"
    assert "X-Team" in error["message"]
    assert value not in error["message"]


CREDENTIAL_HEADERS = ["Cookie", "X-Api-Token", "X-Auth-User", "X-Auth-Key", "Private-Token", "X-Authorization"]


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
def test_credential_headers_need_the_secret_placeholder(api: TestClient, alice: ApiUser, name: str) -> None:
    literal = api.post("/api/v1/integrations", headers=alice.headers, json=_webhook(headers={name: "session=abc"}))
    assert literal.status_code == 422, literal.text
    assert literal.json()["error"]["field"] == "config.headers"
    assert "${SECRET}" in literal.json()["error"]["message"]
    placeholder = _webhook(headers={name: "session=${SECRET}"}) | {"secret": "s3cr3t-value-123"}
    assert api.post("/api/v1/integrations", headers=alice.headers, json=placeholder).status_code == 201
    api.delete("/api/v1/integrations/hook", headers=alice.headers)


SECRET_URLS = {
    "Discord webhook URL": "https://discord.com/api/webhooks/123456789012345678/" + R + "_Xy-" + R,
    "Microsoft Teams webhook URL": "https://acme.webhook.office.com/webhookb2/1234abcd-12ab-34cd@9876/IncomingWebhook/"
    + R,
    "Telegram bot token": "https://api.telegram.org/bot123456789:AA" + R + R[:10] + "/sendMessage",
    "token": "https://siem.company.com/hook?token=" + R,
    "key": "https://siem.company.com/hook?team=sec&key=" + R,
    "access_token": "https://siem.company.com/hook?access_token=" + R,
    "sig": "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sp=x&sig=" + R,
}


@pytest.mark.parametrize("url", SECRET_URLS.values(), ids=SECRET_URLS.keys())
def test_secret_urls_are_refused_in_clear_fields(api: TestClient, alice: ApiUser, url: str) -> None:
    response = api.post("/api/v1/integrations", headers=alice.headers, json=_webhook(url=url))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("secret_in_plain_field", "config.url")
    assert R not in response.text


def test_a_url_token_goes_in_the_secret_and_the_url_refers_to_it(api: TestClient, alice: ApiUser) -> None:
    body = _webhook(url="https://discord.com/api/webhooks/123456789012345678/${SECRET}") | {"secret": R + "_Xy"}
    created = api.post("/api/v1/integrations", headers=alice.headers, json=body)
    assert created.status_code == 201, created.text
    assert R not in created.text
    assert created.json()["status"] == "configured"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/v1", "metadata"),
        ("http://[::ffff:169.254.169.254]/v1", "metadata"),
        ("http://[fd00:ec2::254]/v1", "metadata"),
        ("http://127.0.0.1:11434/v1", "loopback"),
        ("http://10.0.0.5/v1", "private"),
        ("ftp://8.8.8.8/v1", "pattern"),
    ],
)
def test_llm_base_url_goes_through_the_outbound_guard(api: TestClient, alice: ApiUser, url: str, words: str) -> None:
    response = api.put("/api/v1/settings", headers=alice.headers, json={"llm_provider": "openai", "llm_base_url": url})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "llm_base_url"
    assert words in error["message"]
    patched = api.patch("/api/v1/settings", headers=alice.headers, json={"llm_base_url": url})
    assert patched.status_code == 422
    assert patched.json()["error"]["field"] == "llm_base_url"


def test_a_public_llm_base_url_is_kept(api: TestClient, alice: ApiUser) -> None:
    response = api.put("/api/v1/settings", headers=alice.headers, json={"llm_base_url": "https://8.8.8.8/v1"})
    assert response.status_code == 200, response.text
    assert response.json()["llm_base_url"] == "https://8.8.8.8/v1"
    keyed = api.put("/api/v1/settings", headers=alice.headers, json={"llm_base_url": "https://8.8.8.8/v1?key=" + R})
    assert keyed.status_code == 422
    assert keyed.json()["error"]["field"] == "llm_base_url"

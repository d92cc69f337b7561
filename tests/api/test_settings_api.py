"""Settings over HTTP: seed shape, write-only API key, partial updates, clear errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.fixtures_api import ApiUser

API_KEY = "sk-ant-api03-Xy7Kp2LmQ9vB4nR8tW3zA6cD1fG5hJ0s"


def test_defaults_before_anything_is_saved(api: TestClient, alice: ApiUser) -> None:
    body = api.get("/api/v1/settings", headers=alice.headers).json()
    assert body["user_id"] == "alice"
    assert body["ui_preferences"] == {"theme": "light", "default_time_range": "24h", "items_per_page": 25}
    assert body["preferences"]["max_tokens"] == 2000
    assert "api_key_secret_id" not in body


def test_put_stores_key_as_reference_only(api: TestClient, alice: ApiUser, services: Services) -> None:
    response = api.put(
        "/api/v1/settings",
        headers=alice.headers,
        json={"llm_provider": "anthropic", "llm_model": "claude-3-5-sonnet-20241022", "api_key": API_KEY},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert API_KEY not in response.text
    assert "api_key" not in body
    ref = body["api_key_secret_id"]
    assert ref.startswith("arn:")
    assert services.infra.secrets.get(ref) == API_KEY
    fetched = api.get("/api/v1/settings", headers=alice.headers)
    assert API_KEY not in fetched.text
    assert fetched.json()["api_key_secret_id"] == ref


def test_patch_merges_and_keeps_the_secret(api: TestClient, alice: ApiUser, services: Services) -> None:
    api.put("/api/v1/settings", headers=alice.headers, json={"llm_provider": "openai", "api_key": API_KEY})
    ref = api.get("/api/v1/settings", headers=alice.headers).json()["api_key_secret_id"]
    response = api.patch("/api/v1/settings", headers=alice.headers, json={"preferences": {"temperature": 0.2}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["preferences"]["temperature"] == 0.2
    assert body["preferences"]["max_tokens"] == 2000
    assert body["llm_provider"] == "openai"
    assert body["api_key_secret_id"] == ref
    assert services.infra.secrets.get(ref) == API_KEY


def test_new_key_replaces_old_secret_and_null_removes_it(api: TestClient, alice: ApiUser, services: Services) -> None:
    api.put("/api/v1/settings", headers=alice.headers, json={"api_key": API_KEY})
    old_ref = api.get("/api/v1/settings", headers=alice.headers).json()["api_key_secret_id"]
    api.patch("/api/v1/settings", headers=alice.headers, json={"api_key": "sk-proj-N3wK3yAbCdEf0123456789GhIj"})
    new_ref = api.get("/api/v1/settings", headers=alice.headers).json()["api_key_secret_id"]
    assert new_ref != old_ref
    assert not services.infra.secrets.exists(old_ref)
    api.patch("/api/v1/settings", headers=alice.headers, json={"api_key": None})
    assert "api_key_secret_id" not in api.get("/api/v1/settings", headers=alice.headers).json()
    assert not services.infra.secrets.exists(new_ref)


def test_bad_settings_name_the_field(api: TestClient, alice: ApiUser) -> None:
    cases = [
        ("put", {"llm_provider": "cohere"}, 422, "llm_provider"),
        ("put", {"ui_preferences": {"theme": "purple"}}, 422, "ui_preferences.theme"),
        ("put", {"surprise": 1}, 422, "surprise"),
        ("put", {"preferences": {"max_tokens": "many"}}, 422, "preferences.max_tokens"),
        ("patch", {"preferences": {"temperature": 9}}, 422, "preferences.temperature"),
        ("patch", {"user_id": "bob"}, 422, "user_id"),
        ("patch", {"api_key_secret_id": "arn:aws:secretsmanager:us-east-1:1:secret:x"}, 422, "api_key_secret_id"),
        ("patch", {"llm_model": "sk-proj-Q3vT8kLm2NpX7rWy4ZbC9dHf"}, 422, "llm_model"),
    ]
    for method, payload, status, field in cases:
        response = api.request(method.upper(), "/api/v1/settings", headers=alice.headers, json=payload)
        assert response.status_code == status, (payload, response.text)
        assert response.json()["error"]["field"] == field, (payload, response.text)
    settings = api.get("/api/v1/settings", headers=alice.headers).json()
    assert settings.get("llm_provider") is None  # nothing partial was written


def test_malformed_json_is_400(api: TestClient, alice: ApiUser) -> None:
    response = api.put(
        "/api/v1/settings", headers=alice.headers | {"Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    response = api.patch(
        "/api/v1/settings", headers=alice.headers | {"Content-Type": "application/json"}, content=b"[1]"
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] != "internal"

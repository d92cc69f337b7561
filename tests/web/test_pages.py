"""The web UI's contract without a browser: sign-in, cookies, CSRF, scoping, secrets, preferences."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing
from mantissa_log.state.tables import AUDIT_LOG
from tests.factories import make_alert, now
from tests.web.helpers import csrf_of, sign_in

PAGES = [
    "/", "/alerts", "/rules", "/rules/new", "/integrations", "/integrations/new?type=slack", "/settings",
    "/query", "/admin/audit", "/admin/users",
]  # fmt: skip
FORMS = [
    "/logout", "/alerts/x/status", "/alerts/bulk-status", "/alerts/x/redeliver", "/rules/new", "/rules/r/run",
    "/rules/r/delete", "/rules/r/enable", "/integrations/new", "/integrations/i/test", "/settings/ui",
    "/settings/llm", "/admin/users",
]  # fmt: skip
SECRET = "https://hooks.slack.example/services/T000/B000/topsecretvalue"
LLM_KEY = "sk-this-is-a-secret-llm-key-000"


def slack_form(csrf: str, severities: list[str]) -> dict[str, object]:
    return {
        "integration_type": "slack",
        "integration_id": "slack-main",
        "enabled": "on",
        "severity_filter": severities,
        "secret": SECRET,
        "csrf_token": csrf,
    }


@pytest.fixture
def backend_kind() -> str:
    return "sqlite"  # the session store is tested on both backends in test_sessions.py


@pytest.fixture
def web(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.config, services)) as client:
        yield client


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    return {name: services.users.create_user(name, is_admin=name == "root")[1] for name in ("alice", "bob", "root")}


def test_every_page_and_form_needs_a_session(web: TestClient) -> None:
    for page in PAGES:
        response = web.get(page, follow_redirects=False)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/login"), page
    assert (
        web.get("/alerts?status=open", follow_redirects=False).headers["location"]
        == "/login?next=%2Falerts%3Fstatus%3Dopen"
    )
    for form in FORMS:
        response = web.post(form, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303, form
        assert response.headers["location"] == "/login", form


def test_login_sets_a_strict_httponly_cookie(web: TestClient, tokens: dict[str, str]) -> None:
    page = web.get("/login")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    response = web.post(
        "/login",
        data={"token": tokens["alice"], "csrf_token": csrf_of(page.text), "next": "/alerts"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/alerts"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mantissa_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback; see the https test below
    assert tokens["alice"] not in cookie
    assert "alice" in web.get("/").text


def test_cookie_is_secure_over_https(services: Services, tokens: dict[str, str]) -> None:
    with TestClient(create_app(services.config, services), base_url="https://testserver") as client:
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        response = client.post(
            "/login", data={"token": tokens["alice"], "csrf_token": csrf_of(page.text)}, follow_redirects=False
        )
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mantissa_session="))
        assert "Secure" in cookie
        assert "HttpOnly" in cookie


def test_login_refuses_bad_tokens_and_forged_forms(web: TestClient, tokens: dict[str, str]) -> None:
    page = web.get("/login")
    bad = web.post("/login", data={"token": "mlt_wrong", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert bad.status_code == 401
    assert "not valid" in bad.text
    assert "mantissa_session" not in bad.headers.get("set-cookie", "")
    for data in ({"token": tokens["alice"]}, {"token": tokens["alice"], "csrf_token": "forged"}):
        forged = web.post("/login", data=data, follow_redirects=False)
        assert forged.status_code == 403, data
    foreign = web.post(
        "/login",
        data={"token": tokens["alice"], "csrf_token": csrf_of(web.get("/login").text)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert web.get("/", follow_redirects=False).status_code == 303  # still signed out


def test_ingest_tokens_cannot_sign_in(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    _, shipper = services.users.create_user("shipper", role="ingest")
    narrowed = services.users.issue_token("alice", scope="ingest")
    for token in (shipper, narrowed):
        page = web.get("/login")
        refused = web.post("/login", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert refused.status_code == 403
        assert "ingest token cannot sign in" in refused.text
        assert "mantissa_session" not in refused.headers.get("set-cookie", "")
        assert web.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(web: TestClient, tokens: dict[str, str]) -> None:
    csrf = sign_in(web, tokens["alice"])
    cookie = web.cookies.get("mantissa_session")
    assert web.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).headers["location"] == "/login"
    web.cookies.set("mantissa_session", cookie or "")  # a copied cookie is worthless after logout
    assert web.get("/", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    csrf = sign_in(web, tokens["alice"])
    for data, headers in (
        ({"theme": "dark"}, {}),
        ({"theme": "dark", "csrf_token": "not-the-token"}, {}),
        ({"theme": "dark", "csrf_token": csrf}, {"Origin": "https://evil.example"}),
    ):
        refused = web.post("/settings/ui", data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    assert services.settings.get(Principal("alice")).ui_preferences.theme == "light"
    ok = web.post(
        "/settings/ui", data={"theme": "dark", "items_per_page": "2", "csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert services.settings.get(Principal("alice")).ui_preferences.theme == "dark"
    assert 'data-theme="dark"' in web.get("/").text


def test_preferences_drive_paging(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    for n in range(1, 6):
        services.infra.repos.alerts.record_firing(
            Firing(make_alert(n, rule_name=f"r{n}", created_at=services.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")), 0),
            now(),
        )
    csrf = sign_in(web, tokens["alice"])
    web.post(
        "/settings/ui", data={"theme": "light", "items_per_page": "2", "default_time_range": "30d", "csrf_token": csrf}
    )
    first = web.get("/alerts?range=all").text
    assert first.count("data-row-link") == 2
    assert "Next \u203a" in first
    second_url = re.search(r'href="(/alerts\?[^"]+)" rel="next"', first)
    assert second_url
    second = web.get(second_url.group(1).replace("&amp;", "&")).text
    assert second.count("data-row-link") == 2
    assert "\u2039 Previous" in second
    assert 'value="30d" selected' in web.get("/alerts").text  # the default range from the settings


def test_another_users_items_are_not_found(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    alert, _ = services.infra.repos.alerts.record_firing(Firing(make_alert(1, user="alice", rule_name="r1"), 0), now())
    alice_csrf = sign_in(web, tokens["alice"])
    web.post(
        "/integrations/new",
        data=slack_form(alice_csrf, ["high"]),
    )  # fmt: skip
    body = "title: T\nlogsource: {product: okta, service: okta}\ndetection: {sel: {eventType: x}, condition: sel}\n"
    web.post("/rules/new", data={"rule_name": "alices-rule", "body": body, "action": "save", "csrf_token": alice_csrf})
    assert services.rules.get(Principal("alice"), "alices-rule").rule.created_from == "web_ui"

    web.cookies.clear()
    bob_csrf = sign_in(web, tokens["bob"])
    for page in (f"/alerts/{alert.alert_id}", "/rules/alices-rule", "/integrations/slack-main"):
        assert web.get(page).status_code == 404, page
    for form in (
        f"/alerts/{alert.alert_id}/status",
        "/rules/alices-rule/delete",
        "/rules/alices-rule/disable",
        "/integrations/slack-main/delete",
        "/integrations/slack-main/test",
        "/rules/alices-rule/run",
    ):
        assert (
            web.post(form, data={"csrf_token": bob_csrf, "status": "resolved"}, follow_redirects=False).status_code
            == 404
        ), form
    for page in ("/alerts?range=all", "/rules", "/integrations", "/"):
        text = web.get(page).text
        for trace in (alert.alert_id, "alices-rule", "slack-main"):
            assert trace not in text, page
    assert services.alerts.get(Principal("alice"), alert.alert_id).alert.status == "open"
    assert services.rules.get(Principal("alice"), "alices-rule").rule.enabled == "true"


def test_admin_pages_are_for_admins(web: TestClient, tokens: dict[str, str]) -> None:
    csrf = sign_in(web, tokens["alice"])
    for page in ("/admin/audit", "/admin/users"):
        assert web.get(page).status_code == 403
    assert web.post("/admin/users", data={"user_id": "eve", "role": "admin", "csrf_token": csrf}).status_code == 403
    assert "/admin/users" not in web.get("/").text  # not in the navigation either


def test_secrets_are_write_only(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    csrf = sign_in(web, tokens["alice"])
    created = web.post(
        "/integrations/new",
        data=slack_form(csrf, ["critical", "high"]),
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    page = web.get("/integrations/slack-main").text
    assert SECRET not in page
    assert "topsecretvalue" not in page
    assert ">set<" in page
    # Saving without typing the secret keeps it.
    web.post(
        "/integrations/slack-main",
        data={
            "integration_type": "slack",
            "enabled": "on",
            "severity_filter": ["critical"],
            "channel": "soc",
            "csrf_token": csrf,
        },
    )
    stored = services.integrations.get(Principal("alice"), "slack-main")
    assert stored.secret_arn
    assert stored.config.channel == "soc"
    assert stored.config.severity_filter == ["critical"]
    web.post(
        "/settings/llm",
        data={
            "llm_provider": "anthropic",
            "llm_model": "claude",
            "max_tokens": "900",
            "temperature": "0.2",
            "api_key": LLM_KEY,
            "csrf_token": csrf,
        },
    )
    settings = services.settings.get(Principal("alice"))
    assert settings.api_key_secret_id
    assert settings.preferences.max_tokens == 900
    for page in ("/settings", "/integrations", "/integrations/slack-main", "/admin/users"):
        text = web.get(page).text
        for secret in (LLM_KEY, SECRET, "arn:mantissa-log"):
            assert secret not in text, page
    # A mistake is shown at its field, with what was typed, and never echoes the key.
    bad = web.post(
        "/settings/llm", data={"llm_provider": "anthropic", "max_tokens": "0", "api_key": LLM_KEY, "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "max_tokens" in bad.text
    assert LLM_KEY not in bad.text


def test_new_tokens_are_shown_once(web: TestClient, services: Services, tokens: dict[str, str]) -> None:
    csrf = sign_in(web, tokens["root"])
    created = web.post("/admin/users", data={"user_id": "priya", "role": "analyst", "csrf_token": csrf})
    token = re.search(r'value="(mlt_[^"]+)"', created.text)
    assert created.status_code == 200
    assert token
    assert created.headers["cache-control"] == "no-store"
    assert services.users.authenticate(token.group(1)).user_id == "priya"
    assert not services.users.authenticate(token.group(1)).is_admin
    assert token.group(1) not in web.get("/admin/users").text
    services.audit.flush()  # audit records are written off the request path; the raw table is read below
    stored_audit = str(list(services.infra.backend.scan(AUDIT_LOG)))
    assert "web.admin.user.create" in stored_audit
    assert token.group(1) not in stored_audit


def test_unknown_addresses_answer_in_kind(web: TestClient, tokens: dict[str, str]) -> None:
    page = web.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "There is no page at this address" in page.text
    # The API answers JSON, and only to a token (authentication comes before routing: api/edge.py).
    assert web.get("/api/v1/no-such-route", headers={"Accept": "text/html"}).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['alice']}"}
    api = web.get("/api/v1/no-such-route", headers={"Accept": "text/html"} | bearer)
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    assert web.patch("/api/v1/rules", headers=bearer).status_code == 405
    sign_in(web, tokens["alice"])
    again = web.get("/login?next=/rules", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/rules"
    assert web.get("/login?next=https://evil.example/", follow_redirects=False).headers["location"] == "/"

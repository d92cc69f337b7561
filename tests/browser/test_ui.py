"""The web UI in headless Chromium against a real server: what an analyst does in a day."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, arrived, sign_in
from tests.delivery.receiver import Receiver

pytestmark = pytest.mark.xdist_group("browser")

RULE_WITH_ERROR = """title: Browser test lockouts
logsource:
  product: okta
  service: okta
detection:
  selection:
    eventType|containz: lock
    actor.alternateId: {actor}
  condition: selection
level: high
suppression: 1h
tests:
  - name: a lockout of the test user
    match: true
    event: {{eventType: user.account.lock, actor: {{alternateId: {actor}}}}}
  - name: someone else
    match: false
    event: {{eventType: user.account.lock, actor: {{alternateId: nobody@acme.example}}}}
"""


def ingest_okta(server: Server, events: list[dict[str, object]]) -> None:
    body = "\n".join(json.dumps(e) for e in events)
    response = httpx.post(
        f"{server.url}/api/v1/ingest/okta", content=body, headers={"Authorization": f"Bearer {server.ingest_token}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events)


def test_sign_in_shows_the_demo_and_works_by_keyboard(context: object, server: Server) -> None:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "/alerts")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Falerts$"))
    page.fill("#token", "mlt_wrong")
    page.press("#token", "Enter")
    expect(page.locator(".flash-error")).to_contain_text("not valid")
    page.fill("#token", server.admin_token)
    page.press("#token", "Enter")
    arrived(page, server.url + "/alerts")
    # The demo's intrusion raised alerts; the overview counts them.
    page.keyboard.press("g")
    page.keyboard.press("o")
    arrived(page, server.url + "/")
    alerts = int(page.locator(".kpi >> nth=0").locator(".kpi-value").inner_text())
    assert alerts >= 15
    expect(page.locator(".chart-bars")).to_be_visible()
    # Keyboard only: g a to the alerts, j to the first row, Enter opens it.
    page.keyboard.press("g")
    page.keyboard.press("a")
    arrived(page, server.url + "/alerts")
    page.keyboard.press("j")
    first = page.locator("[data-row-link] >> nth=0")
    expect(first).to_be_focused()
    title = first.inner_text()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(title)
    expect(page.locator("#h-samples")).to_be_visible()


def test_write_a_rule_fix_its_error_run_it_and_triage_the_alert(admin_page: Page, server: Server) -> None:
    page = admin_page
    actor = f"browser.{uuid.uuid4().hex[:8]}@acme.example"
    ingest_okta(
        server,
        [
            {"uuid": str(uuid.uuid4()), "published": f"2026-11-27T10:00:0{n}Z", "eventType": "user.account.lock",
             "displayMessage": "Max sign in attempts exceeded", "actor": {"alternateId": actor, "type": "User"},
             "outcome": {"result": "SUCCESS"}}
            for n in range(3)
        ],
    )  # fmt: skip
    page.goto(server.url + "/rules/new")
    page.fill("#rule_name", "browser-lockouts")
    page.fill("#body", RULE_WITH_ERROR.format(actor=actor))
    page.click("button[value=validate]")
    error = page.locator("#rule-error")
    expect(error).to_contain_text("Line 7")
    expect(error).to_contain_text("Unknown modifier 'containz'")
    expect(error.locator(".excerpt .bad")).to_contain_text("eventType|containz: lock")
    expect(page.locator(".gutter .bad")).to_have_text("7")
    expect(page.locator("#body")).to_be_focused()  # the caret waits on the bad line

    page.fill(
        "#body", RULE_WITH_ERROR.format(actor=actor).replace("eventType|containz: lock", "eventType|contains: lock")
    )
    page.click("button[value=test]")
    expect(page.locator("section:has(#h-tests) .card-head .chip")).to_have_text("2/2 passed")
    page.click("button[value=save]")
    expect(page).to_have_url(server.url + "/rules/browser-lockouts")
    expect(page.locator(".flash-success")).to_contain_text("saved")
    expect(page.locator(".subline")).to_contain_text("made in web ui")

    page.select_option("#range", "1h")
    page.click("button:has-text('Run now')")
    expect(page.locator("[data-matches]")).to_have_text("3")
    expect(page.locator("#h-runsamples")).to_be_visible()
    expect(page.locator(".samples, .kv").first).to_contain_text(actor)
    page.locator(".run-result a.mono").first.click()

    expect(page.locator("h1")).to_contain_text("Browser test lockouts")
    expect(page.locator(".triage .card-head .chip")).to_have_text("Open")
    page.fill("#note", "locked out by the spray; user called the help desk")
    page.click("button[value=acknowledged]")
    expect(page.locator(".flash-success")).to_contain_text("acknowledged")
    expect(page.locator(".triage .card-head .chip")).to_have_text("Acknowledged")
    expect(page.locator(".timeline")).to_contain_text("user called the help desk")
    page.click("button[value=resolved]")
    expect(page.locator(".triage .card-head .chip")).to_have_text("Resolved")
    expect(page.locator(".timeline li")).to_have_count(2)
    expect(page.locator(".timeline li").first).to_contain_text("admin")
    # The API sees the same triage.
    alert_id = page.url.rsplit("/", 1)[-1]
    read = httpx.get(
        f"{server.url}/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {server.admin_token}"}
    )
    assert read.json()["status"] == "resolved"
    assert read.json()["status_by"] == "admin"


def test_webhook_integration_and_its_test_button(admin_page: Page, server: Server) -> None:
    receiver = Receiver()
    try:
        page = admin_page
        page.goto(server.url + "/integrations")
        page.click("a[href='/integrations/new?type=webhook']")
        page.fill("#integration_id", "webhook-browser")
        page.fill("#f-url", receiver.url + "/alerts")
        page.fill("#f-headers", "X-Team: soc")
        page.fill("#secret", "browser-test-signing-secret")
        page.click("button:has-text('Create')")
        expect(page).to_have_url(server.url + "/integrations/webhook-browser")
        expect(page.locator("label[for=secret] .chip")).to_have_text("set")
        assert "browser-test-signing-secret" not in page.content()
        page.click("button:has-text('Test')")
        flash = page.locator(".flash-success")
        expect(flash).to_contain_text("success")
        expect(flash).to_contain_text("HTTP 200")
        expect(page.locator("section:has(#h-state) .card-head .chip")).to_have_text("configured")
        assert len(receiver.requests) == 1
        sent = receiver.requests[0]
        assert sent.path == "/alerts"
        assert sent.headers["x-team"] == "soc"
        assert sent.headers["x-mantissa-signature"].startswith("sha256=")
        assert sent.json()["test"] is True
        # A receiver that refuses shows the failure, its status and message.
        from tests.delivery.receiver import Reply

        receiver.default = Reply(status=503, body=b"maintenance")
        page.click("button:has-text('Test')")
        expect(page.locator(".flash-error")).to_contain_text("HTTP 503")
        expect(page.locator("section:has(#h-state) .card-head .chip")).to_have_text("error")
    finally:
        receiver.stop()


def test_theme_and_rows_per_page_apply_everywhere(admin_page: Page, server: Server) -> None:
    page = admin_page
    try:
        page.goto(server.url + "/settings")
        page.check("input[name=theme][value=dark]")
        page.fill("#items_per_page", "5")
        page.click("text=Save display")
        expect(page.locator(".flash-success")).to_contain_text("Preferences saved")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        # The flash is in the DOM before the stylesheet has loaded, so the colour is awaited,
        # not read once (a single read saw the unstyled transparent body under load).
        expect(page.locator("body")).to_have_css("background-color", "rgb(12, 16, 22)")
        page.goto(server.url + "/alerts?range=all")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        expect(page.locator("[data-row-link]")).to_have_count(5)
        page.click("text=Next \u203a")
        expect(page.locator("[data-row-link]")).to_have_count(5)
        expect(page.locator(".pager")).to_contain_text("page 2")
        page.goto(server.url + "/rules")
        expect(page.locator("[data-row-link]")).to_have_count(5)
    finally:
        # Back to the defaults for the other tests, even when an assertion above failed.
        page.goto(server.url + "/settings")
        page.check("input[name=theme][value=light]")
        page.fill("#items_per_page", "25")
        page.click("text=Save display")
        expect(page.locator("html")).to_have_attribute("data-theme", "light")


def test_a_second_user_sees_nothing_of_the_first(admin_page: Page, browser: Browser, server: Server) -> None:
    page = admin_page
    page.goto(server.url + "/alerts?range=all")
    admin_alert = page.locator("[data-row-link] >> nth=0").get_attribute("href")
    page.goto(server.url + "/admin/users")
    page.fill("#user_id", "bob")
    page.check("input[name=role][value=analyst]")
    page.click("text=Create user and token")
    token = page.locator("#new-token").input_value()
    assert token.startswith("mlt_")
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)  # shown once

    bob = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        view = bob.new_page()
        sign_in(view, server, token)
        expect(view.locator(".me-name")).to_have_text("bob")
        view.goto(server.url + "/alerts?range=all")
        expect(view.locator(".empty")).to_be_visible()
        expect(view.locator("[data-row-link]")).to_have_count(0)
        view.goto(server.url + "/rules")
        expect(view.locator(".empty")).to_contain_text("No rules yet")
        view.goto(server.url + "/integrations")
        expect(view.locator("text=webhook-browser")).to_have_count(0)
        for url in (admin_alert, "/rules/okta_failed_sign_ins_for_one_user", "/integrations/webhook-browser"):
            response = view.goto(server.url + str(url))
            assert response is not None
            assert response.status == 404, url
        response = view.goto(server.url + "/admin/users")
        assert response is not None
        assert response.status == 403
        expect(view.locator("nav.nav")).not_to_contain_text("Audit log")
    finally:
        bob.close()


def test_a_form_posted_without_its_csrf_token_is_refused(admin_page: Page, server: Server) -> None:
    page = admin_page
    refused = page.request.post(server.url + "/settings/ui", form={"theme": "dark", "items_per_page": "3"})
    assert refused.status == 403
    assert "did not come from this site" in refused.text()
    forged = page.request.post(server.url + "/settings/ui", form={"theme": "dark", "csrf_token": "guessed"})
    assert forged.status == 403
    page.goto(server.url + "/alerts")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    login = page.request.post(server.url + "/login", form={"token": server.admin_token})
    assert login.status == 403

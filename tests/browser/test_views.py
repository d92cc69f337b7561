"""Screenshots of every page, light and dark, at 1280x800 and 400 px wide, into test-artifacts/screenshots.

They are for people to look at (and to compare between versions); the test also checks that no
page is wider than its window (nothing to scroll sideways but the tables that say so).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, Server, sign_in
from tests.delivery.receiver import Receiver

pytestmark = pytest.mark.xdist_group("browser")

BAD_RULE = """title: Half-written rule
logsource: {product: okta, service: okta}
detection:
  selection:
    eventType|containz: lock
  condition: selection
"""


def _rule_error(page: Page, server: Server) -> None:
    page.goto(server.url + "/rules/new")
    page.fill("#rule_name", "half-written")
    page.fill("#body", BAD_RULE)
    page.click("button[value=validate]")
    expect(page.locator("#rule-error")).to_be_visible()


def _alert(page: Page, server: Server) -> None:
    page.goto(server.url + "/alerts?range=all&rule=okta_failed_sign_ins_for_one_user")
    page.locator("[data-row-link] >> nth=0").click()
    expect(page.locator("#h-samples")).to_be_visible()


def _go(path: str) -> Callable[[Page, Server], None]:
    def visit(page: Page, server: Server) -> None:
        page.goto(server.url + path)

    return visit


VIEWS: list[tuple[str, Callable[[Page, Server], None]]] = [
    ("overview", _go("/")),
    ("alerts", _go("/alerts?range=all")),
    ("alert", _alert),
    ("rules", _go("/rules")),
    ("rule", _go("/rules/okta_failed_sign_ins_for_one_user")),
    ("rule-new", _go("/rules/new")),
    ("rule-error", _rule_error),
    ("integrations", _go("/integrations")),
    ("integration", _go("/integrations/webhook-soc")),
    ("integration-new-jira", _go("/integrations/new?type=jira")),
    ("settings", _go("/settings")),
    ("query", _go("/query")),
    ("admin-audit", _go("/admin/audit")),
    ("admin-users", _go("/admin/users")),
    ("not-found", _go("/alerts/no-such-alert")),
]


def _prepare(page: Page, server: Server, receiver: Receiver) -> None:
    """Things worth seeing: an integration that was tested, an alert being triaged."""
    page.goto(server.url + "/integrations/webhook-soc")
    if page.locator("#integration_id").count() == 0 and page.locator(".error-code").count():
        page.goto(server.url + "/integrations/new?type=webhook")
        page.fill("#integration_id", "webhook-soc")
        page.fill("#f-url", receiver.url + "/soc")
        page.fill("#secret", "screenshot-signing-secret")
        page.click("button:has-text('Create')")
        page.click("button:has-text('Test')")
        expect(page.locator(".flash-success")).to_contain_text("HTTP 200")
    page.goto(server.url + "/alerts?range=all&rule=okta_failed_sign_ins_for_one_user")
    page.locator("[data-row-link] >> nth=0").click()
    if page.locator("button[value=acknowledged]").count():
        page.fill("#note", "Spray from Tor exit nodes; password reset requested for dana.w")
        page.click("button[value=acknowledged]")
        expect(page.locator(".timeline")).to_be_visible()


def _set_theme(page: Page, server: Server, theme: str) -> None:
    page.goto(server.url + "/settings")
    page.check(f"input[name=theme][value={theme}]")
    page.click("text=Save display")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)


def test_screenshots_of_every_page(browser: Browser, server: Server) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    receiver = Receiver()
    admin = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = admin.new_page()
        sign_in(page, server)
        _prepare(page, server, receiver)
        signed_in = admin.storage_state()
        for theme in ("light", "dark"):
            _set_theme(page, server, theme)
            for width in (1280, 400):
                context = browser.new_context(viewport={"width": width, "height": 800}, storage_state=signed_in)
                view = context.new_page()
                for name, visit in VIEWS:
                    visit(view, server)
                    expect(view.locator("html")).to_have_attribute("data-theme", theme)
                    view.screenshot(path=str(ARTIFACTS / f"{name}-{theme}-{width}.png"), full_page=True)
                    overflow = view.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{name} at {width} px is {overflow} px too wide"
                context.close()
        _set_theme(page, server, "light")
        bare = browser.new_context(viewport={"width": 1280, "height": 800})
        for width in (1280, 400):
            bare.pages[0].close() if bare.pages else None
            login = bare.new_page()
            login.set_viewport_size({"width": width, "height": 800})
            login.goto(server.url + "/login")
            login.screenshot(path=str(ARTIFACTS / f"login-light-{width}.png"), full_page=True)
        bare.close()
    finally:
        admin.close()
        receiver.stop()

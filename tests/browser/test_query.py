"""`/query` in headless Chromium: a question answered by a local OpenAI-compatible server, rows seen,
the SQL edited and run again (keyboard: Ctrl+Enter)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Server
from tests.llm.fakes import MODELS, FakeLlm

pytestmark = pytest.mark.xdist_group("browser")
ANSWER_MS = 30_000  # the first question loads the SDK and describes the lake; a busy machine is slow

TOP_ACTIONS = """```sql
SELECT event.eventName AS action, count(*) AS events
FROM cloudtrail
GROUP BY ALL
ORDER BY events DESC, action
LIMIT 5
```
The five CloudTrail actions seen most often, with how many times each happened."""


def test_ask_see_rows_edit_the_sql_and_run_it_again(admin_page: Page, server: Server) -> None:
    with FakeLlm("openai").running() as fake:
        fake.answer(TOP_ACTIONS)
        settings = {"llm_provider": "openai", "llm_model": MODELS["openai"], "llm_base_url": fake.url}
        saved = httpx.patch(
            f"{server.url}/api/v1/settings",
            json=settings | {"api_key": fake.secret},
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert saved.status_code == 200, saved.text
        page = admin_page
        page.goto(server.url + "/query")
        page.keyboard.press("/")  # the question box is the page's search field
        expect(page.locator("#question")).to_be_focused()
        page.keyboard.type(f"Which CloudTrail actions happen most? ({uuid.uuid4().hex[:6]})")
        page.keyboard.press("Control+Enter")

        results = page.locator("#results")
        expect(results.locator(".card-head .chip").first).to_have_text("5 rows", timeout=ANSWER_MS)
        expect(results.locator("thead th")).to_have_text(["action", "events"])
        expect(results.locator("tbody tr")).to_have_count(5)
        expect(results).to_contain_text("actions seen most often")
        expect(page.locator("#sql")).to_have_value(re.compile("cloudtrail", re.I))
        expect(page.locator(".history li")).not_to_have_count(0)

        page.fill("#sql", "SELECT count(*) AS okta_events FROM okta")
        page.locator("#sql").press("Control+Enter")
        expect(results.locator("thead th")).to_have_text(["okta_events"], timeout=ANSWER_MS)
        expect(results.locator("tbody tr")).to_have_count(1)
        expect(page.locator(".turn")).to_have_count(2)  # the question, then the SQL the user ran
        assert len(fake.requests) == 1  # edited SQL runs without the model
        assert fake.secret not in page.content()
        # An answer reads at 400 px too: only the result table scrolls sideways, inside its box.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "query-answer-light-1280.png"), full_page=True)
        page.set_viewport_size({"width": 400, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(ARTIFACTS / "query-answer-light-400.png"), full_page=True)

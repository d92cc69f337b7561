"""`/query` and "Draft with AI" without a browser: a loopback OpenAI-compatible server answers in the
fenced-block format; sessions, CSRF, scoping, refusals and LLM setting errors as the page shows them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.config import Settings
from mantissa_log.services.container import Services, build_services
from tests.clock import ManualClock
from tests.llm import answers
from tests.llm.conftest import ALICE, BOB, T0, configure, ingest_corpus
from tests.llm.fakes import FakeLlm
from tests.web.helpers import csrf_of, sign_in

QUESTION = "Who stopped or deleted CloudTrail logging?"
CONVERSATION = re.compile(r'name="conversation_id" value="([^"]*)"')


@pytest.fixture
def services(tmp_path: Path, environment_name: str) -> Iterator[Services]:
    """The model server is on loopback: private targets are allowed, as in tests/llm."""
    settings = Settings(
        home=tmp_path / "home",
        environment=environment_name,
        state_backend="sqlite",
        allow_private_targets=True,
        llm_timeout_seconds=5.0,
        llm_max_retry_wait_seconds=3.0,
    )
    built = build_services(settings, ManualClock(T0))
    ingest_corpus(built)
    yield built
    built.close()


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    with FakeLlm("openai").running() as server:
        yield server


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    return {name: services.users.create_user(name)[1] for name in ("alice", "bob")}


@pytest.fixture
def alice(services: Services, tokens: dict[str, str], fake: FakeLlm) -> Iterator[tuple[TestClient, str]]:
    configure(services, ALICE, fake)
    with TestClient(create_app(services.config, services)) as client:
        yield client, sign_in(client, tokens["alice"])


def conversation_of(page: str) -> str:
    found = CONVERSATION.search(page)
    assert found, "the page carries no conversation"
    return found.group(1)


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea id="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {name}"
    return html.unescape(found.group(1))


def test_the_page_and_its_forms_need_a_session_and_csrf(
    services: Services, alice: tuple[TestClient, str], fake: FakeLlm
) -> None:
    with TestClient(create_app(services.config, services)) as anonymous:
        for path in ("/query", "/query/20261127T100000Z-0123456789ab"):
            response = anonymous.get(path, follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")
        for path in ("/query", "/query/sql", "/rules/new/draft", "/query/20261127T100000Z-0123456789ab/delete"):
            assert anonymous.post(path, data={"csrf_token": "x"}, follow_redirects=False).status_code == 303
    client, _ = alice
    for path, form in (("/query", {"question": QUESTION}), ("/query/sql", {"sql": "SELECT 1"})):
        refused = client.post(path, data=form | {"csrf_token": "guessed"})
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    assert fake.requests == []


def test_ask_follow_up_edit_the_sql_and_run_it(alice: tuple[TestClient, str], fake: FakeLlm) -> None:
    client, csrf = alice
    fake.answer(answers.WHO_STOPPED_LOGGING).answer(answers.FOLLOW_UP_ONLY_CHRISTOPHE)

    asked = client.post("/query", data={"question": QUESTION, "csrf_token": csrf})
    assert asked.status_code == 200, asked.text
    assert "christophe" in asked.text
    assert "DeleteTrail" in asked.text
    assert "users who deleted a trail" in asked.text  # the explanation
    assert "DeleteTrail" in textarea(asked.text, "sql")
    assert "gpt-5.4-mini" in asked.text
    assert "1,200 in / 80 out" in asked.text
    assert re.search(r'data-row-count="[1-9]', asked.text)
    conversation = conversation_of(asked.text)
    assert conversation

    follow = client.post(
        "/query", data={"question": "Only christophe, with times", "conversation_id": conversation, "csrf_token": csrf}
    )
    assert follow.status_code == 200, follow.text
    assert conversation_of(follow.text) == conversation
    assert "Only christophe, with times" in follow.text
    assert QUESTION in follow.text
    assert [m["role"] for m in fake.requests[1].body["messages"]] == ["system", "user", "assistant", "user"]

    edited = client.post(
        "/query/sql",
        data={"sql": "SELECT count(*) AS stored FROM cloudtrail", "conversation_id": conversation, "csrf_token": csrf},
    )
    assert edited.status_code == 200, edited.text
    assert ">stored</th>" in edited.text
    assert 'data-row-count="1"' in edited.text
    assert "SQL you ran" in edited.text
    assert len(fake.requests) == 2  # edited SQL runs without the model

    listed = client.get("/query")
    assert f'href="/query/{conversation}"' in listed.text
    opened = client.get(f"/query/{conversation}")
    assert opened.status_code == 200
    assert "select count(*) as stored from cloudtrail" in textarea(opened.text, "sql").lower()
    deleted = client.post(f"/query/{conversation}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert deleted.status_code == 303
    assert client.get(f"/query/{conversation}").status_code == 404
    assert f'href="/query/{conversation}"' not in client.get("/query").text


def test_another_users_conversation_is_a_404(
    services: Services, alice: tuple[TestClient, str], tokens: dict[str, str], fake: FakeLlm
) -> None:
    client, csrf = alice
    fake.answer(answers.COUNT_EVENTS)
    conversation = conversation_of(client.post("/query", data={"question": QUESTION, "csrf_token": csrf}).text)
    configure(services, BOB, fake)
    with TestClient(create_app(services.config, services)) as bob:
        bob_csrf = sign_in(bob, tokens["bob"])
        assert bob.get(f"/query/{conversation}").status_code == 404
        for path, form in (
            ("/query", {"question": QUESTION, "conversation_id": conversation}),
            ("/query/sql", {"sql": "SELECT 1", "conversation_id": conversation}),
            (f"/query/{conversation}/delete", {}),
            ("/rules/new/draft", {"question": QUESTION, "conversation_id": conversation, "description": ""}),
        ):
            response = bob.post(path, data=form | {"csrf_token": bob_csrf})
            assert response.status_code == 404, path
            assert "Not found" in response.text
        assert conversation not in bob.get("/query").text
    assert client.get(f"/query/{conversation}").status_code == 200
    assert len(fake.requests) == 1  # bob's follow-up and draft never reached the model


def test_a_refused_query_is_shown_with_its_reason_and_sql(alice: tuple[TestClient, str], fake: FakeLlm) -> None:
    client, csrf = alice
    fake.answer(answers.HOSTILE_READ_FILE).answer(answers.HOSTILE_READ_FILE)
    refused = client.post("/query", data={"question": QUESTION, "csrf_token": csrf})
    assert refused.status_code == 422
    assert 'data-code="query_refused"' in refused.text
    assert "read_csv is not allowed" in refused.text
    assert textarea(refused.text, "sql") == "SELECT * FROM read_csv('/etc/passwd')"
    assert conversation_of(refused.text)  # the refused turn is kept: the user can follow up
    hostile = client.post("/query/sql", data={"sql": "ATTACH 'x.db'; SELECT 1", "csrf_token": csrf})
    assert hostile.status_code == 422
    assert 'data-code="query_refused"' in hostile.text
    failing = client.post("/query/sql", data={"sql": "SELECT event.noSuchField FROM cloudtrail", "csrf_token": csrf})
    assert failing.status_code == 422
    assert 'data-code="query_failed"' in failing.text


def test_llm_setting_errors_name_the_setting_and_never_show_the_key(
    services: Services, alice: tuple[TestClient, str], tokens: dict[str, str], fake: FakeLlm
) -> None:
    client, csrf = alice
    fake.garbage()
    broken = client.post("/query", data={"question": QUESTION, "csrf_token": csrf})
    assert broken.status_code == 502
    assert 'data-code="llm_bad_answer"' in broken.text
    for page in (broken.text, client.get("/query").text, client.get("/settings").text):
        assert fake.secret not in page
    configure(services, ALICE, fake, api_key="sk-wrong-key-for-this-server")
    rejected = client.post("/query", data={"question": QUESTION, "csrf_token": csrf})
    assert rejected.status_code == 424
    assert 'data-code="llm_key_rejected"' in rejected.text
    assert "<code>api_key</code>" in rejected.text
    assert 'href="/settings#h-llm"' in rejected.text
    drafted = client.post("/rules/new/draft", data={"description": "console logins without MFA", "csrf_token": csrf})
    assert drafted.status_code == 424
    assert 'data-code="llm_key_rejected"' in drafted.text
    # The key sent is never shown (the fake's refusal quotes its own expected key, which is not alice's now).
    for page in (rejected.text, drafted.text, client.get("/query").text, client.get("/settings").text):
        assert "sk-wrong-key-for-this-server" not in page
    with TestClient(create_app(services.config, services)) as bob:
        bob_csrf = sign_in(bob, tokens["bob"])
        unset = bob.post("/query", data={"question": QUESTION, "csrf_token": bob_csrf})
        assert unset.status_code == 424
        assert 'data-code="llm_not_configured"' in unset.text
        assert "<code>llm_provider</code>" in unset.text


def test_a_question_becomes_a_rule_draft_in_the_editor_and_nothing_is_saved(
    services: Services, alice: tuple[TestClient, str], fake: FakeLlm
) -> None:
    client, csrf = alice
    fake.answer(answers.TRAIL_DELETED_RULE)
    sql = "SELECT event.eventName FROM cloudtrail WHERE event.eventName = 'DeleteTrail'"
    drafted = client.post(
        "/rules/new/draft", data={"question": QUESTION, "sql": sql, "conversation_id": "", "csrf_token": csrf}
    )
    assert drafted.status_code == 200, drafted.text
    sent = fake.requests[0].body["messages"][-1]["content"]
    assert QUESTION in sent
    assert sql in sent
    assert textarea(drafted.text, "body").startswith("title: Trail deleted or logging stopped")
    assert 'value="trail_deleted_or_logging_stopped"' in drafted.text
    assert "A valid draft" in drafted.text
    assert "2/2 passed" in drafted.text
    assert re.search(r"data-draft-matches>4<", drafted.text)
    assert 'action="/rules/new"' in drafted.text  # the editor saves as any rule made on the web
    assert services.rules.list(ALICE, limit=10).items == []

    fake.answer(answers.BROKEN_RULE).answer(answers.BROKEN_RULE)
    broken = client.post("/rules/new/draft", data={"description": "console logins", "csrf_token": csrf})
    assert broken.status_code == 200
    assert "A draft with problems" in broken.text
    assert 'id="rule-error"' in broken.text
    assert textarea(broken.text, "description") == "console logins"


def test_the_rule_pages_offer_draft_with_ai(alice: tuple[TestClient, str]) -> None:
    client, csrf = alice
    assert 'href="/rules/new?ai=1#ai-draft"' in client.get("/rules").text
    page = client.get("/rules/new?ai=1").text
    assert 'action="/rules/new/draft"' in page
    assert "autofocus" in page
    empty = client.post("/rules/new/draft", data={"description": " ", "csrf_token": csrf})
    assert empty.status_code == 422
    assert csrf_of(empty.text) == csrf

"""POST /api/v1/query and friends: answers, follow-ups, refusals, the second chance, cache, history, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.lake import parse
from mantissa_log.services.container import Services
from tests.clock import ManualClock
from tests.llm import answers
from tests.llm.conftest import ALICE, BOB, T0, MakeServices, configure, ingest_corpus, token_headers
from tests.llm.fakes import FakeLlm

QUESTION = {"question": "Who stopped or deleted CloudTrail logging?"}
Stack = tuple[Services, TestClient, dict[str, str], dict[str, str]]


@pytest.fixture
def openai_fake() -> Iterator[FakeLlm]:
    with FakeLlm("openai").running() as server:
        yield server


@pytest.fixture
def stack(make_services: MakeServices, backend_kind: str, openai_fake: FakeLlm) -> Iterator[Stack]:
    """Services on both state backends, the corpus in the lake, alice on a local OpenAI-compatible server."""
    services = make_services(backend_kind)
    ingest_corpus(services)
    configure(services, ALICE, openai_fake)
    with TestClient(create_app(services.config, services)) as client:
        yield services, client, token_headers(services, "alice"), token_headers(services, "bob")


def test_a_question_is_answered_and_followed_up(stack: Stack, openai_fake: FakeLlm) -> None:
    _, client, alice, _ = stack
    openai_fake.answer(answers.WHO_STOPPED_LOGGING).answer(answers.FOLLOW_UP_ONLY_CHRISTOPHE)

    first = client.post("/api/v1/query", json=QUESTION, headers=alice)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) >= {
        "conversation_id",
        "sql",
        "explanation",
        "columns",
        "rows",
        "row_count",
        "truncated",
        "data_scanned_bytes",
        "model",
        "usage",
    }
    assert body["row_count"] == len(body["rows"]) > 0
    assert body["usage"]["input_tokens"] > 0
    assert ["christophe", "DeleteTrail", 1] in body["rows"]

    follow = client.post(
        "/api/v1/query",
        json={"question": "Only christophe, with times", "conversation_id": body["conversation_id"]},
        headers=alice,
    )
    assert follow.status_code == 200, follow.text
    assert follow.json()["conversation_id"] == body["conversation_id"]
    assert sorted(row[0] for row in follow.json()["rows"]) == ["DeleteTrail", "StopLogging"]
    # The model saw the conversation so far: the first question and the SQL that answered it.
    messages = openai_fake.requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "Who stopped" in messages[1]["content"]
    assert "DeleteTrail" in messages[2]["content"]

    shown = client.get(f"/api/v1/query/conversations/{body['conversation_id']}", headers=alice).json()
    assert [t["question"] for t in shown["turns"]] == [QUESTION["question"], "Only christophe, with times"]
    assert all(t["status"] == "answered" for t in shown["turns"])
    assert "rows" not in shown["turns"][0]  # result rows are not kept; the SQL runs again


def test_conversations_belong_to_their_user(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, alice, bob = stack
    openai_fake.answer(answers.COUNT_EVENTS)
    conversation = client.post("/api/v1/query", json=QUESTION, headers=alice).json()["conversation_id"]
    configure(services, BOB, openai_fake)
    asked = client.post("/api/v1/query", json=QUESTION | {"conversation_id": conversation}, headers=bob)
    assert asked.status_code == 404
    assert asked.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/query/conversations/{conversation}", headers=bob).status_code == 404
    assert client.delete(f"/api/v1/query/conversations/{conversation}", headers=bob).status_code == 404
    run = client.post("/api/v1/query/sql", json={"sql": "SELECT 1", "conversation_id": conversation}, headers=bob)
    assert run.status_code == 404
    assert client.get("/api/v1/query/conversations", headers=bob).json()["items"] == []
    assert len(openai_fake.requests) == 1
    assert client.get(f"/api/v1/query/conversations/{conversation}", headers=alice).status_code == 200


def test_a_refused_query_goes_back_once_then_is_422(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, alice, _ = stack
    openai_fake.answer(answers.HOSTILE_READ_FILE).answer(answers.HOSTILE_READ_FILE)
    refused = client.post("/api/v1/query", json=QUESTION, headers=alice)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "query_refused"
    assert "read_csv is not allowed" in error["message"]
    assert error["field"] == "sql"
    assert error["conversation_id"]
    assert error["sql"] == "SELECT * FROM read_csv('/etc/passwd')"
    retry = openai_fake.requests[1].body["messages"]
    assert "read_csv is not allowed" in retry[-1]["content"]
    assert "read_csv" in retry[-2]["content"]
    assert len(openai_fake.requests) == 2
    turns = client.get(f"/api/v1/query/conversations/{error['conversation_id']}", headers=alice).json()["turns"]
    assert turns[0]["status"] == "refused"
    assert turns[0]["attempts"] == 2
    audit = services.audit.newest(action="query.ask").items[0]
    assert audit.outcome == "failure"
    assert audit.detail["outcome"] == "query_refused"


def test_the_second_chance_can_fix_a_refused_or_failing_query(stack: Stack, openai_fake: FakeLlm) -> None:
    _, client, alice, _ = stack
    openai_fake.answer(answers.HOSTILE_READ_FILE).answer(answers.COUNT_EVENTS)
    fixed = client.post("/api/v1/query", json=QUESTION, headers=alice)
    assert fixed.status_code == 200
    assert fixed.json()["attempts"] == 2
    openai_fake.answer(answers.UNKNOWN_COLUMN).answer(answers.COUNT_EVENTS)
    again = client.post("/api/v1/query", json={"question": "How many?"}, headers=alice)
    assert again.status_code == 200
    assert again.json()["attempts"] == 2
    assert "noSuchField" in openai_fake.requests[-1].body["messages"][-1]["content"]


def test_an_answer_without_sql_twice_is_502(stack: Stack, openai_fake: FakeLlm) -> None:
    _, client, alice, _ = stack
    openai_fake.answer(answers.NO_SQL).answer(answers.NO_SQL)
    failed = client.post("/api/v1/query", json=QUESTION, headers=alice)
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "llm_no_sql"


def test_identical_questions_over_unchanged_data_hit_the_cache(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, alice, _ = stack
    openai_fake.answer(answers.COUNT_EVENTS).answer(answers.COUNT_EVENTS)
    first = client.post("/api/v1/query", json=QUESTION, headers=alice).json()
    second = client.post("/api/v1/query", json=QUESTION, headers=alice).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["rows"] == first["rows"]
    assert second["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert len(openai_fake.requests) == 1
    okta = parse("okta", b'{"uuid": "u-1", "eventType": "user.session.start"}\n')
    services.infra.lake.ingest("okta", okta, ingest_time=T0)  # the data changed: the model is asked again
    third = client.post("/api/v1/query", json=QUESTION, headers=alice).json()
    assert third["cached"] is False
    assert len(openai_fake.requests) == 2


def test_edited_sql_runs_through_the_same_guard(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, alice, _ = stack
    openai_fake.answer(answers.COUNT_EVENTS)
    conversation = client.post("/api/v1/query", json=QUESTION, headers=alice).json()["conversation_id"]
    edited = {
        "sql": "SELECT count(*) AS n FROM cloudtrail WHERE event.eventName = 'DeleteTrail'",
        "conversation_id": conversation,
    }
    ran = client.post("/api/v1/query/sql", json=edited, headers=alice)
    assert ran.status_code == 200
    assert ran.json()["rows"] == [[2]]
    assert ran.json()["model"] is None
    hostile = client.post(
        "/api/v1/query/sql", json={"sql": "SELECT getenv('HOME')", "conversation_id": conversation}, headers=alice
    )
    assert hostile.status_code == 422
    assert hostile.json()["error"]["code"] == "query_refused"
    assert "getenv" in hostile.json()["error"]["message"]
    turns = client.get(f"/api/v1/query/conversations/{conversation}", headers=alice).json()["turns"]
    assert [(t["kind"], t["status"]) for t in turns] == [
        ("question", "answered"),
        ("sql", "answered"),
        ("sql", "refused"),
    ]
    assert len(openai_fake.requests) == 1
    audit = services.audit.newest(action="query.sql").items
    assert audit[1].detail["sql"].startswith("SELECT COUNT(*) AS n FROM cloudtrail")
    assert audit[0].outcome == "failure"


def test_history_is_listable_deletable_and_expires(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, alice, _ = stack
    ids = []
    clock = services.infra.clock
    assert isinstance(clock, ManualClock)
    for n in range(3):
        ran = client.post("/api/v1/query/sql", json={"sql": f"SELECT {n}"}, headers=alice)
        ids.append(ran.json()["conversation_id"])
        clock.advance(1)
    page = client.get("/api/v1/query/conversations?limit=2", headers=alice).json()
    assert [c["conversation_id"] for c in page["items"]] == ids[::-1][:2]
    assert page["next"]
    rest = client.get(f"/api/v1/query/conversations?limit=2&next={page['next']}", headers=alice).json()
    assert [c["conversation_id"] for c in rest["items"]] == ids[:1]
    assert client.delete(f"/api/v1/query/conversations/{ids[0]}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/query/conversations/{ids[0]}", headers=alice).status_code == 404
    clock.advance(timedelta(days=31).total_seconds())
    assert client.get("/api/v1/query/conversations", headers=alice).json()["items"] == []


def test_llm_errors_are_424_and_502_with_the_setting_named(stack: Stack, openai_fake: FakeLlm) -> None:
    services, client, _, bob = stack
    unset = client.post("/api/v1/query", json=QUESTION, headers=bob)
    assert unset.status_code == 424
    assert unset.json()["error"] == {
        "code": "llm_not_configured",
        "message": unset.json()["error"]["message"],
        "field": "llm_provider",
    }
    configure(services, BOB, openai_fake, llm_model="no-such-model")
    unknown = client.post("/api/v1/query", json=QUESTION, headers=bob)
    assert unknown.status_code == 424
    assert unknown.json()["error"]["field"] == "llm_model"
    configure(services, BOB, openai_fake)
    for _ in range(3):
        openai_fake.fail(500, {"retry-after": "0"})
    down = client.post("/api/v1/query", json=QUESTION, headers=bob)
    assert down.status_code == 502
    assert down.json()["error"]["code"] == "llm_unavailable"
    assert "after 3 attempts" in down.json()["error"]["message"]


def test_usage_is_shown_per_day_and_model(stack: Stack, openai_fake: FakeLlm) -> None:
    _, client, alice, bob = stack
    openai_fake.answer(answers.COUNT_EVENTS, input_tokens=1000, output_tokens=50)
    client.post("/api/v1/query", json=QUESTION, headers=alice)
    usage = client.get("/api/v1/llm/usage?days=7", headers=alice).json()
    assert (usage["requests"], usage["input_tokens"], usage["output_tokens"]) == (1, 1000, 50)
    assert usage["items"] == [
        {
            "day": "2026-11-27",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "requests": 1,
            "failures": 0,
            "input_tokens": 1000,
            "output_tokens": 50,
        }
    ]
    assert client.get("/api/v1/llm/usage", headers=bob).json()["requests"] == 0

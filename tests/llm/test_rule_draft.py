"""POST /api/v1/rules/draft: a Sigma rule from a description, validated, tested, evaluated, never saved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services
from mantissa_log.state.tables import ALERTS, DETECTION_RULES, RULE_RUNS
from tests.llm import answers
from tests.llm.conftest import ALICE, T0, configure, corpus_events, ingest_corpus, token_headers
from tests.llm.fakes import FakeLlm

DESCRIPTION = {"description": "Alert when someone deletes a CloudTrail trail or stops its logging"}


@pytest.fixture
def anthropic_fake() -> Iterator[FakeLlm]:
    with FakeLlm("anthropic", models=("claude-sonnet-5-5", "claude-opus-5-5")).running() as server:
        yield server


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.config, services)) as test_client:
        yield test_client


def stopped_logging() -> int:
    return sum(e["eventName"] in ("DeleteTrail", "StopLogging") for e in corpus_events())


def test_a_valid_draft_is_tested_and_evaluated_but_not_saved(
    services: Services, client: TestClient, anthropic_fake: FakeLlm
) -> None:
    ingest_corpus(services)
    configure(services, ALICE, anthropic_fake, preferences={"detection_model": "claude-opus-5-5"})
    anthropic_fake.answer(answers.TRAIL_DELETED_RULE, input_tokens=3000, output_tokens=400)

    drafted = client.post("/api/v1/rules/draft", json=DESCRIPTION, headers=token_headers(services, "alice"))

    assert drafted.status_code == 200, drafted.text
    draft = drafted.json()
    assert draft["valid"] is True
    assert [i for i in draft["issues"] if i["level"] == "error"] == []
    assert draft["title"] == "Trail deleted or logging stopped"
    assert draft["source"] == "cloudtrail"
    assert draft["body"].startswith("title: Trail deleted")
    assert "tests:" in draft["body"]
    assert draft["tests"]["passed"] is True
    assert [(t["name"], t["expected_match"]) for t in draft["tests"]["results"]] == [
        ("trail deleted", True),
        ("other call", False),
    ]
    evaluation = draft["evaluation"]
    assert evaluation["match_count"] == stopped_logging() == 4
    assert {s["eventName"] for s in evaluation["samples"]} == {"DeleteTrail", "StopLogging"}
    assert evaluation["window_end"] == "2026-11-27T10:00:00Z"
    assert evaluation["window_start"] == "2026-11-26T10:00:00Z"
    assert (draft["model"], draft["attempts"], draft["usage"]["input_tokens"]) == ("claude-opus-5-5", 1, 3000)
    # detection_model drafts rules; the prompt named the sources and the fields of the ones holding data.
    request = anthropic_fake.requests[0].body
    assert request["model"] == "claude-opus-5-5"
    assert "product: aws, service: cloudtrail" in request["system"]
    assert "userIdentity.userName" in request["system"]
    assert "Alert when someone deletes" in request["messages"][0]["content"]
    # Nothing saved, nothing run on a schedule, no alert.
    for table in (DETECTION_RULES, RULE_RUNS, ALERTS):
        assert list(services.infra.backend.scan(table)) == [], table.name


def test_a_draft_that_fails_validation_goes_back_once_with_the_errors(
    services: Services, client: TestClient, anthropic_fake: FakeLlm
) -> None:
    configure(services, ALICE, anthropic_fake)
    anthropic_fake.answer(answers.BROKEN_RULE).answer(answers.CONSOLE_LOGIN_RULE)
    drafted = client.post("/api/v1/rules/draft", json=DESCRIPTION, headers=token_headers(services, "alice")).json()
    assert drafted["valid"] is True
    assert drafted["attempts"] == 2
    assert drafted["title"] == "Console login without MFA"
    second = anthropic_fake.requests[1].body["messages"]
    assert second[1]["role"] == "assistant"
    assert "selecton" in second[1]["content"]
    assert "did not pass validation" in second[2]["content"]
    assert "line" in second[2]["content"]


def test_tests_that_fail_are_errors_and_the_draft_is_returned_with_them(
    services: Services, client: TestClient, anthropic_fake: FakeLlm
) -> None:
    configure(services, ALICE, anthropic_fake)
    anthropic_fake.answer(answers.RULE_WITH_FAILING_TEST).answer(answers.RULE_WITH_FAILING_TEST)
    drafted = client.post("/api/v1/rules/draft", json=DESCRIPTION, headers=token_headers(services, "alice")).json()
    assert drafted["valid"] is False
    assert drafted["attempts"] == 2
    assert drafted["evaluation"] is None
    errors = [i["message"] for i in drafted["issues"] if i["level"] == "error"]
    assert errors == ["test 'trail deleted' should match, but it did not"]
    assert drafted["body"].startswith("title: Trail deleted")
    assert "should match, but it did not" in anthropic_fake.requests[1].body["messages"][2]["content"]


def test_the_evaluation_window_is_the_users_default_time_range(
    services: Services, client: TestClient, anthropic_fake: FakeLlm
) -> None:
    ingest_corpus(services, T0 - timedelta(days=3))
    configure(services, ALICE, anthropic_fake)
    anthropic_fake.answer(answers.TRAIL_DELETED_RULE).answer(answers.TRAIL_DELETED_RULE)
    headers = token_headers(services, "alice")
    day = client.post("/api/v1/rules/draft", json=DESCRIPTION, headers=headers).json()
    assert day["evaluation"]["match_count"] == 0
    configure(services, ALICE, anthropic_fake, ui_preferences={"default_time_range": "7d"})
    week = client.post("/api/v1/rules/draft", json=DESCRIPTION, headers=headers).json()
    assert week["evaluation"]["match_count"] == 4
    assert week["evaluation"]["window_start"] == "2026-11-20T10:00:00Z"


def test_a_description_is_required(services: Services, client: TestClient) -> None:
    empty = client.post("/api/v1/rules/draft", json={"description": ""}, headers=token_headers(services, "alice"))
    assert empty.status_code == 422
    assert empty.json()["error"]["field"] == "description"

"""A question, through each provider's real SDK and wire format, to SQL and the right rows of the corpus."""

from __future__ import annotations

from collections import Counter

from mantissa_log.clock import iso
from mantissa_log.services.container import Services
from tests.llm import answers
from tests.llm.conftest import ALICE, configure, corpus_events, ingest_corpus
from tests.llm.fakes import MODELS, FakeLlm


def expected_stoppers() -> list[list[object]]:
    counts = Counter(
        (event["userIdentity"].get("userName"), event["eventName"])
        for event in corpus_events()
        if event["eventName"] in ("DeleteTrail", "StopLogging")
    )
    return [[user, action, n] for (user, action), n in sorted(counts.items())]


def test_question_to_sql_to_rows(services: Services, fake: FakeLlm) -> None:
    ingest_corpus(services)
    configure(services, ALICE, fake)
    fake.answer(answers.WHO_STOPPED_LOGGING, input_tokens=1500, output_tokens=90)

    answer = services.query.ask(ALICE, "Who stopped or deleted CloudTrail logging?")

    assert answer.rows == expected_stoppers()
    assert [c.name for c in answer.columns] == ["user_name", "action", "events"]
    assert "DeleteTrail" in answer.sql
    assert answer.explanation.startswith("These are the users")
    assert (answer.input_tokens, answer.output_tokens, answer.attempts) == (1500, 90, 1)
    assert answer.provider == fake.provider
    assert answer.model == MODELS[fake.provider]
    assert not answer.truncated
    assert answer.data_scanned_bytes > 0
    # The prompt carried the real schema, an example value, the time range, the dialect and the question.
    sent = fake.sent_texts()
    stored = next(s for s in services.logs.sources() if s.name == "cloudtrail")
    assert stored.min_event_time is not None
    first_event = iso(stored.min_event_time)
    schema = ("userIdentity.userName VARCHAR", "\\n  eventName VARCHAR  -- e.g. '", first_event)
    for expected in (*schema, "DuckDB", "the last 24 hours", "Who stopped"):
        assert expected in sent, expected
    usage = services.llm.usage(ALICE)
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 1500, 90)

"""The user's LLM: settings, keys, errors that name the setting, retries, timeouts, usage."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import SecretStr

from mantissa_log.domain.settings import UserSettingsPut
from mantissa_log.errors import DependencyFailed, UpstreamFailed, ValidationFailed
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from tests.llm import answers
from tests.llm.conftest import ALICE, BOB, MakeServices, configure
from tests.llm.fakes import KEYS, MODELS, FakeLlm


def ask(services: Services, who: Principal = ALICE) -> Any:
    return services.query.ask(who, "How many CloudTrail events are there?")


def test_a_missing_key_names_the_setting_and_calls_nobody(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake, api_key=None)
    if fake.provider == "openai":
        # A compatible server usually takes no key: the request goes out, without one, and is refused.
        with pytest.raises(DependencyFailed) as refused:
            ask(services)
        assert refused.value.code == "llm_key_rejected"
        return
    with pytest.raises(DependencyFailed) as missing:
        ask(services)
    assert (missing.value.code, missing.value.field) == ("llm_key_missing", "api_key")
    assert f"no API key is stored for {fake.provider}" in missing.value.message
    assert fake.requests == []


def test_a_wrong_key_is_refused_by_the_provider_and_never_echoed(services: Services, fake: FakeLlm) -> None:
    wrong = "AKIAWRONGWRONGWRONG1:" + "w" * 40 if fake.provider == "bedrock" else "sk-wrong-" + "w" * 40
    configure(services, ALICE, fake, api_key=SecretStr(wrong))
    with pytest.raises(DependencyFailed) as refused:
        ask(services)
    assert (refused.value.code, refused.value.field) == ("llm_key_rejected", "api_key")
    assert "refused the API key" in refused.value.message
    assert "set a valid api_key" in refused.value.message
    assert wrong not in refused.value.message
    assert wrong.split(":")[-1] not in refused.value.message
    assert len(fake.requests) == 1  # a refused key is not retried
    assert services.llm.usage(ALICE).failures == 1


def test_another_users_secret_is_never_read(services: Services, fake: FakeLlm) -> None:
    configure(services, BOB, fake)
    configure(services, ALICE, fake, api_key=None)
    bobs = services.settings.get(BOB).api_key_secret_id
    assert bobs is not None
    stored = services.infra.repos.settings.get_settings("alice")
    assert stored is not None
    # Only the settings service writes the reference; this one was copied in by other means (a restore, an edit).
    services.infra.repos.settings.put_settings(stored.model_copy(update={"api_key_secret_id": bobs}))
    with pytest.raises(DependencyFailed) as refused:
        ask(services)
    assert (refused.value.code, refused.value.field) == ("llm_key_not_yours", "api_key_secret_id")
    assert fake.requests == []


def test_an_unknown_model_names_the_setting_it_came_from(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake, llm_model="no-such-model")
    with pytest.raises(DependencyFailed) as unknown:
        ask(services)
    assert (unknown.value.code, unknown.value.field) == ("llm_model_unknown", "llm_model")
    assert "no-such-model" in unknown.value.message
    configure(services, ALICE, fake, preferences={"query_model": "other-model"})
    with pytest.raises(DependencyFailed) as unknown:
        ask(services)
    assert unknown.value.field == "preferences.query_model"


def test_settings_reach_the_provider(services: Services, fake: FakeLlm) -> None:
    """query_model answers questions; max_tokens and temperature go out as each wire format spells them."""
    configure(
        services,
        ALICE,
        fake,
        llm_model="unused",
        preferences={"query_model": MODELS[fake.provider], "max_tokens": 321, "temperature": 0.25},
    )
    fake.answer(answers.COUNT_EVENTS)
    ask(services)
    body = fake.requests[0].body
    sent = {
        "anthropic": lambda: (body["model"], body["max_tokens"], body.get("temperature")),
        "openai": lambda: (body["model"], body["max_tokens"], body["temperature"]),
        "google": lambda: (
            fake.requests[0].path,
            body["generationConfig"]["maxOutputTokens"],
            body["generationConfig"]["temperature"],
        ),
        "bedrock": lambda: (
            fake.requests[0].path,
            body["inferenceConfig"]["maxTokens"],
            body["inferenceConfig"]["temperature"],
        ),
    }[fake.provider]()
    assert MODELS[fake.provider].split(":")[0] in str(sent[0])
    assert sent[1] == 321
    # Anthropic's API no longer takes sampling parameters (version 2026-10-21): the SDK sends none.
    assert sent[2] == (None if fake.provider == "anthropic" else 0.25)


@pytest.mark.parametrize("provider", ["openai"])
def test_rate_limits_are_retried_after_the_wait_asked(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake)
    fake.fail(429, {"retry-after-ms": "400"}).fail(503, {"retry-after": "1"}).answer(answers.COUNT_EVENTS)
    answer = ask(services)
    assert answer.rows == [[0]]
    first, second, third = (r.at for r in fake.requests)
    assert second - first >= 0.4
    assert third - second >= 1.0
    usage = services.llm.usage(ALICE)
    assert (usage.requests, usage.failures) == (3, 2)


@pytest.mark.parametrize("provider", ["anthropic"])
def test_server_errors_give_up_after_the_attempts(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake)
    for _ in range(3):
        fake.fail(529, {"retry-after": "0"})
    with pytest.raises(UpstreamFailed) as failed:
        ask(services)
    assert failed.value.code == "llm_unavailable"
    assert "after 3 attempts" in failed.value.message
    assert len(fake.requests) == 3


@pytest.mark.parametrize("provider", ["google"])
def test_a_wait_longer_than_allowed_fails_at_once_saying_when(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake)
    fake.fail(429, {"retry-after": "120"})
    started = time.monotonic()
    with pytest.raises(UpstreamFailed) as limited:
        ask(services)
    assert limited.value.code == "llm_rate_limited"
    assert "retry after 120 s" in limited.value.message
    assert len(fake.requests) == 1
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_a_timeout_names_the_setting(make_services: MakeServices, fake: FakeLlm) -> None:
    services = make_services(llm_timeout_seconds=1.0)
    configure(services, ALICE, fake)
    # The server would answer after 20 s; the client must give up about 1 s after the request arrives.
    # Measured from the arrival, not from the call: schema gathering and the SDK's first import come
    # before the request and take seconds on a loaded machine (CI failed once on 3.9 s measured that way).
    fake.answer(answers.COUNT_EVENTS, delay=20.0)
    with pytest.raises(UpstreamFailed) as slow:
        ask(services)
    gave_up = time.monotonic()
    assert (slow.value.code, slow.value.field) == ("llm_timeout", "MANTISSA_LLM_TIMEOUT_SECONDS")
    assert "within 1 s" in slow.value.message
    assert len(fake.requests) == 1
    assert gave_up - fake.requests[0].at < 10.0  # well before the answer; a retry would add another timeout


@pytest.mark.parametrize("provider", ["openai", "bedrock"])
def test_a_loopback_endpoint_is_refused_unless_private_targets_are_allowed(
    make_services: MakeServices, fake: FakeLlm
) -> None:
    services = make_services(allow_private_targets=False)
    with pytest.raises(ValidationFailed) as at_save:
        configure(services, ALICE, fake)
    assert at_save.value.field == "llm_base_url"
    # Saved while the operator allowed private targets, then disallowed: each call checks again.
    services.settings.allow_private_targets = True
    configure(services, ALICE, fake)
    services.settings.allow_private_targets = False
    with pytest.raises(DependencyFailed) as refused:
        ask(services)
    assert (refused.value.code, refused.value.field) == ("llm_base_url_refused", "llm_base_url")
    assert "loopback" in refused.value.message
    assert "MANTISSA_ALLOW_PRIVATE_TARGETS" in refused.value.message
    assert fake.requests == []


@pytest.mark.parametrize("provider", ["openai"])
def test_requests_go_to_the_checked_address_with_the_original_host(services: Services, fake: FakeLlm) -> None:
    port = fake.url.split(":")[2].split("/")[0]
    configure(services, ALICE, fake, llm_base_url=f"http://localhost:{port}/v1")
    fake.answer(answers.COUNT_EVENTS)
    ask(services)
    assert fake.requests[0].headers["host"] == f"localhost:{port}"


def test_a_reply_no_sdk_can_read_is_502_not_500(services: Services, fake: FakeLlm) -> None:
    configure(services, ALICE, fake)
    fake.garbage()
    with pytest.raises(UpstreamFailed) as unreadable:
        ask(services)
    assert unreadable.value.code == "llm_bad_answer"
    assert len(fake.requests) == 1


def test_no_settings_means_not_configured(services: Services) -> None:
    with pytest.raises(DependencyFailed) as unset:
        ask(services)
    assert (unset.value.code, unset.value.field) == ("llm_not_configured", "llm_provider")
    services.settings.put(ALICE, UserSettingsPut(llm_provider="anthropic", api_key=SecretStr(KEYS["anthropic"])))
    with pytest.raises(DependencyFailed) as no_model:
        ask(services)
    assert (no_model.value.code, no_model.value.field) == ("llm_not_configured", "llm_model")

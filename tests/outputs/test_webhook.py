"""Custom webhook: default body, secret headers, custom template, HMAC over the exact bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from mantissa_log.outputs import webhook
from tests.outputs.helpers import ARN, Receiver, Reply, make_alert, make_ctx, make_integration, send

SECRET = "hook-secret-value"
LINK = "https://mantissa.example/alerts/20261127T100000000000Z-abc123"


def _integration(receiver: Receiver, secret: str | None = "hook", **config: Any) -> Any:  # noqa: S107
    # One try per send unless a test asks for the seed's immediate retries (`retry_count`).
    base = {"url": receiver.url + "/api/alerts?tenant=1", "timeout_seconds": 1, "retry_count": 0}
    return make_integration("webhook", base | config, secret=secret)


def test_default_body_headers_and_signature(receiver: Receiver) -> None:
    headers = {"Authorization": "Bearer ${SECRET}", "X-Team": "sec"}
    integration = _integration(receiver, method="PUT", headers=headers)
    alert = make_alert()
    before = int(time.time())
    result = send(alert, integration, make_ctx())
    assert (result.ok, result.status_code) == (True, 200)
    (req,) = receiver.requests
    assert (req.method, req.path) == ("PUT", "/api/alerts?tenant=1")
    assert req.json() == {
        "alert_id": alert.alert_id,
        "rule_name": "root_login",
        "rule_title": "Root console login",
        "severity": "high",
        "source": "cloudtrail",
        "window": {"start": "2026-11-27T09:55:00Z", "end": "2026-11-27T10:00:00Z"},
        "match_count": 4,
        "group": {"user": "alice"},
        "samples": alert.samples,
        "link": LINK,
        "dedup_key": alert.dedup_key,
        "test": False,
    }
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.headers["x-team"] == "sec"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-mantissa-delivery"] == f"{alert.alert_id}:webhook-main"
    assert before <= int(req.headers["x-mantissa-timestamp"]) <= int(time.time())
    expected = "sha256=" + hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req.headers["x-mantissa-signature"], expected)


def test_custom_template_and_extra_headers(receiver: Receiver) -> None:
    template = (
        '{"summary": {{ (alert.rule_title ~ " on " ~ alert.group.user) | tojson }}, '
        '"count": {{ alert.match_count }}, "first": {{ alert.samples[0].eventName | tojson }}}'
    )
    integration = _integration(
        receiver, payload_template="custom", template=template, headers={"Content-Type": "text/plain"}
    )
    ctx = make_ctx(extra_headers={"X-Mantissa-Delivery": "delivery-42", "X-Mantissa-Signature": "forged"})
    assert send(make_alert(), integration, ctx).ok
    (req,) = receiver.requests
    assert req.body == b'{"summary": "Root console login on alice", "count": 4, "first": "ConsoleLogin"}'
    assert req.headers["content-type"] == "text/plain"
    assert req.headers["x-mantissa-delivery"] == "delivery-42"
    assert req.headers["x-mantissa-signature"] == webhook.sign(SECRET, req.body)


def test_template_errors_are_permanent_and_name_the_template(receiver: Receiver) -> None:
    cases = {
        "{{ alert.no_such_field }}": "no_such_field",
        "{% if %}": "syntax error on line 1",
        "{{ alert.__class__.__mro__ }}": "render",
        "{{ 'x' * 10000000 }}": "too long",
        "{{ alert.samples.append(1) }}": "render",
    }
    for template, expected in cases.items():
        result = send(make_alert(), _integration(receiver, payload_template="custom", template=template), make_ctx())
        assert (result.ok, result.retryable) == (False, False), template
        assert "webhook template" in result.message
        assert expected in result.message, result.message
    assert receiver.requests == []


def test_no_secret_means_no_signature_and_missing_secret_fails(receiver: Receiver) -> None:
    assert send(make_alert(), _integration(receiver, secret=None), make_ctx()).ok
    assert "x-mantissa-signature" not in receiver.requests[0].headers
    needs = _integration(receiver, secret=None, headers={"X-Api-Key": "${SECRET}"})
    result = send(make_alert(), needs, make_ctx())
    assert not result.ok
    assert not result.retryable
    assert "webhook secret" in result.message
    assert len(receiver.requests) == 1


def test_faults_and_timeout(receiver: Receiver) -> None:
    integration = _integration(receiver, timeout_seconds=0.2, headers={"Authorization": "Bearer ${SECRET}"})
    receiver.script = [Reply(500, f"oops {SECRET}"), Reply(200, delay=0.6), Reply(422, "nope")]
    results = [send(make_alert(), integration, make_ctx()) for _ in range(3)]
    assert [(r.ok, r.retryable) for r in results] == [(False, True), (False, True), (False, False)]
    assert "timed out" in results[1].message
    assert all(SECRET not in r.message and "tenant" not in r.message for r in results)


def test_retry_count_means_immediate_retries_within_one_attempt(receiver: Receiver) -> None:
    """The seed's `retry_count: 3`: a failed try is retried at once, up to three times."""
    integration = _integration(receiver, retry_count=3)
    receiver.script = [Reply(500, "down"), Reply(502, "still down"), Reply(200, "ok")]
    assert send(make_alert(), integration, make_ctx()).ok
    assert len(receiver.requests) == 3
    # Without retries, one try per attempt; the outbox's backoff does the rest.
    receiver.requests.clear()
    receiver.script = [Reply(500, "down"), Reply(200, "ok")]
    first = send(make_alert(), _integration(receiver, retry_count=0), make_ctx())
    assert (first.ok, first.retryable, len(receiver.requests)) == (False, True, 1)
    # A receiver asking for a pause (Retry-After) is not hammered: the attempt ends there.
    receiver.requests.clear()
    receiver.script = [Reply(429, "slow down", {"Retry-After": "5"}), Reply(200, "ok")]
    paused = send(make_alert(), _integration(receiver, retry_count=3), make_ctx())
    assert (paused.ok, paused.retry_after, len(receiver.requests)) == (False, 5.0, 1)
    # Permanent failures are not retried.
    receiver.requests.clear()
    receiver.script = [Reply(400, "bad"), Reply(200, "ok")]
    refused = send(make_alert(), _integration(receiver, retry_count=3), make_ctx())
    assert (refused.ok, len(receiver.requests)) == (False, 1)


def test_test_flag_is_in_the_body(receiver: Receiver) -> None:
    send(make_alert(), _integration(receiver), make_ctx(test=True))
    assert json.loads(receiver.requests[0].body)["test"] is True


def test_non_ascii_header_value_is_a_permanent_failure(receiver: Receiver) -> None:
    integration = _integration(receiver, headers={"X-Token": "${SECRET}"})
    result = send(make_alert(), integration, make_ctx({ARN + "hook": "clé-secrète"}))
    assert (result.ok, result.retryable) == (False, False)
    assert "could not be built" in result.message
    assert "clé-secrète" not in result.message
    assert receiver.requests == []


def _strict_json(body: bytes) -> Any:
    """The body as a strict parser reads it: UTF-8, and no NaN or Infinity (they are not JSON)."""

    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(body.decode("utf-8"), parse_constant=refuse)


def test_default_body_is_strict_utf8_json_whatever_the_samples_hold(receiver: Receiver) -> None:
    samples = [{"user": "José 😀", "score": float("nan"), "ratio": float("inf"), "n": 12}]
    send(make_alert(samples=samples), _integration(receiver), make_ctx())
    body = receiver.requests[0].body
    assert "José 😀".encode() in body  # written as UTF-8, not \u escapes
    assert _strict_json(body)["samples"] == [{"user": "José 😀", "score": None, "ratio": None, "n": 12}]


def test_default_body_keeps_integers_beyond_64_bits(receiver: Receiver) -> None:
    samples = [{"id": 2**70, "neg": -(10**30)}]
    send(make_alert(samples=samples), _integration(receiver), make_ctx())
    assert json.loads(receiver.requests[0].body)["samples"] == samples

"""The outbound guard and the shared HTTP helper, against a real loopback receiver."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import http, netguard
from mantissa_log.outputs.base import DeliveryResult
from mantissa_log.outputs.http import parse_retry_after, request
from mantissa_log.outputs.netguard import check_url, redact_url
from tests.outputs.helpers import Receiver, Reply, free_port, make_ctx


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/x", "loopback"),
        ("http://localhost:8080/x", "loopback"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one integer
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.10/", "private"),
        ("http://172.16.5.5/", "private"),
        ("http://[fd12::1]/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://169.254.10.10/", "link-local"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_guard_refuses_non_public_targets(url: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_url(url, allow_private=False)
    assert caught.value.field == "url"
    assert reason in caught.value.message


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"])
def test_metadata_stays_refused_when_private_targets_are_allowed(url: str) -> None:
    with pytest.raises(ValidationFailed, match="metadata"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://localhost/", "https://10.0.0.1/", "http://[::1]/"])
def test_private_targets_pass_when_allowed(url: str) -> None:
    check_url(url, allow_private=True)


def test_public_address_passes_and_bad_schemes_do_not() -> None:
    check_url("https://8.8.8.8/hook", allow_private=False)
    for url in ("ftp://8.8.8.8/", "file:///etc/passwd", "gopher://8.8.8.8/", "https://user:pw@8.8.8.8/"):
        with pytest.raises(ValidationFailed):
            check_url(url, allow_private=False)


def test_any_bad_answer_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(ValidationFailed, match=r"10\.0\.0\.5"):
        check_url("https://rebind.example/", allow_private=False)


def test_redact_url_keeps_only_scheme_and_host() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/secretpart?x=1") == "https://hooks.slack.com/…"
    assert redact_url("http://[::1]:8080/a") == "http://[::1]/…"


def test_request_to_loopback_refused_without_allow_private(receiver: Receiver) -> None:
    result = request("POST", receiver.url + "/tok3n", ctx=make_ctx(allow_private_targets=False), content=b"{}")
    assert isinstance(result, DeliveryResult)
    assert (result.ok, result.retryable) == (False, False)
    assert "loopback" in result.message
    assert "tok3n" not in result.message
    assert receiver.requests == []


def test_fault_mapping(receiver: Receiver) -> None:
    ctx = make_ctx()
    receiver.script = [
        Reply(500, "boom"),
        Reply(429, "slow down", {"Retry-After": "7"}),
        Reply(503, "", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        Reply(408),
        Reply(400, {"error": "bad"}),
        Reply(404),
        Reply(200, "ok"),
    ]
    results = [request("POST", receiver.url + "/hook", ctx=ctx, content=b"x", timeout=1) for _ in range(7)]
    fails = [r for r in results if isinstance(r, DeliveryResult)]
    assert [(r.status_code, r.retryable) for r in fails] == [
        (500, True),
        (429, True),
        (503, True),
        (408, True),
        (400, False),
        (404, False),
    ]
    assert fails[1].retry_after == 7.0
    assert fails[2].retry_after == 0.0  # a date in the past: retry now
    assert '{"error": "bad"}' in fails[4].message
    assert isinstance(results[-1], httpx.Response)
    assert results[-1].text == "ok"


def test_connection_refused_and_timeout_are_retryable(receiver: Receiver) -> None:
    ctx = make_ctx()
    refused = request("POST", f"http://127.0.0.1:{free_port()}/x", ctx=ctx, content=b"x", timeout=0.5)
    assert isinstance(refused, DeliveryResult)
    assert refused.retryable
    assert not refused.ok
    receiver.script = [Reply(200, delay=0.6)]
    slow = request("POST", receiver.url + "/slow", ctx=ctx, content=b"x", timeout=0.2)
    assert isinstance(slow, DeliveryResult)
    assert slow.retryable
    assert "timed out" in slow.message


def test_retry_after_parsing() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None


def test_307_is_followed_with_method_and_body(receiver: Receiver) -> None:
    receiver.script = [Reply(307, "", {"Location": "/final"}), Reply(200, "done")]
    result = request("PUT", receiver.url + "/start", ctx=make_ctx(), content=b'{"a":1}')
    assert isinstance(result, httpx.Response)
    assert result.text == "done"
    assert [(r.method, r.path, r.body) for r in receiver.requests] == [
        ("PUT", "/start", b'{"a":1}'),
        ("PUT", "/final", b'{"a":1}'),
    ]


def test_302_for_a_post_is_not_silently_turned_into_a_get(receiver: Receiver) -> None:
    receiver.script = [Reply(302, "", {"Location": "/landing"})]
    result = request("POST", receiver.url + "/start", ctx=make_ctx(), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert not result.ok
    assert not result.retryable
    assert "302" in result.message
    assert len(receiver.requests) == 1


def test_too_many_redirects(receiver: Receiver) -> None:
    receiver.default = Reply(307, "", {"Location": "/again"})
    result = request("POST", receiver.url + "/loop", ctx=make_ctx(), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert "too many redirects" in result.message
    assert len(receiver.requests) == http.MAX_REDIRECTS + 1


def test_redirect_to_metadata_is_refused(receiver: Receiver) -> None:
    receiver.script = [Reply(307, "", {"Location": "http://169.254.169.254/latest/meta-data/iam"})]
    result = request("POST", receiver.url + "/start", ctx=make_ctx(), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert not result.retryable
    assert "metadata" in result.message
    assert len(receiver.requests) == 1


def test_every_redirect_hop_is_checked(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the receiver itself is trusted; the hop it redirects to meets the real guard."""
    real = netguard.resolve_target

    def trust_first_hop(url: str, *, allow_private: bool) -> netguard.Target:
        return real(url, allow_private=url.endswith("/start"))

    monkeypatch.setattr(netguard, "resolve_target", trust_first_hop)
    receiver.script = [Reply(308, "", {"Location": f"http://localhost:{receiver.url.rsplit(':', 1)[1]}/inner"})]
    result = request("POST", receiver.url + "/start", ctx=make_ctx(allow_private_targets=False), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert "loopback" in result.message
    assert [r.path for r in receiver.requests] == ["/start"]


def test_cross_origin_redirect_drops_credentials(receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    receiver.script = [Reply(307, "", {"Location": f"http://localhost:{port}/other"}), Reply(200)]
    headers = {"Authorization": "Bearer s3cret", "Content-Type": "application/json", "X-Api-Key": "k"}
    result = request("POST", receiver.url + "/start", ctx=make_ctx(), headers=headers, content=b"{}")
    assert isinstance(result, httpx.Response)
    first, second = receiver.requests
    assert first.headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in second.headers
    assert "x-api-key" not in second.headers
    assert second.headers["content-type"] == "application/json"
    assert second.headers["host"] == f"localhost:{port}"


def test_secrets_are_scrubbed_from_error_bodies(receiver: Receiver) -> None:
    receiver.script = [Reply(401, "bad token s3cret-value")]
    result = request("GET", receiver.url + "/x", ctx=make_ctx(), secrets=["s3cret-value"])
    assert isinstance(result, DeliveryResult)
    assert "s3cret-value" not in result.message
    assert "***" in result.message


def test_caller_cannot_set_transport_headers(receiver: Receiver) -> None:
    headers = {"host": "evil.example", "Content-Length": "999", "X-Ok": "1"}
    assert isinstance(
        request("POST", receiver.url + "/h", ctx=make_ctx(), headers=headers, content=b"abc"), httpx.Response
    )
    (req,) = receiver.requests
    assert req.headers["host"] == receiver.url.removeprefix("http://")
    assert (req.headers["content-length"], req.body, req.headers["x-ok"]) == ("3", b"abc", "1")


METADATA_FORMS = [
    "169.254.169.254",
    "169.254.170.2",  # ECS task credentials
    "169.254.170.23",  # EKS pod identity
    "169.254.0.1",
    "169.254.255.254",
    "fd00:ec2::254",
    "fd00:ec2::23",
    "fd00:ec2::253",
    "fd20:ce::254",
    "100.100.100.200",
    "192.0.0.192",
    "168.63.129.16",
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:a9fe:a9fe",  # IPv4-translated
    "::169.254.169.254",  # IPv4-compatible
    "::a9fe:aa17",  # 169.254.170.23, compatible, in hex
    "64:ff9b::a9fe:a9fe",  # NAT64
    "64:ff9b::169.254.170.23",
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64, /96 layout
    "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64, /48 layout (u octet skipped)
    "64:ff9b:1:0:a9:fea9:fe00:0",  # local-use NAT64, /64 layout
    "2002:a9fe:a9fe::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 (obfuscated)
    "fe80::a9fe:a9fe",
]


@pytest.mark.parametrize("address", METADATA_FORMS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_every_spelling_of_a_metadata_address_is_refused(address: str, allow_private: bool) -> None:
    import ipaddress

    reason = netguard.refusal_reason(ipaddress.ip_address(address), allow_private=allow_private)
    assert reason is not None, address
    assert "metadata" in reason, (address, reason)


@pytest.mark.parametrize(
    "address",
    ["192.0.0.1", "192.0.0.170", "fec0::1", "::8.8.8.8", "64:ff9b:1::808:808", "198.18.0.1", "2001:db8::1", "::"],
)
def test_special_purpose_addresses_are_refused_by_default(address: str) -> None:
    import ipaddress

    ip = ipaddress.ip_address(address)
    assert netguard.refusal_reason(ip, allow_private=False) is not None, address


PUBLIC_FORMS = ["8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1"]


@pytest.mark.parametrize("address", PUBLIC_FORMS)
def test_public_addresses_in_any_spelling_pass(address: str) -> None:
    import ipaddress

    assert netguard.refusal_reason(ipaddress.ip_address(address), allow_private=False) is None

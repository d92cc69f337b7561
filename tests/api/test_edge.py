"""The HTTP edge, in process: authentication before the body, body size and pace, headers, bad bodies.

The same behaviour against a real uvicorn server (memory, time, sockets) is in test_hostile_server.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.services.container import Services
from tests.fixtures_api import ApiUser

CHUNK = b" " * 65_536


@pytest.fixture
def backend_kind() -> str:
    """The edge acts before any state is touched (the token lookup is tested on both in test_roles.py)."""
    return "sqlite"


def asgi_request(
    app: Any, method: str, path: str, headers: dict[str, str], receive: Any
) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app, with the test's own `receive`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


class EndlessBody:
    """A client that never stops sending; counts how often the server asked for more."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"type": "http.request", "body": CHUNK, "more_body": True}


def test_no_token_is_refused_before_any_body_byte_is_read(api: TestClient, services: Services) -> None:
    app = api.app
    for path in ("/api/v1/settings", "/api/v1/ingest/cloudtrail", "/api/v1/nowhere"):
        for headers in ({}, {"Authorization": "Bearer mlt_forged"}, {"Transfer-Encoding": "chunked"}):
            body = EndlessBody()
            status, response_headers, answer = asgi_request(app, "PUT", path, headers | {"Content-Length": "9"}, body)
            assert (status, body.calls) == (401, 0), (path, headers)
            assert response_headers["connection"] == "close"
            assert b'"unauthenticated"' in answer


def test_a_chunked_body_is_counted_as_it_arrives(api: TestClient, alice: ApiUser) -> None:
    body = EndlessBody()
    status, headers, answer = asgi_request(
        api.app, "PUT", "/api/v1/settings", alice.headers | {"Transfer-Encoding": "chunked"}, body
    )
    assert status == 413
    assert body.calls == 17  # 1 MiB + one chunk, then cut off
    assert headers["connection"] == "close"
    assert b'"field":"body"' in answer
    assert b"1048576 bytes" in answer


def test_a_declared_length_over_the_limit_is_refused_unread(api: TestClient, alice: ApiUser, shipper: ApiUser) -> None:
    for headers, path, limit in (
        (alice.headers, "/api/v1/settings", 1_048_576),
        (shipper.headers, "/api/v1/ingest/cloudtrail", 268_435_456),
    ):
        body = EndlessBody()
        lengths = (str(limit + 1), "9" * 5000)  # 5,000 digits: more than int() converts
        for length in lengths:
            status, _, answer = asgi_request(api.app, "POST", path, headers | {"Content-Length": length}, body)
            assert (status, body.calls) == (413, 0)
            assert f"limit of {limit} bytes".encode() in answer


def test_ingest_limit_is_256_mib_and_counted_on_received_bytes(api: TestClient, shipper: ApiUser) -> None:
    body = EndlessBody()
    status, _, answer = asgi_request(
        api.app, "POST", "/api/v1/ingest/cloudtrail", shipper.headers | {"Transfer-Encoding": "chunked"}, body
    )
    assert (status, body.calls) == (413, 256 * 16 + 1)
    assert b"268435456" in answer


@pytest.fixture
def quick_edge(services: Services) -> Iterator[Any]:
    """The app with a short body grace, so pacing is tested in a fraction of a second."""
    config = services.config.model_copy(update={"body_grace_seconds": 0.3, "body_min_bytes_per_second": 1000})
    with TestClient(create_app(config, services)) as client:
        yield client.app


def test_a_body_trickling_in_is_cut_off(quick_edge: Any, alice: ApiUser) -> None:
    async def one_byte_a_second() -> dict[str, Any]:
        await anyio.sleep(1)
        return {"type": "http.request", "body": b" ", "more_body": True}

    started = time.monotonic()
    status, headers, answer = asgi_request(quick_edge, "PUT", "/api/v1/settings", alice.headers, one_byte_a_second)
    assert time.monotonic() - started < 2  # cut after the 0.3 s grace, not after 100 bytes at 1 byte/s
    assert status == 408
    assert headers["connection"] == "close"
    assert b'"field":"body"' in answer


def test_a_body_at_a_fair_pace_is_read(quick_edge: Any, alice: ApiUser) -> None:
    # 500 bytes every 0.1 s: five times the floor (1,000 bytes/s), so the deadline keeps moving away.
    body = b'{"ui_preferences": {"theme": "dark"}}'.ljust(5000)
    parts = [body[i : i + 500] for i in range(0, len(body), 500)]

    async def steady() -> dict[str, Any]:
        await anyio.sleep(0.1)
        return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts)}

    headers = alice.headers | {"Content-Type": "application/json"}
    status, _, answer = asgi_request(quick_edge, "PUT", "/api/v1/settings", headers, steady)
    assert status == 200, answer


def test_an_answer_before_the_body_closes_the_connection(api: TestClient, alice: ApiUser) -> None:
    body = EndlessBody()
    status, headers, _ = asgi_request(
        api.app, "POST", "/api/v1/ingest/cloudtrail", alice.headers | {"Transfer-Encoding": "chunked"}, body
    )
    assert (status, body.calls, headers["connection"]) == (403, 0, "close")


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def test_security_headers_on_every_response(api: TestClient, alice: ApiUser) -> None:
    def boom() -> dict[str, str]:
        raise RuntimeError("an unexpected failure")

    api.app.router.add_api_route("/api/v1/boom", boom, name="test.boom")
    quiet = TestClient(api.app, raise_server_exceptions=False)
    responses = [
        api.get("/healthz"),
        api.get("/api/v1/me", headers=alice.headers),
        api.get("/api/v1/settings"),
        api.get("/api/v1/nowhere", headers=alice.headers),
        api.put("/api/v1/settings", headers=alice.headers, content=b"{"),
        quiet.get("/api/v1/boom", headers=alice.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 404, 400, 500]
    for response in responses:
        assert {k: response.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
        assert "strict-transport-security" not in response.headers  # plain HTTP


def test_no_cdn_pages_and_the_openapi_document_needs_a_token(api: TestClient, alice: ApiUser, shipper: ApiUser) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert api.get(path, headers=alice.headers).status_code == 404
    assert api.get("/openapi.json").status_code == 401
    for who in (alice, shipper):
        document = api.get("/openapi.json", headers=who.headers)
        assert document.status_code == 200
        assert "/api/v1/rules" in document.json()["paths"]
    assert "cdn" not in api.get("/openapi.json", headers=alice.headers).text.lower()


UNREADABLE_BODIES = [
    (b'{"ui_preferences": {"theme": "\xff\xfe"}}', "UTF-8"),
    (b'{"ui_preferences": {"n": ' + b"9" * 5000 + b"}}", "digits"),
    (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b'{"ui_preferences": ' * 50_000 + b"1" + b"}" * 50_000, "nested"),
]


@pytest.mark.parametrize(("body", "says"), UNREADABLE_BODIES, ids=["utf8", "digits", "deep-list", "deep-object"])
def test_unreadable_bodies_are_400_naming_the_body(api: TestClient, alice: ApiUser, body: bytes, says: str) -> None:
    for method, path in (
        ("PUT", "/api/v1/settings"),
        ("PATCH", "/api/v1/settings"),
        ("POST", "/api/v1/rules"),
        ("POST", "/api/v1/integrations"),
    ):
        response = api.request(method, path, headers=alice.headers | {"Content-Type": "application/json"}, content=body)
        assert response.status_code == 400, (method, path, response.text)
        error = response.json()["error"]
        assert error["field"] == "body"
        assert says in error["message"]


def test_a_5000_digit_query_number_names_the_parameter(api: TestClient, alice: ApiUser) -> None:
    response = api.get("/api/v1/rules?limit=" + "9" * 5000, headers=alice.headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


def _audit_client(services: Services) -> str | None:
    page = services.audit.newest(limit=1)
    return page.items[0].client


def test_forwarding_headers_count_only_from_trusted_proxies(services: Services, alice: ApiUser) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}

    async def call(app: Any, peer: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/v1/me", headers=alice.headers | forwarded)

    untrusting = create_app(services.config, services)
    response = anyio.run(call, untrusting, "127.0.0.1")
    assert response.status_code == 200
    assert _audit_client(services) == "127.0.0.1"  # loopback is not a proxy unless configured
    assert "strict-transport-security" not in response.headers

    trusting = create_app(services.config.model_copy(update={"trusted_proxies": "10.0.0.0/8"}), services)
    response = anyio.run(call, trusting, "10.1.2.3")
    assert _audit_client(services) == "203.0.113.9"
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    anyio.run(call, trusting, "192.0.2.50")  # not one of the proxies: its headers are ignored
    assert _audit_client(services) == "192.0.2.50"


def test_ingest_keeps_the_good_lines_around_a_5000_digit_number(api: TestClient, shipper: ApiUser) -> None:
    lines = [
        json.dumps({"eventName": "A", "eventSource": "s", "eventTime": "2026-01-01T00:00:00Z", "eventID": "1"}),
        '{"eventName": "B", "eventSource": "s", "n": ' + "9" * 5000 + "}",
        json.dumps({"eventName": "C", "eventSource": "s", "eventTime": "2026-01-01T00:00:01Z", "eventID": "3"}),
    ]
    response = api.post("/api/v1/ingest/cloudtrail", headers=shipper.headers, content="\n".join(lines).encode())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["line"] == 2
    assert "digits" in report["rejections"][0]["reason"]

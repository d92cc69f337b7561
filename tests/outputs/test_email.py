"""Email over real SMTP (aiosmtpd on loopback): recipients, subject, text + escaped HTML, limits."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mantissa_log.outputs.base import OutputContext
from tests.outputs.helpers import (
    ARN,
    SMTP_PASSWORD,
    Mailbox,
    SmtpServer,
    free_port,
    localhost_certificates,
    make_alert,
    make_ctx,
    make_integration,
    send,
)

CONFIG: dict[str, Any] = {
    "recipients": ["security@company.com", "oncall@company.com"],
    "from_address": "mantissa-log@company.com",
    "severity_filter": ["critical", "high"],
    "include_query_results": True,
    "max_results_in_email": 2,
}


def _ctx(server: SmtpServer, **kwargs: Any) -> OutputContext:
    kwargs.setdefault("smtp_starttls", False)
    kwargs.setdefault("smtp_from_domains", ("company.com",))
    return make_ctx(smtp_host=server.host, smtp_port=server.port, smtp_timeout_seconds=1, **kwargs)


def _samples() -> list[dict[str, Any]]:
    evil = {"eventName": "<script>alert(1)</script>", "userIdentity": {"arn": "a&b"}}
    return [evil, {"eventName": "Second"}, {"eventName": "ThirdNotShown"}]


def test_message_envelope_subject_and_bodies(smtp_server: SmtpServer) -> None:
    integration = make_integration("email", CONFIG)
    result = send(make_alert(samples=_samples(), rule_title="Root\r\nBcc: x@evil.com"), integration, _ctx(smtp_server))
    assert result.ok, result
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.mail_from == "mantissa-log@company.com"
    assert envelope.rcpt_tos == ["security@company.com", "oncall@company.com"]
    msg = smtp_server.mailbox.message()
    assert msg["Subject"] == "[HIGH] Root Bcc: x@evil.com"
    assert msg["Bcc"] is None
    assert (msg["From"], msg["To"]) == ("mantissa-log@company.com", "security@company.com, oncall@company.com")
    text = msg.get_body("plain").get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = msg.get_body("html").get_content()  # type: ignore[union-attr]
    assert "Sample events (2 of 4):" in text
    assert "  eventName: <script>alert(1)</script>\n  userIdentity.arn: a&b" in text
    assert "ThirdNotShown" not in text
    assert "ThirdNotShown" not in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert '<a href="https://mantissa.example/alerts/20261127T100000000000Z-abc123">' in html


def test_rows_only_when_asked(smtp_server: SmtpServer) -> None:
    integration = make_integration("email", CONFIG | {"include_query_results": False})
    assert send(make_alert(samples=_samples()), integration, _ctx(smtp_server, test=True)).ok
    msg = smtp_server.mailbox.message()
    assert msg["Subject"] == "[TEST] [HIGH] Root console login"
    assert "Sample events" not in msg.get_body("plain").get_content()  # type: ignore[union-attr]


def test_severity_filter_skips(smtp_server: SmtpServer) -> None:
    result = send(make_alert(severity="low"), make_integration("email", CONFIG), _ctx(smtp_server))
    assert result.ok
    assert result.skipped
    assert smtp_server.mailbox.envelopes == []


def test_login_with_stored_password(smtp_server: SmtpServer) -> None:
    ctx = _ctx(smtp_server, smtp_username="mailer", smtp_password_secret=ARN + "smtp")
    assert send(make_alert(), make_integration("email", CONFIG), ctx).ok
    assert smtp_server.mailbox.auth == [("mailer", SMTP_PASSWORD)]


def test_starttls_required_but_not_offered_fails_without_sending_credentials(smtp_server: SmtpServer) -> None:
    ctx = _ctx(smtp_server, smtp_starttls=True, smtp_username="mailer", smtp_password_secret=ARN + "smtp")
    result = send(make_alert(), make_integration("email", CONFIG), ctx)
    assert (result.ok, result.retryable) == (False, False)
    assert "does not offer STARTTLS" in result.message
    assert smtp_server.mailbox.auth == []
    assert smtp_server.mailbox.envelopes == []


def test_configuration_and_transport_failures(smtp_server: SmtpServer) -> None:
    integration = make_integration("email", CONFIG)
    unset = send(make_alert(), integration, make_ctx())
    assert (unset.ok, unset.retryable, unset.message) == (False, False, "SMTP is not configured (MANTISSA_SMTP_HOST)")
    refused = send(make_alert(), integration, make_ctx(smtp_host="127.0.0.1", smtp_port=free_port()))
    assert refused.retryable
    assert not refused.ok
    guarded = send(make_alert(), integration, _ctx(smtp_server, allow_private_targets=False))
    assert not guarded.ok
    assert not guarded.retryable
    assert "loopback" in guarded.message
    bad_login = _ctx(smtp_server, smtp_username="mailer", smtp_password_secret=ARN + "wrong")
    wrong = send(make_alert(), integration, make_ctx({ARN + "wrong": "nope-password"}, **vars_of(bad_login)))
    assert (wrong.ok, wrong.retryable, wrong.status_code) == (False, False, 535), wrong.message
    assert "nope-password" not in wrong.message


def vars_of(ctx: OutputContext) -> dict[str, Any]:
    return {k: v for k, v in vars(ctx).items() if k != "secret"}


def test_sender_is_the_operators_and_reply_to_the_users(smtp_server: SmtpServer) -> None:
    own = make_integration("email", CONFIG | {"reply_to": "alice@personal.example"})
    assert send(make_alert(), own, _ctx(smtp_server)).ok
    # Stored before the operator narrowed the allowed domains: sent from the default sender instead.
    narrowed = _ctx(smtp_server, smtp_from="alerts@ops.example", smtp_from_domains=("ops.example",))
    assert send(make_alert(), own, narrowed).ok
    unset = make_integration("email", {k: v for k, v in CONFIG.items() if k != "from_address"})
    assert send(make_alert(), unset, narrowed).ok
    first, second, third = smtp_server.mailbox.envelopes
    assert first.mail_from == "mantissa-log@company.com"
    assert second.mail_from == third.mail_from == "alerts@ops.example"
    messages = [smtp_server.mailbox.message(n) for n in range(3)]
    assert [m["From"] for m in messages] == ["mantissa-log@company.com", "alerts@ops.example", "alerts@ops.example"]
    assert [m["Reply-To"] for m in messages] == ["alice@personal.example", "alice@personal.example", None]


@contextmanager
def dripping_smtp_server(tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A server on loopback that never finishes an answer: a continuation line every 0.1 s, never
    idle long enough for one read to time out. Without `tls`, its greeting drips; with it, the
    greeting and EHLO offer STARTTLS, and the answer to the EHLO after it, inside TLS, drips.
    Yields its port."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def drip(conn: socket.socket) -> None:
        while not stop.wait(0.1):
            conn.sendall(b"250-still answering\r\n" if tls else b"220-still saying hello\r\n")

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.settimeout(10)
            with conn:
                if tls is None:
                    drip(conn)
                    return
                lines = conn.makefile("rb")
                conn.sendall(b"220 ready\r\n")
                lines.readline()  # EHLO
                conn.sendall(b"250-localhost\r\n250 STARTTLS\r\n")
                lines.readline()  # STARTTLS
                conn.sendall(b"220 go ahead\r\n")
                with tls.wrap_socket(conn, server_side=True) as secure:
                    secure.makefile("rb").readline()  # EHLO again, inside TLS
                    drip(secure)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def test_a_server_dripping_its_answer_is_cut_at_the_session_deadline() -> None:
    """Each read waits at most the SMTP timeout and the whole session at most three times it: a
    server that never stops its greeting is cut off then (retryable), instead of holding a sender."""
    integration = make_integration("email", CONFIG)
    with dripping_smtp_server() as port:
        ctx = make_ctx(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=0.3, smtp_starttls=False)
        started = time.monotonic()
        result = send(make_alert(), integration, ctx)
        elapsed = time.monotonic() - started
    assert (result.ok, result.retryable) == (False, True)
    assert "0.9 s" in result.message, result.message  # names the deadline that ended it
    assert elapsed < 2.5  # the deadline is 0.9 s; without one, the greeting never ends


def test_a_server_dripping_inside_tls_is_cut_at_the_session_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same deadline once STARTTLS has replaced the socket by a TLS one (verification on: the
    test's own CA is the trusted bundle)."""
    ca, leaf, key = localhost_certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(leaf, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    integration = make_integration("email", CONFIG)
    with dripping_smtp_server(server_side) as port:
        ctx = make_ctx(smtp_host="localhost", smtp_port=port, smtp_timeout_seconds=0.3, smtp_starttls=True)
        started = time.monotonic()
        result = send(make_alert(), integration, ctx)
        elapsed = time.monotonic() - started
    assert (result.ok, result.retryable) == (False, True)
    assert "0.9 s" in result.message, result.message
    assert elapsed < 2.5


def test_starttls_then_login_and_send_to_a_real_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default transport (MANTISSA_SMTP_STARTTLS on): STARTTLS verified against the host name,
    then login and the message inside TLS (aiosmtpd refuses AUTH outside it here)."""
    ca, leaf, key = localhost_certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(leaf, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    mailbox = Mailbox()
    logins: list[str] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append(auth_data.login.decode())
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode(), handled=False)

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_side,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        ctx = make_ctx(
            smtp_host="localhost",
            smtp_port=port,
            smtp_timeout_seconds=5,
            smtp_starttls=True,
            smtp_username="mailer",
            smtp_password_secret=ARN + "smtp",
            smtp_from_domains=("company.com",),
        )
        result = send(make_alert(), make_integration("email", CONFIG), ctx)
    finally:
        controller.stop()
    assert result.ok, result.message
    assert logins == ["mailer"]
    assert sorted(mailbox.envelopes[0].rcpt_tos) == ["oncall@company.com", "security@company.com"]

"""Email over SMTP: a text body and an escaped HTML alternative.

Server, port, STARTTLS and credentials come from process configuration (`OutputContext`).
The sender is the installation's (MANTISSA_SMTP_FROM) or a user's address in a domain the operator
allows (MANTISSA_SMTP_FROM_DOMAINS); a user's own address goes in Reply-To. Recipients are capped
(ten) and test sends are rate-limited, so the SMTP server cannot become a relay for spoofed mail.
The SMTP host passes the same guard as HTTP targets and the connection goes to the checked
address. Credentials are never sent in clear: with STARTTLS required and not offered the
delivery fails; with STARTTLS turned off, login is only done to a loopback relay.

Each socket operation waits at most MANTISSA_SMTP_TIMEOUT_SECONDS and the whole session (connect,
greeting, TLS, login, the message, QUIT) at most three times it: a server that keeps sending one
line at a time is never idle long enough for a read to time out, and would otherwise hold a
sender, and the delivery's claim, for as long as it liked.
"""

from __future__ import annotations

import contextlib
import html
import ipaddress
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.email import SPEC, EmailConfig
from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import netguard
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, Target
from mantissa_log.outputs.common import (
    SEND_DEADLINE_TIMEOUTS,
    alert_facts,
    alert_link,
    failed,
    fetch_secret,
    flatten,
    one_line,
    title,
    truncate,
)

SUBJECT_LIMIT = 200
VALUE_LIMIT = 2000


def _facts(alert: Alert, ctx: OutputContext) -> list[tuple[str, str]]:
    return [*alert_facts(alert), ("Alert", alert_link(alert, ctx))]


def _rows(alert: Alert, config: EmailConfig) -> list[list[tuple[str, str]]]:
    if not config.include_query_results:
        return []
    return [
        [(k, truncate(v, VALUE_LIMIT)) for k, v in flatten(row)] for row in alert.samples[: config.max_results_in_email]
    ]


def text_body(alert: Alert, config: EmailConfig, ctx: OutputContext) -> str:
    lines = [title(alert, ctx), ""]
    lines += [f"{name}: {value}" for name, value in _facts(alert, ctx)]
    rows = _rows(alert, config)
    if rows:
        lines += ["", f"Sample events ({len(rows)} of {alert.match_count}):"]
        for number, row in enumerate(rows, start=1):
            lines.append(f"#{number}")
            lines += [f"  {k}: {v}" for k, v in row]
    return "\n".join(lines) + "\n"


def html_body(alert: Alert, config: EmailConfig, ctx: OutputContext) -> str:
    """Every interpolated value goes through html.escape: sample values come from logs."""
    e = html.escape
    facts = "".join(
        f'<tr><th align="left">{e(n)}</th><td>{e(v)}</td></tr>' for n, v in _facts(alert, ctx) if n != "Alert"
    )
    link = alert_link(alert, ctx)
    parts = [
        "<!DOCTYPE html><html><body>",
        f"<h2>{e(title(alert, ctx))}</h2>",
        f"<table>{facts}</table>",
        f'<p><a href="{e(link)}">View alert in Mantissa Log</a></p>',
    ]
    rows = _rows(alert, config)
    if rows:
        parts.append(f"<h3>Sample events ({len(rows)} of {alert.match_count})</h3>")
        for number, row in enumerate(rows, start=1):
            cells = "".join(f'<tr><th align="left">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in row)
            parts.append(f"<h4>#{number}</h4><table>{cells}</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def subject(alert: Alert, ctx: OutputContext) -> str:
    return truncate(one_line(title(alert, ctx)), SUBJECT_LIMIT)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[1].lower()


def sender(config: EmailConfig, ctx: OutputContext) -> str:
    """The From address: the user's when its domain is allowed, else the installation's default.

    Saving refuses a from_address outside the allowed domains; this also covers configurations
    stored before the operator narrowed the list.
    """
    if config.from_address and _domain(config.from_address) in ctx.smtp_from_domains:
        return config.from_address
    return ctx.smtp_from


def check_config(config: EmailConfig, ctx: OutputContext) -> None:
    """At save time: the sender must be in a domain the operator allows."""
    if config.from_address and _domain(config.from_address) not in ctx.smtp_from_domains:
        allowed = ", ".join(ctx.smtp_from_domains)
        raise ValidationFailed(
            f"this installation sends only from {allowed} (MANTISSA_SMTP_FROM_DOMAINS); leave from_address "
            "unset to use the default sender, and put your own address in reply_to",
            field="config.from_address",
        )


def build_message(alert: Alert, config: EmailConfig, ctx: OutputContext) -> EmailMessage:
    message = EmailMessage()
    from_address = sender(config, ctx)
    message["Subject"] = subject(alert, ctx)
    message["From"] = from_address
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["To"] = ", ".join(config.recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(from_address))
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mantissa-Alert-Id"] = alert.alert_id
    message.set_content(text_body(alert, config, ctx))
    message.add_alternative(html_body(alert, config, ctx), subtype="html")
    return message


class _PinnedSMTP(smtplib.SMTP):
    """Connects to the checked address while keeping the host name for EHLO and TLS checks, and
    cuts the session off at its deadline.

    The cut comes from a timer thread: it shuts the session's socket down, so the read blocked on
    it returns at once and smtplib raises. A socket still being connected when the timer fires is
    refused as soon as it exists (`_get_socket`).
    """

    def __init__(self, addresses: tuple[str, ...], timeout: float, deadline_seconds: float) -> None:
        self._pinned_addresses = addresses
        self._cut_lock = threading.Lock()
        self.cut_off = False
        self._timer = threading.Timer(deadline_seconds, self._cut)
        self._timer.daemon = True
        super().__init__(timeout=timeout)
        self._timer.start()

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # STARTTLS checks the certificate against `_host`, which smtplib sets only when the host is
        # given to the constructor (it is not here: the connection goes to a checked address).
        self._host = host
        sock = self._connect_pinned(port, timeout)
        with self._cut_lock:
            if self.cut_off:
                sock.close()
                raise TimeoutError("the SMTP session's deadline passed while connecting")
            self.sock = sock
        return sock

    def _connect_pinned(self, port: int, timeout: float) -> socket.socket:
        for address in self._pinned_addresses[:-1]:
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError:
                continue
        return socket.create_connection((self._pinned_addresses[-1], port), timeout, self.source_address)

    def _cut(self) -> None:
        with self._cut_lock:
            self.cut_off = True
            sock = getattr(self, "sock", None)
            if sock is not None:
                # The plain socket's shutdown, also for a TLS one: it acts on the descriptor and leaves
                # the TLS object to the thread reading through it.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._cut_lock:  # never while a cut is shutting the socket down
            super().close()


def _smtp_failure(exc: Exception, secrets: tuple[str, ...]) -> DeliveryResult:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        every_transient = bool(codes) and all(400 <= c < 500 for c in codes)
        listed = ", ".join(f"{addr} ({code})" for addr, (code, _) in exc.recipients.items())
        return failed(f"SMTP server refused every recipient: {listed}", retryable=every_transient, secrets=secrets)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return DeliveryResult(
            ok=False,
            retryable=400 <= exc.smtp_code < 500,
            status_code=exc.smtp_code,
            message=failed(f"SMTP server answered {exc.smtp_code}: {one_line(text)}", secrets=secrets).message,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLError):
        return failed(f"SMTP TLS or command failure: {type(exc).__name__}: {exc}", secrets=secrets)
    # Disconnects, timeouts, refused connections: the server may be back shortly.
    return failed(f"SMTP connection failed: {type(exc).__name__}: {exc}", retryable=True, secrets=secrets)


def body(alert: Alert, target: Target[EmailConfig], ctx: OutputContext) -> bytes:
    return build_message(alert, target.config, ctx).as_bytes()


def send(alert: Alert, target: Target[EmailConfig], ctx: OutputContext) -> DeliveryResult:
    config = target.config
    if not ctx.smtp_host:
        return failed("SMTP is not configured (MANTISSA_SMTP_HOST)")
    host = ctx.smtp_host
    try:
        addresses = netguard.check_host(host, ctx.smtp_port, allow_private=ctx.allow_private_targets, what="smtp_host")
    except ValidationFailed as exc:
        return failed(exc.message, retryable=isinstance(exc, netguard.ResolutionFailed))
    password: str | None = None
    if ctx.smtp_username and ctx.smtp_password_secret:
        fetched = fetch_secret(ctx, ctx.smtp_password_secret, "SMTP password")
        if isinstance(fetched, DeliveryResult):
            return fetched
        password = fetched
    secrets = (password,) if password else ()
    message = build_message(alert, config, ctx)
    deadline = SEND_DEADLINE_TIMEOUTS * ctx.smtp_timeout_seconds
    smtp = _PinnedSMTP(addresses, ctx.smtp_timeout_seconds, deadline)
    try:
        with smtp:
            smtp.connect(host, ctx.smtp_port)
            smtp.ehlo_or_helo_if_needed()
            encrypted = False
            if ctx.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    return failed(
                        f"SMTP server {host} does not offer STARTTLS, which is required (MANTISSA_SMTP_STARTTLS)"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                encrypted = True
            if password and ctx.smtp_username:
                if not encrypted and not all(ipaddress.ip_address(a).is_loopback for a in addresses):
                    return failed(f"refusing to send SMTP credentials to {host} without STARTTLS")
                smtp.login(ctx.smtp_username, password)
            refused = smtp.send_message(message, from_addr=sender(config, ctx), to_addrs=list(config.recipients))
    except (smtplib.SMTPException, OSError) as exc:
        if smtp.cut_off:
            return failed(
                f"SMTP session with {host} did not finish within {deadline:g} s "
                f"({SEND_DEADLINE_TIMEOUTS} times MANTISSA_SMTP_TIMEOUT_SECONDS); cut off",
                retryable=True,
            )
        return _smtp_failure(exc, secrets)
    finally:
        smtp.close()  # stops the deadline's timer (also when a check above returned early)
    if refused:
        listed = ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items())
        return DeliveryResult(ok=True, message=f"sent; refused recipients: {listed}")
    return DeliveryResult(ok=True, message=f"sent to {len(config.recipients)} recipient(s)")


OUTPUT = OutputSpec(SPEC, send, body, check_config)

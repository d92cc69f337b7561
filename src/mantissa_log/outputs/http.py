"""HTTP for alert outputs: every hop guarded and pinned, redirects followed by hand, failures mapped.

- Each hop (the first URL and every redirect) goes through `netguard` and is sent to the
  address that was checked, with the original Host header and TLS server name (no rebinding).
- 307/308 are followed with method and body; 301/302/303 only for GET/HEAD, because turning an
  alert POST into a GET would report "delivered" while dropping the alert.
- On a redirect to another origin the caller's headers are dropped (they may hold credentials),
  and a redirect from https to http is refused.
- No proxy is ever used: a proxy would resolve names itself and defeat the guard.
- Messages name URLs only as scheme://host/… and never contain the caller's secret values.

The transport is `wire` (a lean HTTP/1.1 exchange) over connections the holder keeps open
(`connections.HttpClients`, the outbox's) or opened for one send. `exchange` answers a
`wire.Answer`; `request` is the same answering an `httpx.Response`, for callers that want one.
"""

from __future__ import annotations

import email.utils
import functools
import math
import ssl
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urljoin, urlsplit

import httpx

from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import netguard
from mantissa_log.outputs.base import DeliveryResult, OutputContext
from mantissa_log.outputs.common import SEND_DEADLINE_TIMEOUTS, scrub, url_secrets
from mantissa_log.outputs.connections import HttpClients, tls_context
from mantissa_log.outputs.netguard import redact_url
from mantissa_log.outputs.wire import Answer, Connection, StaleConnection, WireError, encode_head

MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 1 << 20
SNIPPET_CHARS = 300
USER_AGENT = "mantissa-log-alerts/1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
BODY_KEEPING_REDIRECTS = frozenset({307, 308})
# Headers that carry no credentials and may follow a redirect to another origin.
CROSS_ORIGIN_SAFE = frozenset({"content-type", "accept", "user-agent"})
# Set by the transport only: a second Host or a stray length would confuse the receiver.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters a request target keeps as they are; anything else (spaces, non-ASCII) is %-encoded.
TARGET_SAFE = "!#$&'()*+,/:;=?@[]~%"

Origin = tuple[str, str, int]  # scheme, host, port (the default one when the URL names none)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _snippet(response: Answer) -> str:
    text = " ".join(response.text.split())
    return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")


def classify(response: Answer, url: str, secrets: Iterable[str] = ()) -> DeliveryResult | None:
    """None for a 2xx; otherwise the failure: 408, 429 and 5xx retryable, the rest permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return None
    retryable = code in (408, 429) or code >= 500
    snippet = _snippet(response)
    message = f"{redact_url(url)} answered HTTP {code}" + (f": {snippet}" if snippet else "")
    return DeliveryResult(
        ok=False,
        retryable=retryable,
        status_code=code,
        message=scrub(message, secrets),
        retry_after=parse_retry_after(response.header("retry-after")) if retryable else None,
    )


class _Hop:
    """One URL of a send, taken apart once: where to connect, what to write.
    Raises ValueError (or UnicodeError) for a URL that cannot be sent."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        host = parts.hostname or ""
        # An internationalised name goes on the wire (Host, SNI) in its ASCII form.
        self.host = host if host.isascii() else host.encode("idna").decode("ascii")
        self.port = parts.port or DEFAULT_PORTS.get(self.scheme, 0)
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        default = parts.port in (None, DEFAULT_PORTS.get(self.scheme))
        self.host_header = bracketed if default else f"{bracketed}:{parts.port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.target = quote(target, safe=TARGET_SAFE)

    @property
    def origin(self) -> Origin:
        return self.scheme, self.host, self.port


# The outbox sends to the same few URLs thousands of times a second: each taken apart once
# (~4 us a time otherwise). A hop is never changed after it is made.
_hop = functools.lru_cache(maxsize=512)(_Hop)


def _head(hop: _Hop, method: str, headers: Mapping[str, str], body: bytes | None) -> bytes:
    """Request line and headers: ours by default, the caller's over them (case-insensitively),
    the transport's own last (the caller cannot set Host or a length)."""
    merged: dict[str, tuple[str, str]] = {"user-agent": ("User-Agent", USER_AGENT), "accept": ("Accept", "*/*")}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in TRANSPORT_HEADERS:
            merged[lowered] = (name, value)
    sent = {"Host": hop.host_header, **dict(merged.values())}
    if body is not None:
        sent["Content-Length"] = str(len(body))
    return encode_head(method, hop.target, sent)


def _open(hop: _Hop, address: str, timeout: float, deadline: float) -> Connection:
    tls = tls_context() if hop.scheme == "https" else None
    wait = min(timeout, max(deadline - time.monotonic(), 0.001))
    return Connection(hop.scheme, hop.host, hop.port, address, timeout=wait, tls=tls)


class _Unreachable(Exception):
    """This address refused or ignored the connection; the hop has other checked addresses to try."""


def _send_to(
    pool: HttpClients | None,
    hop: _Hop,
    address: str,
    head: bytes,
    body: bytes | None,
    *,
    head_only: bool,
    timeout: float,
    deadline: float,
    more_addresses: bool,
) -> Answer:
    """One request to one checked address, on a kept-open connection when the pool has one.

    A kept-open connection the receiver closed meanwhile fails before any answer arrives
    (`StaleConnection`): the request is then sent once more on a fresh connection, as every
    keep-alive client does. Each request carries the delivery's idempotency key, so a receiver
    that did see the first copy can drop the second."""
    connection = pool.take((hop.scheme, hop.host, hop.port, address)) if pool is not None else None
    for _ in range(2):
        if connection is None:
            try:
                connection = _open(hop, address, timeout, deadline)
            except ssl.SSLError:
                raise
            except OSError as exc:
                if more_addresses:
                    raise _Unreachable from exc
                raise
            if pool is not None:
                pool.opened_one()
        try:
            answer, keep = connection.exchange(
                head, body, head_only=head_only, timeout=timeout, deadline=deadline, max_body=MAX_RESPONSE_BYTES
            )
        except StaleConnection:
            connection.close()
            connection = None
            continue
        except BaseException:
            connection.close()
            raise
        if keep and pool is not None:
            pool.give_back(connection)
        else:
            connection.close()
        return answer
    raise WireError("the receiver closed two connections in a row without answering")


def _send(
    pool: HttpClients | None,
    method: str,
    hop: _Hop,
    target: netguard.Target,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    timeout: float,
    deadline: float,
) -> Answer:
    """One hop: each checked address in turn until one accepts the connection."""
    head = _head(hop, method, headers, body)
    last = len(target.addresses) - 1
    for index, address in enumerate(target.addresses):
        try:
            return _send_to(
                pool,
                hop,
                address,
                head,
                body,
                head_only=method == "HEAD",
                timeout=timeout,
                deadline=deadline,
                more_addresses=index < last,
            )
        except _Unreachable:
            continue
    raise AssertionError("unreachable: the last address raises instead of moving on")


def _checked(url: str, ctx: OutputContext) -> netguard.Target:
    if ctx.http is not None:
        return ctx.http.target(url, allow_private=ctx.allow_private_targets)
    return netguard.resolve_target(url, allow_private=ctx.allow_private_targets)


def exchange(
    method: str,
    url: str,
    *,
    ctx: OutputContext,
    headers: Mapping[str, str] | None = None,
    content: bytes = b"",
    timeout: float = 10.0,
    timeout_name: str = "timeout",
    secrets: Iterable[str] = (),
) -> Answer | DeliveryResult:
    """Send one request; a 2xx `Answer`, or the failure as a DeliveryResult. `timeout` bounds each
    connect, write and read, three times it the whole send; `timeout_name` says in a timeout's
    message which setting that is."""
    secrets = tuple(secrets)
    current_method = method.upper()
    body: bytes | None = content
    sent_headers = dict(headers or {})
    current = url
    deadline = time.monotonic() + timeout * SEND_DEADLINE_TIMEOUTS
    for hop_number in range(MAX_REDIRECTS + 1):
        shown = redact_url(current)
        try:
            target = _checked(current, ctx)
        except netguard.ResolutionFailed as exc:
            return DeliveryResult(ok=False, retryable=True, message=scrub(exc.message, secrets))
        except ValidationFailed as exc:
            return DeliveryResult(ok=False, message=scrub(f"{exc.message} ({shown})", secrets))
        try:
            hop = _hop(current)
        except (ValueError, UnicodeError):
            return DeliveryResult(ok=False, message=f"malformed URL {shown}")
        if current_method in ("GET", "HEAD") and not body:
            body = None
        try:
            response = _send(
                ctx.http, current_method, hop, target, sent_headers, body, timeout=timeout, deadline=deadline
            )
        except TimeoutError:
            return DeliveryResult(
                ok=False,
                retryable=True,
                message=f"timed out contacting {shown} (no answer within {timeout:g} s, the {timeout_name})",
            )
        except ssl.SSLError as exc:
            # Certificate or handshake failure: retried like any network error (it may be a
            # certificate being rotated), and shown plainly.
            why = (
                f"certificate verify failed: {exc.verify_message}"
                if isinstance(exc, ssl.SSLCertVerificationError)
                else f"{type(exc).__name__}: {exc.reason or exc}"
            )
            detail = scrub(why, (*secrets, *url_secrets(current)))
            return DeliveryResult(ok=False, retryable=True, message=f"TLS with {shown} failed: {detail}")
        except (OSError, WireError) as exc:
            detail = scrub(str(exc), (*secrets, *url_secrets(current)))
            return DeliveryResult(
                ok=False, retryable=True, message=f"network error contacting {shown}: {type(exc).__name__} {detail}"
            )
        except ValueError as exc:
            # Our own request is malformed (e.g. a non-ASCII header value): retrying cannot help.
            detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
            return DeliveryResult(ok=False, message=f"request to {shown} could not be built: {detail}")
        location = response.header("location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return classify(response, current, secrets) or response
        code = response.status_code
        try:
            following = urljoin(current, location)
            next_hop = _hop(following)
        except (ValueError, UnicodeError):
            return DeliveryResult(ok=False, status_code=code, message=f"{shown} redirected to an invalid URL")
        if hop_number == MAX_REDIRECTS:
            return DeliveryResult(ok=False, status_code=code, message=f"too many redirects from {shown}")
        if code not in BODY_KEEPING_REDIRECTS and current_method not in ("GET", "HEAD"):
            return DeliveryResult(
                ok=False,
                status_code=code,
                message=f"{shown} answered {code} (redirect to {redact_url(following)}), which would drop "
                f"the {current_method} body; point the integration at the final URL",
            )
        if hop.scheme == "https" and next_hop.scheme == "http":
            return DeliveryResult(ok=False, status_code=code, message=f"{shown} redirected from https to http")
        if next_hop.origin != hop.origin:
            sent_headers = {k: v for k, v in sent_headers.items() if k.lower() in CROSS_ORIGIN_SAFE}
        current = following
    raise AssertionError("unreachable: the loop returns on every path")


def request(
    method: str,
    url: str,
    *,
    ctx: OutputContext,
    headers: Mapping[str, str] | None = None,
    content: bytes = b"",
    timeout: float = 10.0,
    timeout_name: str = "timeout",
    secrets: Iterable[str] = (),
) -> httpx.Response | DeliveryResult:
    """`exchange`, answering a 2xx as an `httpx.Response` (the body already decoded and capped)."""
    answer = exchange(
        method,
        url,
        ctx=ctx,
        headers=headers,
        content=content,
        timeout=timeout,
        timeout_name=timeout_name,
        secrets=secrets,
    )
    if isinstance(answer, DeliveryResult):
        return answer
    # Already decoded: drop the headers that would make httpx decode or length-check again.
    kept = [(k, v) for k, v in answer.headers if k.lower() not in ("content-encoding", "content-length")]
    return httpx.Response(answer.status_code, headers=kept, content=answer.content)

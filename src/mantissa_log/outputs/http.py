"""HTTP for alert outputs: every hop guarded and pinned, redirects followed by hand, failures mapped.

- Each hop (the first URL and every redirect) goes through `netguard` and is sent to the
  address that was checked, with the original Host header and TLS server name (no rebinding).
- 307/308 are followed with method and body; 301/302/303 only for GET/HEAD, because turning an
  alert POST into a GET would report "delivered" while dropping the alert.
- On a redirect to another origin the caller's headers are dropped (they may hold credentials),
  and a redirect from https to http is refused.
- Proxies from the environment are ignored (trust_env=False): a proxy would resolve names itself
  and defeat the guard.
- Messages name URLs only as scheme://host/… and never contain the caller's secret values.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx

from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import netguard
from mantissa_log.outputs.base import DeliveryResult, OutputContext
from mantissa_log.outputs.common import scrub, url_secrets
from mantissa_log.outputs.connections import HttpClients, Origin, new_client
from mantissa_log.outputs.netguard import redact_url

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


def _origin(url: httpx.URL) -> Origin:
    return url.scheme, url.host, url.port


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")


def classify(response: httpx.Response, url: str, secrets: Iterable[str] = ()) -> DeliveryResult | None:
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
        retry_after=parse_retry_after(response.headers.get("retry-after")) if retryable else None,
    )


def _send(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    target: netguard.Target,
    headers: Mapping[str, str],
    content: bytes | None,
    deadline: float,
    timeout: float,
) -> httpx.Response:
    """One hop: each checked address in turn until one accepts the connection."""
    for address in target.addresses[:-1]:
        try:
            return _send_to(client, method, url, address, headers, content, deadline, timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue
    return _send_to(client, method, url, target.addresses[-1], headers, content, deadline, timeout)


def _send_to(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    address: str,
    headers: Mapping[str, str],
    content: bytes | None,
    deadline: float,
    timeout: float,
) -> httpx.Response:
    """One request to one checked address; the body is read up to MAX_RESPONSE_BYTES."""
    pinned = url.copy_with(host=address)
    own = {k: v for k, v in headers.items() if k.lower() not in TRANSPORT_HEADERS}
    sent = {"User-Agent": USER_AGENT, **own, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    with client.stream(
        method, pinned, headers=sent, content=content, extensions=extensions, timeout=timeout
    ) as streamed:
        chunks: list[bytes] = []
        size = 0
        for chunk in streamed.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_RESPONSE_BYTES:
                break
            if time.monotonic() > deadline:  # per-read timeouts alone let a slow drip run forever
                raise httpx.ReadTimeout("response took too long", request=streamed.request)
    # Already decoded: drop the headers that would make httpx decode or length-check again.
    kept = [
        (k, v) for k, v in streamed.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")
    ]
    return httpx.Response(
        streamed.status_code, headers=kept, content=b"".join(chunks)[:MAX_RESPONSE_BYTES], request=streamed.request
    )


@contextmanager
def _clients(shared: HttpClients | None) -> Iterator[Callable[[Origin], httpx.Client]]:
    """The client for each hop's origin: the holder's kept-open one, or one for this send only."""
    if shared is not None:
        yield shared.for_origin
        return
    own = new_client()
    try:
        yield lambda _origin: own
    finally:
        own.close()


def request(
    method: str,
    url: str,
    *,
    ctx: OutputContext,
    headers: Mapping[str, str] | None = None,
    content: bytes = b"",
    timeout: float = 10.0,
    secrets: Iterable[str] = (),
) -> httpx.Response | DeliveryResult:
    """Send one request; a 2xx httpx.Response, or the failure as a DeliveryResult."""
    secrets = tuple(secrets)
    current_method = method.upper()
    body: bytes | None = content
    sent_headers = dict(headers or {})
    try:
        current = httpx.URL(url)
    except httpx.InvalidURL:
        return DeliveryResult(ok=False, message=f"malformed URL {redact_url(url)}")
    deadline = time.monotonic() + timeout * 3
    with _clients(ctx.http) as client_for:
        for hop in range(MAX_REDIRECTS + 1):
            shown = redact_url(str(current))
            try:
                target = netguard.resolve_target(str(current), allow_private=ctx.allow_private_targets)
            except netguard.ResolutionFailed as exc:
                return DeliveryResult(ok=False, retryable=True, message=scrub(exc.message, secrets))
            except ValidationFailed as exc:
                return DeliveryResult(ok=False, message=scrub(f"{exc.message} ({shown})", secrets))
            if current_method in ("GET", "HEAD") and not body:
                body = None
            try:
                client = client_for(_origin(current))
                response = _send(client, current_method, current, target, sent_headers, body, deadline, timeout)
            except httpx.TimeoutException:
                return DeliveryResult(ok=False, retryable=True, message=f"timed out contacting {shown}")
            except (ValueError, httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
                # Our own request is malformed (e.g. a non-ASCII header value): retrying cannot help.
                detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
                return DeliveryResult(ok=False, message=f"request to {shown} could not be built: {detail}")
            except httpx.HTTPError as exc:
                detail = scrub(str(exc), (*secrets, *url_secrets(str(current))))
                return DeliveryResult(
                    ok=False, retryable=True, message=f"network error contacting {shown}: {type(exc).__name__} {detail}"
                )
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return classify(response, str(current), secrets) or response
            code = response.status_code
            try:
                following = current.join(location)
            except httpx.InvalidURL:
                return DeliveryResult(ok=False, status_code=code, message=f"{shown} redirected to an invalid URL")
            if hop == MAX_REDIRECTS:
                return DeliveryResult(ok=False, status_code=code, message=f"too many redirects from {shown}")
            if code not in BODY_KEEPING_REDIRECTS and current_method not in ("GET", "HEAD"):
                return DeliveryResult(
                    ok=False,
                    status_code=code,
                    message=f"{shown} answered {code} (redirect to {redact_url(str(following))}), which would drop "
                    f"the {current_method} body; point the integration at the final URL",
                )
            if current.scheme == "https" and following.scheme == "http":
                return DeliveryResult(ok=False, status_code=code, message=f"{shown} redirected from https to http")
            if _origin(following) != _origin(current):
                sent_headers = {k: v for k, v in sent_headers.items() if k.lower() in CROSS_ORIGIN_SAFE}
            current = following
    raise AssertionError("unreachable: the loop returns on every path")

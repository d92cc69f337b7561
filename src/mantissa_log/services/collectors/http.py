"""Outbound HTTP for collectors: every request through the outbound guard, pinned to checked addresses.

Like the alert outputs (`outputs/http.py`): the URL's host is resolved and checked by
`outputs.netguard` (loopback and private ranges only with `MANTISSA_ALLOW_PRIVATE_TARGETS`, cloud
metadata never), the connection goes to a checked address with the original Host header and TLS
server name, proxies from the environment are ignored and redirects are not followed. Paging links
must stay on the configured origin: a `Link: rel="next"` elsewhere would carry the credential there.
Responses are larger than an output's (a page of 1,000 Okta events), so the cap is the collector's.
"""

from __future__ import annotations

import functools
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs import netguard
from mantissa_log.outputs.http import parse_retry_after
from mantissa_log.outputs.netguard import redact_url

MAX_RESPONSE_BYTES = 64 << 20
USER_AGENT = "mantissa-log-collector/1"
Sleep = Callable[[float], None]
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


class FetchFailed(Exception):
    """A request that did not return a usable answer; `retry_after` when the server asked for patience."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def link(self, rel: str) -> str | None:
        """The URL of `Link: <url>; rel="<rel>"` (RFC 8288), if any."""
        for value in self.headers.get_list("link"):
            for url, params in _LINK.findall(value):
                rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', params)
                if any(rel in r.split() for r in rels):
                    return str(url)
        return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def same_origin(url: str, base: str) -> bool:
    try:
        return origin(url) == origin(base)
    except httpx.InvalidURL:
        return False


def get(url: str, headers: Mapping[str, str], *, allow_private: bool, timeout: float = 30.0) -> Answer:
    """GET `url` through the guard. Raises ValidationFailed (refused target) or FetchFailed."""
    return send("GET", url, headers, allow_private=allow_private, timeout=timeout)


def send(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    content: bytes | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One request through the guard, pinned to a checked address; the answer read up to the cap."""
    target = netguard.resolve_target(url, allow_private=allow_private)
    parsed = httpx.URL(url)
    sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers, "Host": parsed.netloc.decode("ascii")}
    extensions = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
    deadline = time.monotonic() + timeout * 3
    last: Exception | None = None
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context()) as client:
        for address in target.addresses:
            try:
                pinned = parsed.copy_with(host=address)
                with client.stream(method, pinned, headers=sent, content=content, extensions=extensions) as got:
                    chunks, size = [], 0
                    for chunk in got.iter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            raise FetchFailed(f"{redact_url(url)} answered more than {MAX_RESPONSE_BYTES} bytes")
                        if time.monotonic() > deadline:
                            raise FetchFailed(f"{redact_url(url)} took too long to answer")
                    return Answer(got.status_code, got.headers, b"".join(chunks))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"network error contacting {redact_url(url)}: {type(exc).__name__}") from None
    raise FetchFailed(f"cannot connect to {redact_url(url)}: {type(last).__name__}")


def fetch_page(
    url: str,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    sleep: Sleep,
    now: Callable[[], float],
    max_wait: float,
    attempts: int = 4,
    method: str = "GET",
    content: bytes | None = None,
) -> Answer:
    """A 2xx answer for `url`, waiting out 429 (Retry-After / X-Rate-Limit-Reset) and retrying 5xx.

    Waits at most `max_wait` seconds in all; past that, FetchFailed with `retry_after` set, so the
    run stops with its checkpoint where it is and the next run carries on.
    """
    waited = 0.0
    for attempt in range(attempts):
        answer = send(method, url, headers, allow_private=allow_private, content=content)
        if 200 <= answer.status < 300:
            return answer
        shown = redact_url(url)
        if answer.status == 429 or answer.status >= 500:
            pause = rate_limit_wait(answer, now()) if answer.status == 429 else None
            pause = float(2**attempt) if pause is None else pause
            if waited + pause > max_wait or attempt == attempts - 1:
                raise FetchFailed(f"{shown} answered HTTP {answer.status}", status=answer.status, retry_after=pause)
            sleep(pause)
            waited += pause
            continue
        raise FetchFailed(f"{shown} answered HTTP {answer.status}", status=answer.status)
    raise AssertionError("unreachable")


def rate_limit_wait(answer: Answer, now: float) -> float | None:
    """Seconds to wait: Retry-After, else Okta's X-Rate-Limit-Reset (epoch seconds), else None."""
    after = parse_retry_after(answer.headers.get("retry-after"), now=datetime.fromtimestamp(now, UTC))
    if after is not None:
        return after
    reset = answer.headers.get("x-rate-limit-reset") or answer.headers.get("x-ratelimit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def check_origin(url: str, base: str) -> str:
    if not same_origin(url, base):
        raise ValidationFailed(f"a paging link led off {redact_url(base)}; refusing to follow it", field="base_url")
    return url

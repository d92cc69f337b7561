"""HTTP for a user's own LLM endpoint (`llm_base_url`): checked by the outbound guard, then pinned.

The endpoint is checked when it is used (`outputs.netguard`: no loopback, private or metadata
addresses unless the operator allows private targets), and every request of the SDK's client goes
to the addresses that were checked, with the original Host header and TLS server name, so a DNS
answer that changes afterwards cannot redirect it (rebinding). A request to any other host (the
SDKs follow no redirects, but a response could name one) is refused. Proxies from the environment
are ignored: a proxy would resolve the name itself and defeat the guard.
"""

from __future__ import annotations

import httpx2

from mantissa_log.errors import DependencyFailed, UpstreamFailed, ValidationFailed
from mantissa_log.outputs import netguard


def check_endpoint(url: str, *, allow_private: bool) -> netguard.Target:
    """The checked target of `llm_base_url`, or a clear error naming the setting."""
    try:
        return netguard.resolve_target(url, allow_private=allow_private)
    except netguard.ResolutionFailed as exc:
        raise UpstreamFailed(exc.message, code="llm_unreachable", field="llm_base_url") from None
    except ValidationFailed as exc:
        hint = (
            " (a model server on this machine or a private network needs MANTISSA_ALLOW_PRIVATE_TARGETS=true)"
            if not allow_private and "private targets are not allowed" in exc.message
            else ""
        )
        raise DependencyFailed(exc.message + hint, code="llm_base_url_refused", field="llm_base_url") from None


class PinnedTransport(httpx2.BaseTransport):
    """Sends every request to the checked addresses of one host, in order, until one connects."""

    def __init__(self, target: netguard.Target) -> None:
        self.target = target
        self.inner = httpx2.HTTPTransport(trust_env=False)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.host.lower() != self.target.host.lower() or (url.port or _default_port(url)) != self.target.port:
            raise httpx2.ConnectError(f"refusing a request to {url.scheme}://{url.host}/…: not the checked endpoint")
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        last: httpx2.ConnectError | None = None
        for address in self.target.addresses:
            request.url = url.copy_with(host=address)
            try:
                return self.inner.handle_request(request)
            except httpx2.ConnectError as exc:
                last = exc
        assert last is not None  # a Target always has at least one address
        raise last

    def close(self) -> None:
        self.inner.close()


def _default_port(url: httpx2.URL) -> int:
    return 443 if url.scheme == "https" else 80


def pinned_client(target: netguard.Target, timeout: float) -> httpx2.Client:
    return httpx2.Client(transport=PinnedTransport(target), trust_env=False, timeout=timeout, follow_redirects=False)

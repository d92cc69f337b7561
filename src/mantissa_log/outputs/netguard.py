"""Outbound target guard: no alert output may reach loopback, private or metadata addresses.

Every address a host name resolves to is checked (one bad answer refuses the target), and the
caller then connects only to the addresses that were checked (`resolve_target`), so a DNS answer that
changes between check and connect (rebinding) cannot slip through.

`allow_private` (admin configuration) opens loopback, link-local, private, CGNAT and reserved
ranges. Cloud metadata addresses stay refused even then: no alert output ever needs them, and
reaching them is the classic way to steal instance credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from mantissa_log.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOWED_SCHEMES = ("http", "https")


class ResolutionFailed(ValidationFailed):
    """The name did not resolve: possibly a passing DNS failure, so senders may retry."""


@dataclass(frozen=True)
class Target:
    host: str  # as written in the URL (for Host / SNI)
    addresses: tuple[str, ...]  # the checked addresses, in resolver order: connect only to these
    port: int


def redact_url(url: str) -> str:
    """scheme://host/… : paths and queries often carry tokens (Slack webhook URLs are secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
    except ValueError:
        return "<unparseable url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme or '?'}://{host}/…"


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """IPv4 hidden inside IPv6 (mapped, 6to4, NAT64) is judged as that IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why this address may not be contacted, or None when it may."""
    inner = _embedded_v4(ip)
    if inner is not None:
        return refusal_reason(inner, allow_private=allow_private)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    for reason, hit in (
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("a carrier-grade NAT address", isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT),
        ("a reserved address", ip.is_reserved),
        ("a private address", ip.is_private),
        # Anything else not globally routable (documentation, benchmarking, ...).
        ("a non-public address", not ip.is_global),
    ):
        if hit:
            return reason
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"cannot resolve host {host}: {exc}", field="url") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # Drop any IPv6 zone id ("fe80::1%eth0") before parsing.
        text = str(info[4][0]).split("%", 1)[0]
        ip = ipaddress.ip_address(text)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ResolutionFailed(f"host {host} has no addresses", field="url")
    return addresses


def check_host(host: str, port: int, *, allow_private: bool, what: str = "url") -> tuple[str, ...]:
    """Resolve `host`, refuse it if any address is off limits; return the addresses to connect to."""
    addresses = _resolve(host, port)
    for ip in addresses:
        reason = refusal_reason(ip, allow_private=allow_private)
        if reason:
            hint = "" if allow_private or "metadata" in reason else "; private targets are not allowed"
            raise ValidationFailed(f"refusing {what} target {host}: it resolves to {ip}, {reason}{hint}", field=what)
    return tuple(str(ip) for ip in addresses)


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check `url` and return where to connect. Raises ValidationFailed(field="url")."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise ValidationFailed(f"malformed URL {redact_url(url)}", field="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ValidationFailed(f"URL scheme must be http or https, not {scheme or 'none'!r}", field="url")
    if not host:
        raise ValidationFailed(f"URL {redact_url(url)} has no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("URLs with embedded credentials are not allowed", field="url")
    port = port or (443 if scheme == "https" else 80)
    return Target(host=host, addresses=check_host(host, port, allow_private=allow_private), port=port)


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ValidationFailed(field="url") unless `url` is an http(s) URL to an allowed host."""
    resolve_target(url, allow_private=allow_private)

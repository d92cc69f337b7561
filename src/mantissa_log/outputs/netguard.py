"""Outbound target guard: no alert output may reach loopback, private or metadata addresses.

Every address a host name resolves to is checked (one bad answer refuses the target), and the
caller then connects only to the addresses that were checked (`resolve_target`), so a DNS answer that
changes between check and connect (rebinding) cannot slip through.

`allow_private` (admin configuration) opens loopback, private, CGNAT, reserved and special-purpose
ranges. Cloud metadata addresses stay refused even then, in every spelling: all of 169.254.0.0/16,
AWS's fd00:ec2::/32, the other clouds' metadata and wire servers, and any IPv6 form that carries
one of them (mapped, translated, compatible, 6to4, Teredo, NAT64 and local-use NAT64 in each
RFC 6052 layout). By default anything not globally routable is refused, including what
`ipaddress` calls global but is not public (192.0.0.0/24, fec0::/10, ::/96, 64:ff9b:1::/48).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from mantissa_log.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Refused even with private targets allowed: no alert output needs them, and reaching them is the
# classic way to steal instance credentials.
METADATA_NETWORKS = _networks(
    "169.254.0.0/16",  # link-local: AWS/GCP/Azure/OCI IMDS, ECS task (.170.2) and EKS pod identity (.170.23)
    "fd00:ec2::/32",  # AWS IPv6: IMDS (::254), pod identity (::23), DNS, NTP
    "fd20:ce::254/128",  # GCP IPv6 metadata
    "fd00:c1::a9fe:a9fe/128",  # OCI IPv6 metadata
    "fe80::a9fe:a9fe/128",  # link-local spelling of 169.254.169.254
    "100.100.100.200/32",  # Alibaba Cloud
    "192.0.0.192/32",  # Oracle Cloud (classic)
    "168.63.129.16/32",  # Azure WireServer
)
# Not public, though `ipaddress` may call them global: refused unless private targets are allowed.
SPECIAL_NETWORKS = _networks(
    "192.0.0.0/24",  # IETF protocol assignments
    "fec0::/10",  # deprecated site-local
    "::/96",  # deprecated IPv4-compatible (and ::, ::1)
    "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
    "100.64.0.0/10",  # carrier-grade NAT
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
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


def _rfc6052(value: int, prefix: int) -> ipaddress.IPv4Address:
    """The IPv4 address RFC 6052 embeds after a prefix of `prefix` bits (bits 64-71 are skipped)."""
    without_u = ((value >> 64) << 56) | (value & ((1 << 56) - 1))  # 120 bits
    start = prefix if prefix <= 64 else prefix - 8
    return ipaddress.IPv4Address((without_u >> (120 - start - 32)) & 0xFFFFFFFF)


def embedded_v4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address may carry: mapped, translated, compatible, 6to4, Teredo,
    NAT64 (64:ff9b::/96, and each RFC 6052 layout of the local-use 64:ff9b:1::/48). Each is judged."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    value = int(ip)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in TRANSLATED or ip in NAT64:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 32 == 0 and value >= 1 << 24:  # ::a.b.c.d (not :: or ::1)
        found.append(ipaddress.IPv4Address(value))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in LOCAL_NAT64:
        found.extend(_rfc6052(value, prefix) for prefix in (48, 56, 64, 96))
    return found


def refusal_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why this address may not be contacted, or None when it may."""
    if any(ip in network for network in METADATA_NETWORKS):
        if ip.is_link_local:
            return "a link-local address, where cloud metadata services answer"
        return "a cloud metadata address"
    inner = embedded_v4(ip)
    reasons = [r for r in (refusal_reason(c, allow_private=allow_private) for c in inner) if r]
    if reasons:
        # Name the worst: a metadata address among the candidates is what this spelling hides.
        return next((r for r in reasons if "metadata" in r), reasons[0])
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "a carrier-grade NAT address"
    if ip.is_loopback:
        return "a loopback address"
    if any(ip in network for network in SPECIAL_NETWORKS):
        return "a special-purpose address"
    if inner:
        return None  # a public IPv4 in IPv6 clothing (NAT64, 6to4, mapped): judged as that IPv4
    for reason, hit in (
        ("a link-local address", ip.is_link_local),
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


def parse_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host and no embedded credentials; raises
    ValidationFailed(field="url"). Nothing is resolved."""
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
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check `url` and return where to connect. Raises ValidationFailed(field="url")."""
    _, host, port = parse_target(url)
    return Target(host=host, addresses=check_host(host, port, allow_private=allow_private), port=port)


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ValidationFailed(field="url") unless `url` is an http(s) URL to an allowed host."""
    resolve_target(url, allow_private=allow_private)

"""Builders and loopback transports shared by the output tests."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.domain.integrations import Integration, parse_integration
from mantissa_log.outputs.base import DeliveryResult, OutputContext
from mantissa_log.outputs.registry import build_output_registry

T = "2026-11-27T10:00:00Z"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
SMTP_PASSWORD = "smtp-pass-value"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Records every request; answers from a script, then a handler, then the default reply."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self.handler: Callable[[Recorded], Reply] | None = None
        self.default = Reply()
        self.lock = threading.Lock()

    def reply_for(self, recorded: Recorded) -> Reply:
        with self.lock:
            self.requests.append(recorded)
            if self.script:
                return self.script.pop(0)
        return self.handler(recorded) if self.handler else self.default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.auth: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"

    def message(self, index: int = -1) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


SECRETS = {
    ARN + "slack": "",  # filled per test with the receiver URL
    ARN + "jira": "jira-token-value",
    ARN + "pd": "pd-routing-key-value",
    ARN + "hook": "hook-secret-value",
    ARN + "smtp": "smtp-pass-value",
}


def make_ctx(secrets: dict[str, str] | None = None, **kwargs: Any) -> OutputContext:
    refs = dict(SECRETS) | (secrets or {})
    kwargs.setdefault("allow_private_targets", True)
    kwargs.setdefault("public_url", "https://mantissa.example")
    return OutputContext(secret=refs.__getitem__, **kwargs)


def make_alert(**overrides: Any) -> Alert:
    group = overrides.pop("group", {"user": "alice"})
    data: dict[str, Any] = {
        "user_id": "user-123",
        "alert_id": "20261127T100000000000Z-abc123",
        "rule_name": "root_login",
        "rule_title": "Root console login",
        "severity": "high",
        "source": "cloudtrail",
        "window_start": "2026-11-27T09:55:00Z",
        "window_end": T,
        "match_count": 4,
        "group": group,
        "samples": [
            {
                "eventName": "ConsoleLogin",
                "eventSource": "signin.amazonaws.com",
                "userIdentity": {"arn": "arn:aws:iam::123456789012:root", "type": "Root"},
                "sourceIPAddress": "203.0.113.7",
                "awsRegion": "us-east-1",
            }
        ],
        "dedup_key": dedup_key("user-123", "root_login", group),
        "created_at": T,
        "last_seen": T,
    }
    data.update(overrides)
    return Alert(**data)


def make_integration(kind: str, config: dict[str, Any], secret: str | None = None, **extra: Any) -> Integration:
    data: dict[str, Any] = {
        "user_id": "user-123",
        "integration_id": f"{kind}-main",
        "integration_type": kind,
        "config": config,
        "created_at": T,
        "updated_at": T,
    }
    if secret:
        data["secret_arn"] = ARN + secret
    data.update(extra)
    return parse_integration(data)


def send(alert: Alert, integration: Integration, ctx: OutputContext) -> DeliveryResult:
    """One attempt the way the outbox makes it: a fresh registry's type check, severity filter and
    secret read, then the integration's own sender over the real transport."""
    return build_output_registry().send(alert, integration, ctx)


def localhost_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate from it for the name "localhost" only: (CA, leaf, leaf key) PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mantissa test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths

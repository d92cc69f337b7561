"""Spotting plaintext secrets offered in fields that are stored and returned in clear.

Patterns are the vendors' published token shapes, anchored so that ordinary values (model names,
channel names, ARNs, e-mail addresses, UUIDs, tenant URLs) do not match. Where a shape alone is
too loose (`sk-...`, 32 alphanumerics), a randomness check or a whole-value rule narrows it.
Messages name the kind of secret and the field, never the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any

from mantissa_log.errors import SecretInPlainField

Check = Callable[[str], bool]


def _mixed(token: str) -> bool:
    """Random keys mix upper case, lower case and digits; words and slugs rarely do."""
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _has_digit(token: str) -> bool:
    """Slack tokens always carry numeric team/user ids; "xoxo-hugs-and-kisses" does not."""
    return any(c.isdigit() for c in token)


def _letters_and_digits(token: str) -> bool:
    """Issued tokens carry digits; prose ("Bearer authentication-required") does not."""
    return any(c.isalpha() for c in token) and any(c.isdigit() for c in token)


def _basic_credentials(token: str) -> bool:
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


def _any(_: str) -> bool:
    return True


def _token_like(token: str) -> bool:
    """A query value that is a credential, not a word: digits in it, or long enough to be random."""
    return len(token) >= 8 and (any(c.isdigit() for c in token) or len(token) >= 20)


# Query parameters that carry credentials in webhook and API URLs (signed URLs, API keys, tokens).
_SECRET_PARAMS = (
    "token|access_token|auth_token|api_token|apitoken|key|api_key|apikey|api-key|code|sig|signature"
    "|secret|client_secret|password|passwd|pwd|x-amz-signature|x-goog-signature|sv"
)


# (kind, pattern, extra check on group 1 or on the whole match)
_PATTERNS: tuple[tuple[str, re.Pattern[str], Check], ...] = (
    (
        "Slack webhook URL",
        re.compile(r"https?://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}"),
        _any,
    ),
    (
        "Slack token",
        re.compile(r"(?<![A-Za-z0-9])xox[abposre]-([A-Za-z0-9-]{10,})"),
        _has_digit,
    ),
    ("Slack app token", re.compile(r"(?<![A-Za-z0-9])(xapp-\d-[A-Za-z0-9-]{10,})"), _any),
    ("Anthropic API key", re.compile(r"(?<![A-Za-z0-9_-])sk-ant-([A-Za-z0-9_-]{20,})"), _mixed),
    ("OpenAI API key", re.compile(r"(?<![A-Za-z0-9_-])sk-([A-Za-z0-9_-]{20,})"), _mixed),
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), _any),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,}"), _any),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}"), _any),
    ("Google API key", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), _any),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"), _any),
    ("Atlassian API token", re.compile(r"(?<![A-Za-z0-9])ATATT[A-Za-z0-9_=+/-]{20,}"), _any),
    (
        "JSON Web Token",
        re.compile(r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        _any,
    ),
    (
        "SendGrid API key",
        re.compile(r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
        _any,
    ),
    ("Stripe secret key", re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{16,}"), _any),
    (
        "Discord webhook URL",
        re.compile(r"https?://(?:[a-z]+\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/([A-Za-z0-9_-]{16,})"),
        _any,
    ),
    (
        "Microsoft Teams webhook URL",
        re.compile(
            r"https?://(?:[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)"
            r"/[A-Za-z0-9@/_.-]{16,}"
        ),
        _any,
    ),
    ("Telegram bot token", re.compile(r"(?:(?<![A-Za-z0-9])|(?<=/bot))\d{6,12}:(AA[A-Za-z0-9_-]{30,})"), _any),
    (
        "credential in a URL's query",
        re.compile(rf"(?i)[?&](?:{_SECRET_PARAMS})=(?!\$\{{)([^&#\s]+)"),
        _token_like,
    ),
    # `Bearer ${SECRET}` is the placeholder the webhook sender fills in; anything else is literal.
    (
        "bearer token",
        re.compile(r"(?i)\bbearer\s+(?!\$\{)([A-Za-z0-9._~+/=-]{16,})"),
        _letters_and_digits,
    ),
    (
        "basic auth credential",
        re.compile(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"),
        _basic_credentials,
    ),
    # scheme://user:password@host, except a `${...}` placeholder as the password.
    (
        "URL with a password",
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:(?!\$\{[^}]*\}@)([^\s/@]+)@[^\s/@]+"),
        _any,
    ),
)

# A PagerDuty routing/integration key is 32 alphanumerics; as a substring that shape is far too
# common (hashes, ids), so it counts only when it is the entire value.
_PAGERDUTY = re.compile(r"^[a-zA-Z0-9]{32}$")

_ARTICLE_AN = ("AWS", "Anthropic", "OpenAI", "Atlassian")
_NO_ARTICLE = ("credential",)


def find_secret_kind(text: str) -> str | None:
    """The kind of secret `text` contains, or None."""
    if not isinstance(text, str):
        return None
    for kind, pattern, check in _PATTERNS:
        for match in pattern.finditer(text):
            token = match.group(1) if pattern.groups else match.group(0)
            if check(token):
                return kind
    stripped = text.strip()
    if _PAGERDUTY.match(stripped) and any(c.isalpha() for c in stripped) and any(c.isdigit() for c in stripped):
        return "PagerDuty routing key"
    return None


def scan_for_secrets(value: Any, path: str = "") -> tuple[str, str] | None:
    """(dotted field path, kind) of the first string in `value` that looks like a secret."""
    if isinstance(value, str):
        kind = find_secret_kind(value)
        return (path, kind) if kind else None
    if isinstance(value, Mapping):
        children: list[tuple[str, Any]] = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list | tuple):
        children = [(str(index), item) for index, item in enumerate(value)]
    else:
        return None
    for key, item in children:
        hit = scan_for_secrets(item, f"{path}.{key}" if path else key)
        if hit:
            return hit
    return None


def reject_plaintext_secrets(value: Any, path: str = "") -> None:
    """Raise SecretInPlainField when any string inside `value` looks like a secret."""
    hit = scan_for_secrets(value, path)
    if hit is None:
        return
    field, kind = hit
    article = "an" if kind.startswith(_ARTICLE_AN) else "" if kind.startswith(_NO_ARTICLE) else "a"
    looks = f"{article} {kind}".strip()
    raise SecretInPlainField(
        f"this value looks like {looks}; send it in the write-only secret field "
        "(webhook headers and URLs can refer to it as ${SECRET})",
        field=field or None,
    )

"""The rule editor's pieces: a starting body, error excerpts at their line, run ranges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from mantissa_log.errors import MantissaError

RUN_RANGES = {
    "15m": ("Last 15 minutes", timedelta(minutes=15)),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "scheduled": ("Since its last run (the next scheduled run, now)", None),
}


@dataclass(frozen=True)
class ExcerptLine:
    number: int
    text: str
    bad: bool


@dataclass(frozen=True)
class RuleError:
    message: str
    field: str | None
    line: int | None
    excerpt: list[ExcerptLine]


def rule_error(exc: MantissaError, body: str) -> RuleError:
    """The error with the lines around the one it names (the editor jumps there too)."""
    excerpt: list[ExcerptLine] = []
    if exc.line is not None:
        lines = body.splitlines()
        low, high = max(exc.line - 3, 1), min(exc.line + 2, len(lines))
        excerpt = [ExcerptLine(n, lines[n - 1], n == exc.line) for n in range(low, high + 1)]
    return RuleError(exc.message, exc.field, exc.line, excerpt)


def starter_body(author: str, today: datetime) -> str:
    return f"""title: Many failed Okta sign-ins from one address
id: {uuid.uuid4()}
status: experimental
description: |
  What this finds and why it matters. Say what an analyst should check first.
author: {author}
date: {today:%Y-%m-%d}
tags:
  - attack.credential-access
logsource:
  product: okta
  service: okta
detection:
  selection:
    eventType: user.session.start
    outcome.result: FAILURE
  condition: selection
falsepositives:
  - A user who forgot their password
level: medium

# Mantissa fields (all optional)
schedule: rate(5 minutes)
threshold: 5
lookback: 15m
suppression: 1h
alert_destinations: [slack]
tests:
  - name: a failed sign-in
    match: true
    event:
      eventType: user.session.start
      outcome: {{result: FAILURE, reason: INVALID_CREDENTIALS}}
  - name: a successful sign-in
    match: false
    event:
      eventType: user.session.start
      outcome: {{result: SUCCESS}}
"""

"""Matched events as a table: nested fields flattened to dotted names, the fields every sample
shares shown once above the table, and the fields that differ as its columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Fields an analyst reads first, in this order, when a sample has them.
FIRST = (
    "eventTime", "published", "@timestamp", "created_at", "timestamp", "time",
    "eventName", "eventType", "action", "displayMessage",
    "userIdentity.arn", "userIdentity.userName", "actor.alternateId", "actor", "user",
    "sourceIPAddress", "client.ipAddress", "actor_location.country_code",
    "outcome.result", "outcome.reason", "errorCode", "repo", "org", "awsRegion",
)  # fmt: skip
MAX_COLUMNS = 14


def flatten(value: Any, prefix: str = "", into: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if into is None else into
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix or "value"] = value
    return out


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class SampleTable:
    common: list[tuple[str, Any]]
    columns: list[str]
    rows: list[dict[str, Any]]
    raw: list[dict[str, Any]]
    hidden_columns: int


def sample_table(samples: list[dict[str, Any]]) -> SampleTable:
    flat = [flatten(s) for s in samples]
    order: list[str] = []
    for row in flat:
        order += [k for k in row if k not in order]
    rank = {name: i for i, name in enumerate(FIRST)}
    position = {name: i for i, name in enumerate(order)}
    order.sort(key=lambda k: (rank.get(k, len(FIRST)), position[k]))
    if len(flat) <= 1:
        return SampleTable([(k, flat[0][k]) for k in order] if flat else [], [], [], samples, 0)
    common, varying = [], []
    for name in order:
        values = {_key(row.get(name)) for row in flat}
        if len(values) == 1 and all(name in row for row in flat):
            common.append((name, flat[0][name]))
        else:
            varying.append(name)
    return SampleTable(common, varying[:MAX_COLUMNS], flat, samples, max(len(varying) - MAX_COLUMNS, 0))


# Who did it, per source family: the first of these a sample has names the actor.
ACTOR_FIELDS = (
    "userIdentity.userName", "userIdentity.arn", "actor.alternateId", "actor", "user",
    "protoPayload.authenticationInfo.principalEmail", "properties.userPrincipalName", "UserId", "user.username",
)  # fmt: skip
ADDRESS_FIELDS = ("sourceIPAddress", "client.ipAddress", "ipAddress", "properties.ipAddress", "ClientIP", "srcaddr")


def entity_of(alert_group: dict[str, str | None] | None, samples: list[dict[str, Any]]) -> str:
    """Who (and from where) an alert is about: its group's values, else the first sample's actor and address."""
    if alert_group:
        return ", ".join(str(v) for v in alert_group.values() if v is not None)
    if not samples:
        return ""
    flat = flatten(samples[0])
    actor = next((str(flat[k]) for k in ACTOR_FIELDS if flat.get(k) not in (None, "")), "")
    if actor.startswith("arn:"):
        actor = actor.rsplit("/", 1)[-1] if "/" in actor else actor.rsplit(":", 1)[-1]  # user/dana.w, :root
    address = next((str(flat[k]) for k in ADDRESS_FIELDS if flat.get(k) not in (None, "")), "")
    return " · ".join(part for part in (actor, address) if part)

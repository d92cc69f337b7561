"""GitHub audit log events of the demo organisation: daily engineering, and a repository taken over."""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta
from typing import Any

from mantissa_log.services.demo.common import ORG, REPOS, STAFF, daytime_moments, epoch_ms, new_id

Event = dict[str, Any]
ROUTINE = (
    ("git.clone", "access"),
    ("git.push", "modify"),
    ("pull_request.create", "create"),
    ("pull_request.merge", "modify"),
    ("pull_request_review.submit", "create"),
    ("repo.download_zip", "access"),
    ("workflows.completed_workflow_run", "modify"),
    ("team.add_member", "modify"),
    ("issue.create", "create"),
)


def _login(name: str) -> str:
    return name.replace(".", "-")


def event(rng: random.Random, at: datetime, actor: str, action: str, operation: str, **fields: Any) -> Event:
    stamp = epoch_ms(at)
    base: Event = {
        "@timestamp": stamp,
        "_document_id": new_id(rng).replace("-", "")[:22],
        "action": action,
        "actor": actor,
        "actor_id": 50_000_000 + zlib.crc32(actor.encode()) % 1_000_000,
        "actor_location": {"country_code": "US"},
        "business": "acme-enterprise",
        "created_at": stamp,
        "operation_type": operation,
        "org": ORG,
        "org_id": 91234567,
    }
    return base | fields


def routine(rng: random.Random, start: datetime, end: datetime, count: int) -> list[Event]:
    events = []
    for at in daytime_moments(rng, start, end, count):
        action, operation = rng.choice(ROUTINE)
        repo = f"{ORG}/{rng.choice(REPOS)}"
        events.append(
            event(
                rng,
                at,
                _login(rng.choice(STAFF)),
                action,
                operation,
                repo=repo,
                public_repo=False,
                visibility="private",
            )
        )
    return events


def intrusion(rng: random.Random, t: datetime) -> list[Event]:
    """With the stolen session: a new owner, protection off, a deploy key, the code made public,
    and secret scanning switched off so nobody notices the keys in it."""
    actor = "dana-w"
    repo = f"{ORG}/payments-service"
    nl = {"actor_location": {"country_code": "NL"}}
    return [
        event(
            rng,
            t + timedelta(minutes=70),
            actor,
            "org.add_member",
            "create",
            user="ghost-contractor",
            permission="admin",
            **nl,
        ),
        event(
            rng,
            t + timedelta(minutes=75),
            actor,
            "protected_branch.destroy",
            "remove",
            repo=repo,
            name="main",
            public_repo=False,
            **nl,
        ),
        event(
            rng,
            t + timedelta(minutes=78),
            actor,
            "public_key.create",
            "create",
            repo=repo,
            title="ci-cache",
            read_only="false",
            public_repo=False,
            **nl,
        ),
        event(
            rng,
            t + timedelta(minutes=85),
            actor,
            "repo.access",
            "modify",
            repo=repo,
            visibility="public",
            previous_visibility="private",
            public_repo=True,
            **nl,
        ),
        event(
            rng,
            t + timedelta(minutes=86),
            actor,
            "repository_secret_scanning.disable",
            "modify",
            repo=repo,
            public_repo=True,
            **nl,
        ),
    ]

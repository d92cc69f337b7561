"""Microsoft 365 Management Activity API: subscriptions, content listings, content blobs.

With an Entra ID app's client credentials (the secret is its client secret) a run gets a token
(`POST {login_url}/{tenant}/oauth2/v2.0/token`, scope `{base_url}/.default`), makes sure each
configured content type has a started subscription (`subscriptions/list`, `subscriptions/start`),
then per content type lists the content made available in a window of at most 24 hours
(`subscriptions/content?contentType=&startTime=&endTime=`, paged by the `NextPageUri` header) and
fetches each blob (`contentUri`: a JSON array of audit records) in the order it became available.

Checkpoint, per content type: the window being read (`start`, `end`) and the blob ids of it already
stored (`done`); a window ends at "now" at the latest, and once all its blobs are stored the next
starts where it ended. A run killed mid-window reads the same window again and skips the blobs it
had stored; a blob killed mid-way is fetched again and the lake stores none of its records twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from mantissa_log.clock import iso, parse_iso
from mantissa_log.domain.collectors import M365Config
from mantissa_log.errors import ValidationFailed
from mantissa_log.services.collectors.base import Batch, RunContext
from mantissa_log.services.collectors.http import Answer, FetchFailed, check_origin, fetch_page

WINDOW = timedelta(hours=24)
DEFAULT_START = timedelta(days=1)
MAX_BLOBS_PER_RUN = 500


def _json(answer: Answer, what: str) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        raise FetchFailed(f"the {what} answer is not JSON") from None


class M365ManagementActivity:
    def __init__(self, config: M365Config, ctx: RunContext) -> None:
        if not ctx.secret:
            raise ValidationFailed("a Microsoft 365 collector needs the app's client secret (secret)", field="secret")
        self.config = config
        self.ctx = ctx
        self.base = config.base_url.rstrip("/")
        self.feed = f"{self.base}/api/v1.0/{quote(config.tenant_id)}/activity/feed"
        self._token: str | None = None

    # -- transport ---------------------------------------------------------------------------
    def _call(self, url: str, *, method: str = "GET", content: bytes | None = None, base: str | None = None) -> Answer:
        check_origin(url, base or self.base)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if base else {"Authorization": self.token()}
        return fetch_page(
            url,
            headers,
            allow_private=self.ctx.allow_private_targets,
            sleep=self.ctx.sleep,
            now=lambda: self.ctx.clock.now().timestamp(),
            max_wait=self.ctx.max_wait_seconds,
            method=method,
            content=content,
        )

    def token(self) -> str:
        if self._token is None:
            login = self.config.login_url.rstrip("/")
            form = urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": self.config.client_id,
                    "client_secret": self.ctx.secret or "",
                    "scope": f"{self.base}/.default",
                }
            ).encode()
            url = f"{login}/{quote(self.config.tenant_id)}/oauth2/v2.0/token"
            answer = self._call(url, method="POST", content=form, base=login)
            value = _json(answer, "token")
            if not isinstance(value, dict) or not isinstance(value.get("access_token"), str):
                raise FetchFailed("the token answer has no access_token")
            self._token = f"Bearer {value['access_token']}"
        return self._token

    # -- subscriptions -----------------------------------------------------------------------
    def ensure_subscriptions(self) -> list[str]:
        listed = _json(self._call(f"{self.feed}/subscriptions/list"), "subscriptions")
        enabled = {
            str(s.get("contentType"))
            for s in (listed if isinstance(listed, list) else [])
            if isinstance(s, dict) and str(s.get("status", "")).lower() == "enabled"
        }
        started: list[str] = []
        for content_type in self.config.content_types:
            if content_type not in enabled:
                query = urlencode({"contentType": content_type})
                self._call(f"{self.feed}/subscriptions/start?{query}", method="POST", content=b"")
                started.append(content_type)
        return started

    def probe(self) -> str:
        started = self.ensure_subscriptions()
        return f"Management Activity API reachable; subscriptions started now: {', '.join(started) or 'none'}"

    # -- content -----------------------------------------------------------------------------
    def listing(self, content_type: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        query = urlencode(
            {"contentType": content_type, "startTime": iso(start).rstrip("Z"), "endTime": iso(end).rstrip("Z")}
        )
        url: str | None = f"{self.feed}/subscriptions/content?{query}"
        blobs: list[dict[str, Any]] = []
        while url:
            answer = self._call(url)
            page = _json(answer, "content listing")
            if not isinstance(page, list):
                raise FetchFailed("the content listing is not a list")
            blobs.extend(b for b in page if isinstance(b, dict) and isinstance(b.get("contentUri"), str))
            url = answer.headers.get("NextPageUri")
        return sorted(blobs, key=lambda b: (str(b.get("contentCreated", "")), str(b.get("contentId", ""))))

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        types: dict[str, dict[str, Any]] = {k: dict(v) for k, v in checkpoint.get("types", {}).items()}
        self.ensure_subscriptions()
        now = self.ctx.clock.now()
        fetched = 0

        def snapshot() -> dict[str, Any]:
            return {"types": {k: {**v, "done": list(v.get("done", []))} for k, v in types.items()}}

        for content_type in self.config.content_types:
            default = parse_iso(self.config.since) if self.config.since else now - DEFAULT_START
            position = types.setdefault(content_type, {"start": iso(default), "end": None, "done": []})
            while True:
                start = parse_iso(position["start"])
                if start >= now:
                    break
                end = parse_iso(position["end"]) if position.get("end") else min(start + WINDOW, now)
                position["end"] = iso(end)
                done = set(position.get("done", []))
                for blob in self.listing(content_type, start, end):
                    blob_id = str(blob.get("contentId", blob["contentUri"]))
                    if blob_id in done:
                        continue
                    if fetched >= MAX_BLOBS_PER_RUN:
                        return
                    answer = self._call(str(blob["contentUri"]))
                    fetched += 1
                    done.add(blob_id)
                    position["done"] = sorted(done)
                    created = blob.get("contentCreated")
                    newest = parse_iso(_iso_z(created)) if isinstance(created, str) else None
                    yield Batch(data=answer.body, checkpoint=snapshot(), newest=newest, label=content_type)
                position.update({"start": iso(end), "end": None, "done": []})
                yield Batch(data=b"", checkpoint=snapshot(), label=f"{content_type} window done")


def _iso_z(text: str) -> str:
    """The API's `2026-12-01T10:00:00.123Z` (or without Z) as our second-precision ISO form."""
    base = text.rstrip("Z").split(".")[0]
    return base + "Z"

"""Okta System Log and GitHub audit log: pages pulled over HTTPS, each page a batch.

**Okta** (`GET /api/v1/logs`, `Authorization: SSWS <token>`): the first request asks for events
`since` the configured start in ascending order; every answer carries `Link: <...>; rel="next"`,
which Okta keeps giving even on an empty page (polling). The checkpoint is that next link, stored
once the page's events are in the lake; a run ends at the first empty page. `X-Rate-Limit-Remaining`
of 0 means waiting until `X-Rate-Limit-Reset` (epoch seconds); a 429 waits for `Retry-After` (or
the reset). A wait longer than the run may make ends the run; the next one resumes from the link.

**GitHub** (`GET /orgs/{org}/audit-log` or `/enterprises/{enterprise}/audit-log`, ascending, cursor
paging by `Link: rel="next"` with `after=`): the checkpoint is the next link when there is one,
otherwise the newest event's time, from which the next run asks again (`created:>=`; the events
at that very time come again and are counted as duplicates by the lake, never stored twice).
GitHub's rate limit answers 403 or 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from mantissa_log.clock import iso
from mantissa_log.domain.collectors import GitHubConfig, OktaConfig
from mantissa_log.errors import ValidationFailed
from mantissa_log.services.collectors.base import Batch, RunContext
from mantissa_log.services.collectors.http import Answer, FetchFailed, check_origin, fetch_page, rate_limit_wait

MAX_PAGES_PER_RUN = 200
DEFAULT_START = timedelta(days=7)


def _events(answer: Answer, url: str) -> list[dict[str, Any]]:
    try:
        events = json.loads(answer.body)
    except ValueError:
        raise FetchFailed(f"{url.split('?')[0]} answered something other than JSON") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise FetchFailed(f"{url.split('?')[0]} answered JSON that is not a list of events")
    return events


def _newest(values: list[Any]) -> datetime | None:
    found: list[datetime] = []
    for value in values:
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                found.append(datetime.fromtimestamp(value / 1000, UTC))
            elif isinstance(value, str):
                found.append(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC))
        except (ValueError, OverflowError, OSError):
            continue
    return max(found) if found else None


class _Pager:
    """Shared paging: fetch with waits for rate limits, pages as batches, stop at an empty page."""

    def __init__(self, base_url: str, ctx: RunContext, headers: dict[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.ctx = ctx
        self.headers = headers

    def fetch(self, url: str) -> Answer:
        check_origin(url, self.base_url)
        return fetch_page(
            url,
            self.headers,
            allow_private=self.ctx.allow_private_targets,
            sleep=self.ctx.sleep,
            now=lambda: self.ctx.clock.now().timestamp(),
            max_wait=self.ctx.max_wait_seconds,
        )

    def pause_if_exhausted(self, answer: Answer) -> bool:
        """Wait for the rate limit window when the last request used it up; False: stop this run."""
        remaining = answer.headers.get("x-rate-limit-remaining") or answer.headers.get("x-ratelimit-remaining")
        if remaining is None or remaining.strip() != "0":
            return True
        wait = rate_limit_wait(answer, self.ctx.clock.now().timestamp()) or 0.0
        if wait > self.ctx.max_wait_seconds:
            self.ctx.notes.append(f"rate limit used up; resuming in {wait:.0f} s")
            return False
        self.ctx.sleep(wait)
        return True


class OktaSystemLog:
    def __init__(self, config: OktaConfig, ctx: RunContext) -> None:
        if not ctx.secret:
            raise ValidationFailed("an Okta collector needs an API token (secret)", field="secret")
        self.config = config
        self.pager = _Pager(config.base_url, ctx, {"Authorization": f"SSWS {ctx.secret}"})
        self.ctx = ctx

    def first_url(self) -> str:
        since = self.config.since or iso(self.ctx.clock.now() - DEFAULT_START)
        query = urlencode({"since": since, "sortOrder": "ASCENDING", "limit": self.config.page_size})
        return f"{self.pager.base_url}/api/v1/logs?{query}"

    def probe(self) -> str:
        answer = self.pager.fetch(f"{self.pager.base_url}/api/v1/logs?limit=1")
        return f"Okta System Log reachable ({len(_events(answer, self.pager.base_url))} event on the first page)"

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        url = str(checkpoint.get("next") or self.first_url())
        for _ in range(MAX_PAGES_PER_RUN):
            answer = self.pager.fetch(url)
            events = _events(answer, url)
            following = answer.link("next")
            if following is not None:
                check_origin(following, self.pager.base_url)
            if not events:
                if following is not None and following != url:
                    yield Batch(data=b"", checkpoint={"next": following})
                return
            resume = following or self._since_url(events)
            newest = _newest([e.get("published") for e in events])
            yield Batch(data=answer.body, checkpoint={"next": resume}, newest=newest, label="okta page")
            if following is None or not self.pager.pause_if_exhausted(answer):
                return
            url = following

    def _since_url(self, events: list[dict[str, Any]]) -> str:
        newest = _newest([e.get("published") for e in events])
        since = iso(newest) if newest else self.config.since or iso(self.ctx.clock.now() - DEFAULT_START)
        query = urlencode({"since": since, "sortOrder": "ASCENDING", "limit": self.config.page_size})
        return f"{self.pager.base_url}/api/v1/logs?{query}"


class GitHubAuditLog:
    def __init__(self, config: GitHubConfig, ctx: RunContext) -> None:
        if not ctx.secret:
            raise ValidationFailed("a GitHub collector needs a token (secret)", field="secret")
        self.config = config
        self.ctx = ctx
        headers = {
            "Authorization": f"Bearer {ctx.secret}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self.pager = _Pager(config.base_url, ctx, headers)

    def path(self) -> str:
        if self.config.org:
            return f"/orgs/{quote(self.config.org)}/audit-log"
        return f"/enterprises/{quote(str(self.config.enterprise))}/audit-log"

    def url_since(self, since: str) -> str:
        query = urlencode({"phrase": f"created:>={since}", "order": "asc", "per_page": self.config.page_size})
        return f"{self.pager.base_url}{self.path()}?{query}"

    def probe(self) -> str:
        answer = self.pager.fetch(f"{self.pager.base_url}{self.path()}?per_page=1")
        return f"GitHub audit log reachable ({len(_events(answer, self.pager.base_url))} event on the first page)"

    def fetch(self, url: str) -> Answer:
        try:
            return self.pager.fetch(url)
        except FetchFailed as exc:
            if exc.status == 403:  # GitHub's primary rate limit answers 403 with remaining 0
                raise FetchFailed(f"{exc} (token scope, or the rate limit)", status=403) from None
            raise

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        if checkpoint.get("next"):
            url = str(checkpoint["next"])
        else:
            since = checkpoint.get("since") or self.config.since or iso(self.ctx.clock.now() - DEFAULT_START)
            url = self.url_since(str(since))
        for _ in range(MAX_PAGES_PER_RUN):
            answer = self.fetch(url)
            events = _events(answer, url)
            following = answer.link("next")
            if following is not None:
                check_origin(following, self.pager.base_url)
            if not events:
                return
            newest = _newest([e.get("@timestamp", e.get("created_at")) for e in events])
            resume: dict[str, Any] = {"next": following} if following else {"since": iso(newest) if newest else None}
            yield Batch(data=answer.body, checkpoint=resume, newest=newest, label="github page")
            if following is None or not self.pager.pause_if_exhausted(answer):
                return
            url = following

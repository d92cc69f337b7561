"""Google Workspace Admin SDK Reports API: activities per application, by time window.

The secret is a service account's JSON key (`client_email`, `private_key`) with domain-wide
delegation of `admin.reports.audit.readonly`; a run signs a JWT (RS256) for `delegated_admin` and
exchanges it at `token_url` (`urn:ietf:params:oauth:grant-type:jwt-bearer`). The key's own
`token_uri` is not followed: where a credential is sent is the admin's configuration, not the key's.

`GET {base_url}/admin/reports/v1/activity/users/all/applications/{app}?startTime=&endTime=` answers
newest first, paged by `nextPageToken`; there is no ascending order. So each application reads
one window at a time: the checkpoint holds the window (`start`, `end`) and the page token reached;
once the last page is stored the next window starts `overlap_minutes` before this one's end
(reports arrive late), and the lake counts the events met again as duplicates.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from mantissa_log.clock import iso, parse_iso
from mantissa_log.domain.collectors import GoogleWorkspaceConfig
from mantissa_log.errors import ValidationFailed
from mantissa_log.services.collectors.base import Batch, RunContext
from mantissa_log.services.collectors.http import Answer, FetchFailed, check_origin, fetch_page

SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
DEFAULT_START = timedelta(days=1)
MAX_PAGES_PER_RUN = 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_assertion(key: dict[str, Any], subject: str, audience: str, now: int) -> str:
    """A JWT (RS256) asking for the Reports scope on behalf of `subject`."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        private = serialization.load_pem_private_key(str(key["private_key"]).encode(), password=None)
    except (KeyError, ValueError, TypeError):
        raise ValidationFailed("the service account key has no readable private_key", field="secret") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValidationFailed("the service account key is not an RSA key", field="secret")
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": key["client_email"],
        "sub": subject,
        "scope": SCOPE,
        "aud": audience,
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class WorkspaceReports:
    def __init__(self, config: GoogleWorkspaceConfig, ctx: RunContext) -> None:
        try:
            key = json.loads(ctx.secret or "")
        except ValueError:
            key = None
        if not isinstance(key, dict) or not isinstance(key.get("client_email"), str):
            raise ValidationFailed("the secret must be a service account's JSON key", field="secret")
        self.key = key
        self.config = config
        self.ctx = ctx
        self.base = config.base_url.rstrip("/")
        self._token: str | None = None

    def _call(self, url: str, headers: dict[str, str], base: str, **kwargs: Any) -> Answer:
        check_origin(url, base)
        return fetch_page(
            url,
            headers,
            allow_private=self.ctx.allow_private_targets,
            sleep=self.ctx.sleep,
            now=lambda: self.ctx.clock.now().timestamp(),
            max_wait=self.ctx.max_wait_seconds,
            **kwargs,
        )

    def token(self) -> str:
        if self._token is None:
            now = int(self.ctx.clock.now().timestamp())
            assertion = signed_assertion(self.key, self.config.delegated_admin, self.config.token_url, now)
            form = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            answer = self._call(
                self.config.token_url, headers, self.config.token_url, method="POST", content=form.encode()
            )
            try:
                value = json.loads(answer.body)
            except ValueError:
                value = None
            if not isinstance(value, dict) or not isinstance(value.get("access_token"), str):
                raise FetchFailed("the token answer has no access_token")
            self._token = str(value["access_token"])
        return self._token

    def page(self, application: str, start: str, end: str, page_token: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {"startTime": start, "endTime": end, "maxResults": self.config.page_size}
        if page_token:
            query["pageToken"] = page_token
        url = f"{self.base}/admin/reports/v1/activity/users/all/applications/{quote(application)}?{urlencode(query)}"
        answer = self._call(url, {"Authorization": f"Bearer {self.token()}"}, self.base)
        try:
            value = json.loads(answer.body)
        except ValueError:
            raise FetchFailed("the Reports API answered something other than JSON") from None
        if not isinstance(value, dict):
            raise FetchFailed("the Reports API answer is not an object")
        return value

    def probe(self) -> str:
        now = self.ctx.clock.now()
        found = self.page(self.config.applications[0], iso(now - timedelta(hours=1)), iso(now), None)
        count = len(found.get("items", []))
        return f"Reports API reachable ({count} {self.config.applications[0]} activities in the last hour)"

    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        apps: dict[str, dict[str, Any]] = {k: dict(v) for k, v in checkpoint.get("apps", {}).items()}
        now = self.ctx.clock.now()
        pages = 0

        def snapshot() -> dict[str, Any]:
            return {"apps": {k: dict(v) for k, v in apps.items()}}

        for application in self.config.applications:
            start = self.config.since or iso(now - DEFAULT_START)
            position = apps.setdefault(application, {"start": start, "end": None, "page": None})
            if parse_iso(position["start"]) >= now:
                continue
            if not position.get("end"):
                position["end"] = iso(now)
            while True:
                if pages >= MAX_PAGES_PER_RUN:
                    return
                found = self.page(application, position["start"], position["end"], position.get("page"))
                pages += 1
                items = [i for i in found.get("items", []) if isinstance(i, dict)]
                following = found.get("nextPageToken")
                newest = max((str(i.get("id", {}).get("time", "")) for i in items), default="")
                if isinstance(following, str) and following:
                    position["page"] = following
                else:
                    overlap = timedelta(minutes=self.config.overlap_minutes)
                    next_start = max(parse_iso(position["start"]), parse_iso(position["end"]) - overlap)
                    if next_start <= parse_iso(position["start"]):
                        next_start = parse_iso(position["end"])
                    position.update({"start": iso(next_start), "end": None, "page": None})
                data = json.dumps(items).encode() if items else b""
                yield Batch(
                    data=data,
                    checkpoint=snapshot(),
                    newest=parse_iso(newest[:19] + "Z") if newest else None,
                    label=f"workspace {application}",
                )
                if position["page"] is None:
                    break

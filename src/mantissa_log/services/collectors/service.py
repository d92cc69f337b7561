"""Collector use cases: admin CRUD (credentials only by secret-store reference), test, run, status.

A run holds the collector's lease (`CollectorRepository.acquire`), then for each batch its kind
yields: stores the events in the lake (durable once `ingest_bytes` returns: files fsynced and
renamed, ids committed), records the batch's checkpoint under the lease, then runs the batch's
`after_stored` (an SQS delete). kill -9 at any point repeats at most the batch in flight, which
the lake's idempotent ingest (by event id) stores no second time.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import SecretStr

from mantissa_log.clock import Clock, iso, parse_iso
from mantissa_log.domain.collectors import NEEDS_SECRET, Collector, CollectorState, parse_config
from mantissa_log.domain.common import NAME_RE, SECRET_REF_RE
from mantissa_log.errors import Conflict, MantissaError, NotFound, ValidationFailed
from mantissa_log.lake import LogLake
from mantissa_log.outputs import netguard
from mantissa_log.outputs.common import scrub
from mantissa_log.secrets.base import SecretStore
from mantissa_log.services.collectors.base import CollectorKind, RunContext
from mantissa_log.services.detection.ingest import ingest_bytes
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.collectors import CollectorRepository

HOUR = 3600.0
PARALLEL_RUNS = 4
URL_FIELDS = ("endpoint_url", "queue_url", "base_url", "login_url", "token_url")


@dataclass
class CollectorWrite:
    """What an admin sends: `secret` (write-only, stored in the secret store) or `secret_ref`."""

    kind: str
    config: dict[str, object]
    secret: SecretStr | None = None
    secret_ref: str | None = None
    every_seconds: int = 60
    enabled: bool = True


@dataclass(frozen=True)
class CollectorStatus:
    last_attempt: str | None
    last_success: str | None
    last_error: str | None
    last_note: str | None
    lag_seconds: float | None
    events_per_hour: int
    events_total: int
    running: bool
    next_run: str | None


@dataclass(frozen=True)
class CollectorView:
    collector: Collector
    status: CollectorStatus


@dataclass
class RunReport:
    collector_id: str
    ran: bool = True  # False: another worker holds it
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def build_kind(collector: Collector, ctx: RunContext) -> CollectorKind:
    config = parse_config(collector.kind, collector.config)
    from mantissa_log.services.collectors import apis, cloudtrail, m365, workspace

    builders: dict[str, Callable[[], CollectorKind]] = {
        "cloudtrail_s3": lambda: cloudtrail.CloudTrailS3(config, ctx),  # type: ignore[arg-type]
        "cloudtrail_sqs": lambda: cloudtrail.CloudTrailSqs(config, ctx),  # type: ignore[arg-type]
        "okta": lambda: apis.OktaSystemLog(config, ctx),  # type: ignore[arg-type]
        "github": lambda: apis.GitHubAuditLog(config, ctx),  # type: ignore[arg-type]
        "m365": lambda: m365.M365ManagementActivity(config, ctx),  # type: ignore[arg-type]
        "google_workspace": lambda: workspace.WorkspaceReports(config, ctx),  # type: ignore[arg-type]
    }
    return builders[collector.kind]()


class CollectorService:
    def __init__(
        self,
        repo: CollectorRepository,
        secrets: SecretStore,
        lake: LogLake,
        clock: Clock,
        owner: str,
        *,
        allow_private_targets: bool = False,
        lease_seconds: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 60.0,
    ) -> None:
        self.repo = repo
        self.secrets = secrets
        self.lake = lake
        self.clock = clock
        self.owner = owner
        self.allow_private_targets = allow_private_targets
        self.lease_seconds = lease_seconds
        self.sleep = sleep
        self.max_wait_seconds = max_wait_seconds

    # -- configuration -----------------------------------------------------------------------
    def create(self, who: Principal, collector_id: str, write: CollectorWrite) -> CollectorView:
        if not NAME_RE.match(collector_id):
            raise ValidationFailed("letters, digits, '_', '.', '-' (up to 128)", field="collector_id")
        if self.repo.get(collector_id) is not None:
            raise Conflict(f"collector {collector_id} exists", field="collector_id")
        now = iso(self.clock.now())
        collector = self._checked(collector_id, write, created_at=now, secret_ref=None)
        stored_ref = None
        if write.secret is not None:
            stored_ref = self.secrets.put(who.user_id, f"collector-{collector_id}", write.secret.get_secret_value())
            collector = collector.model_copy(update={"secret_ref": stored_ref})
        try:
            self.repo.create(collector)
        except Exception:
            if stored_ref:
                self.secrets.delete(stored_ref)
            raise
        return self.view(collector_id)

    def update(self, who: Principal, collector_id: str, write: CollectorWrite) -> CollectorView:
        current = self._get(collector_id)
        collector = self._checked(collector_id, write, created_at=current.created_at, secret_ref=current.secret_ref)
        old_ref = current.secret_ref
        if write.secret is not None:
            ref = self.secrets.put(who.user_id, f"collector-{collector_id}", write.secret.get_secret_value())
            collector = collector.model_copy(update={"secret_ref": ref})
        self.repo.replace(collector)
        if collector.kind != current.kind:
            self.repo.reset(collector_id)  # another kind's checkpoint means nothing to this one
        if old_ref and old_ref != collector.secret_ref and _owned(old_ref, collector_id):
            self.secrets.delete(old_ref)
        return self.view(collector_id)

    def _checked(
        self, collector_id: str, write: CollectorWrite, *, created_at: str, secret_ref: str | None
    ) -> Collector:
        config = parse_config(write.kind, write.config)
        self._check_targets(config.dump())
        if write.secret is not None and write.secret_ref is not None:
            raise ValidationFailed("send either secret or secret_ref, not both", field="secret_ref")
        ref = write.secret_ref if write.secret_ref is not None else secret_ref
        if ref is not None and not SECRET_REF_RE.match(ref):
            raise ValidationFailed("not a secret-store reference (arn:...:secret:...)", field="secret_ref")
        if write.secret_ref is not None and not self.secrets.exists(write.secret_ref):
            raise ValidationFailed("no such secret in the secret store", field="secret_ref")
        if write.kind in NEEDS_SECRET and ref is None and write.secret is None:
            raise ValidationFailed(
                f"a {write.kind} collector needs a credential (secret or secret_ref)", field="secret"
            )
        if not 5 <= write.every_seconds <= 86_400:
            raise ValidationFailed("between 5 and 86400 seconds", field="every_seconds")
        return Collector(
            collector_id=collector_id,
            kind=write.kind,  # type: ignore[arg-type]
            config=config.dump(),
            secret_ref=ref,
            every_seconds=write.every_seconds,
            enabled=write.enabled,
            created_at=created_at,
            updated_at=iso(self.clock.now()),
        )

    def _check_targets(self, config: dict[str, object]) -> None:
        """Save-time refusal of URLs whose host is an address off limits (names are checked at each request)."""
        for name in URL_FIELDS:
            url = config.get(name)
            if not isinstance(url, str):
                continue
            host = urlsplit(url).hostname or ""
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                continue
            reason = netguard.refusal_reason(address, allow_private=self.allow_private_targets)
            if reason:
                raise ValidationFailed(f"refusing {netguard.redact_url(url)}: {reason}", field=f"config.{name}")

    def delete(self, collector_id: str) -> None:
        current = self._get(collector_id)
        self.repo.delete(collector_id)
        if current.secret_ref and _owned(current.secret_ref, collector_id):
            self.secrets.delete(current.secret_ref)

    def reset(self, collector_id: str) -> None:
        """Forget the checkpoint: the next run reads from the configured start (duplicates are not stored)."""
        self._get(collector_id)
        self.repo.reset(collector_id)

    # -- reads -------------------------------------------------------------------------------
    def _get(self, collector_id: str) -> Collector:
        found = self.repo.get(collector_id)
        if found is None:
            raise NotFound(f"no collector {collector_id}", field="collector_id")
        return found

    def view(self, collector_id: str) -> CollectorView:
        collector = self._get(collector_id)
        return CollectorView(collector, self.status(collector, self.repo.state(collector_id)))

    def all(self) -> list[CollectorView]:
        return [CollectorView(c, self.status(c, self.repo.state(c.collector_id))) for c in self.repo.all()]

    def status(self, collector: Collector, state: CollectorState) -> CollectorStatus:
        now = self.clock.now().timestamp()
        lag = None
        if state.newest_event is not None:
            lag = max(0.0, now - parse_iso(state.newest_event).timestamp())
        hour = sum(int(count) for at, count in state.recent if at > now - HOUR - 60)
        running = state.lease_until is not None and state.lease_until > now
        next_run = None
        if collector.enabled:
            next_run = iso(datetime.fromtimestamp(max(state.next_due, now), self.clock.now().tzinfo))
        return CollectorStatus(
            last_attempt=state.last_attempt,
            last_success=state.last_success,
            last_error=state.last_error,
            last_note=state.last_note,
            lag_seconds=lag,
            events_per_hour=hour,
            events_total=state.events_total,
            running=running,
            next_run=next_run,
        )

    # -- runs --------------------------------------------------------------------------------
    def _context(self, collector: Collector) -> RunContext:
        secret = self.secrets.get(collector.secret_ref) if collector.secret_ref else None
        return RunContext(
            clock=self.clock,
            secret=secret,
            allow_private_targets=self.allow_private_targets,
            sleep=self.sleep,
            max_wait_seconds=self.max_wait_seconds,
        )

    def test(self, collector_id: str) -> tuple[bool, str]:
        """One cheap read with the stored configuration and credential: (ok, what was seen or why not)."""
        collector = self._get(collector_id)
        secret = None
        try:
            ctx = self._context(collector)
            secret = ctx.secret
            return True, build_kind(collector, ctx).probe()
        except Exception as exc:  # every failure is the test's answer, never a 500
            return False, _describe(exc, secret)

    def tick(self) -> list[RunReport]:
        """Run every enabled collector that is due (the worker's collectors loop), side by side.

        In threads: a collector waiting out a rate limit or a slow API does not hold the others back.
        """
        now = self.clock.now().timestamp()
        due = [c.collector_id for c in self.repo.all() if c.enabled and self.repo.state(c.collector_id).next_due <= now]
        if len(due) <= 1:
            return [self.run(collector_id) for collector_id in due]
        with ThreadPoolExecutor(max_workers=min(len(due), PARALLEL_RUNS), thread_name_prefix="collector") as pool:
            return list(pool.map(self.run, due))

    def run(self, collector_id: str) -> RunReport:
        collector = self._get(collector_id)
        report = RunReport(collector_id)
        started = self.clock.now()
        if not self.repo.acquire(collector_id, self.owner, started.timestamp(), self.lease_seconds):
            report.ran = False
            return report
        state = self.repo.state(collector_id)
        recent = [entry for entry in state.recent if entry[0] > started.timestamp() - HOUR - 60]
        secret = None
        finish: dict[str, object] = {"last_attempt": iso(started)}
        try:
            ctx = self._context(collector)
            secret = ctx.secret
            kind = build_kind(collector, ctx)
            newest = state.newest_event
            for batch in kind.batches(json.loads(state.checkpoint)):
                stored = 0
                if batch.data:
                    ingested = ingest_bytes(self.lake, collector.source, batch.data, filename=batch.label)
                    stored = ingested.accepted
                    report.accepted += ingested.accepted
                    report.duplicates += ingested.duplicates
                    report.rejected += ingested.rejected
                report.batches += 1
                now = self.clock.now().timestamp()
                values: dict[str, object] = {}
                if batch.checkpoint is not None:
                    values["checkpoint"] = json.dumps(batch.checkpoint, sort_keys=True)
                if batch.newest is not None and (newest is None or iso(batch.newest) > newest):
                    newest = iso(batch.newest)
                    values["newest_event"] = newest
                if stored:
                    _count(recent, now, stored)
                    values["recent"] = recent
                self.repo.advance(collector_id, self.owner, values, events=stored, lease_until=now + self.lease_seconds)
                if batch.after_stored is not None:
                    batch.after_stored()
            report.notes = ctx.notes
            finish["last_success"] = iso(self.clock.now())
            remove: tuple[str, ...] = ("last_error",)
            if ctx.notes:
                finish["last_note"] = scrub("; ".join(ctx.notes), [secret] if secret else [])[:500]
            else:
                remove += ("last_note",)
        except Exception as exc:  # one collector's failure is its status, never the worker's
            report.error = _describe(exc, secret)
            finish["last_error"] = report.error
            remove = ()
        finish["next_due"] = started.timestamp() + collector.every_seconds
        self.repo.finish(collector_id, self.owner, finish, remove)
        return report


def _count(recent: list[list[float]], now: float, events: int) -> None:
    """Add `events` to the minute of `now`: at most 60 entries per hour, however many batches."""
    minute = now - now % 60
    if recent and recent[-1][0] == minute:
        recent[-1][1] += events
    else:
        recent.append([minute, events])


def _owned(ref: str, collector_id: str) -> bool:
    """A reference this service stored for the collector (deleted with it); an admin's own is kept."""
    return f"collector-{collector_id}-" in ref


def _describe(exc: Exception, secret: str | None) -> str:
    text = exc.message if isinstance(exc, MantissaError) else f"{type(exc).__name__}: {exc}"
    secrets = [secret] if secret else []
    return scrub(text, secrets)[:500]

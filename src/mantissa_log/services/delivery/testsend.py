"""The integration test action: a clearly marked test alert through the real transport."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

from mantissa_log.clock import SYSTEM_CLOCK, Clock, iso
from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.domain.common import SEVERITIES
from mantissa_log.errors import RateLimited
from mantissa_log.outputs.registry import OutputRegistry
from mantissa_log.outputs.template_pool import TemplateRenderer
from mantissa_log.secrets.base import SecretStore
from mantissa_log.services.delivery.context import output_context
from mantissa_log.services.identity import Principal
from mantissa_log.services.integrations import IntegrationService
from mantissa_log.state.repositories.deliveries import JiraLedgerRepository


@dataclass
class TestSendResult:
    status: str
    http_status: int | None
    message: str


def test_alert(user_id: str, at: datetime) -> Alert:
    now = iso(at)
    return Alert(
        user_id=user_id,
        alert_id="test-" + now.replace("-", "").replace(":", ""),
        rule_name="mantissa-log-test",
        rule_title="Mantissa Log test alert (not a real detection)",
        severity="info",
        source="test",
        window_start=now,
        window_end=now,
        match_count=1,
        samples=[{"message": "This is a test alert sent from Mantissa Log to check this integration."}],
        dedup_key=dedup_key(user_id, "mantissa-log-test", {"test": now}),
        created_at=now,
        last_seen=now,
        delivery_status="none",
    )


WINDOW_SECONDS = 60.0
MAX_TRACKED_USERS = 100_000


class TestSendLimiter:
    """At most `per_minute` test sends per user in any 60 s (injected clock), for every type.

    A test sends through the operator's SMTP server, webhooks and paging services on demand:
    without a limit one user could use the server as a relay. In-process: with several API
    processes each allows its own `per_minute`.
    """

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._sent: OrderedDict[str, deque[float]] = OrderedDict()

    def take(self, user_id: str) -> None:
        """Count one send for `user_id`, or raise RateLimited with the seconds to wait."""
        now = self.clock.now().timestamp()
        with self._lock:
            sent = self._sent.setdefault(user_id, deque())
            self._sent.move_to_end(user_id)
            while sent and sent[0] <= now - WINDOW_SECONDS:
                sent.popleft()
            if len(sent) >= self.per_minute:
                wait = max(1, math.ceil(sent[0] + WINDOW_SECONDS - now))
                raise RateLimited(
                    f"at most {self.per_minute} test sends per minute; try again in {wait} s",
                    retry_after=wait,
                    field="integration_id",
                )
            sent.append(now)
            while len(self._sent) > MAX_TRACKED_USERS:
                self._sent.popitem(last=False)


class IntegrationTester:
    def __init__(
        self,
        config: Settings,
        integrations: IntegrationService,
        secrets: SecretStore,
        ledger: JiraLedgerRepository,
        *,
        outputs: OutputRegistry,
        clock: Clock = SYSTEM_CLOCK,
        templates: TemplateRenderer | None = None,
    ) -> None:
        self.config = config
        self.integrations = integrations
        self.secrets = secrets
        self.ledger = ledger
        self.outputs = outputs
        self.clock = clock
        self.templates = templates
        self.limiter = TestSendLimiter(clock, config.test_sends_per_minute)

    def send_test(self, who: Principal, integration_id: str) -> TestSendResult:
        integration = self.integrations.get(who, integration_id)
        self.limiter.take(who.user_id)  # after the lookup: another user's id stays a plain 404
        alert = test_alert(who.user_id, self.clock.now())
        # Pick the most severe level the integration's own filter lets through, so the test is not skipped.
        for severity in SEVERITIES:
            alert.severity = severity
            if self.outputs.passes_filter(alert, integration):
                break
        ctx = output_context(self.config, self.secrets, None, test=True, templates=self.templates)
        result = self.outputs.send(alert, integration, ctx)
        error = None if result.ok else (result.message or "delivery failed")
        self.integrations.record_test(who, integration_id, ok=result.ok, error=error)
        return TestSendResult("success" if result.ok else "error", result.status_code, result.message or "sent")

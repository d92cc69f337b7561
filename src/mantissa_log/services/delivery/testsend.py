"""The integration test action: a clearly marked test alert through the real transport."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mantissa_log.clock import SYSTEM_CLOCK, Clock, iso
from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.domain.common import SEVERITIES
from mantissa_log.outputs.registry import OutputRegistry
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
    ) -> None:
        self.config = config
        self.integrations = integrations
        self.secrets = secrets
        self.ledger = ledger
        self.outputs = outputs
        self.clock = clock

    def send_test(self, who: Principal, integration_id: str) -> TestSendResult:
        integration = self.integrations.get(who, integration_id)
        alert = test_alert(who.user_id, self.clock.now())
        # Pick the most severe level the integration's own filter lets through, so the test is not skipped.
        for severity in SEVERITIES:
            alert.severity = severity
            if self.outputs.passes_filter(alert, integration):
                break
        ctx = output_context(self.config, self.secrets, None, test=True)
        result = self.outputs.send(alert, integration, ctx)
        error = None if result.ok else (result.message or "delivery failed")
        self.integrations.record_test(who, integration_id, ok=result.ok, error=error)
        return TestSendResult("success" if result.ok else "error", result.status_code, result.message or "sent")

"""Delivery use cases the edges call: an outbox pass, and an integration's test alert."""

from __future__ import annotations

from mantissa_log.services.delivery.outbox import Outbox, OutboxReport
from mantissa_log.services.delivery.testsend import IntegrationTester, TestSendResult
from mantissa_log.services.identity import Principal


class DeliveryService:
    def __init__(self, outbox: Outbox, tester: IntegrationTester) -> None:
        self.outbox = outbox
        self.tester = tester

    def tick(self) -> OutboxReport:
        """Route new alerts and send every due delivery once."""
        return self.outbox.tick()

    def test_integration(self, who: Principal, integration_id: str) -> TestSendResult:
        """A clearly marked test alert through the integration's real transport."""
        return self.tester.send_test(who, integration_id)

"""Alert use cases: a user's alerts (filtered in the query, newest first, samples previewed) and one
alert with its deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from mantissa_log.domain.alert_size import preview
from mantissa_log.domain.alerts import Alert, Delivery
from mantissa_log.domain.common import Severity
from mantissa_log.errors import NotFound
from mantissa_log.services.identity import Principal
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.alerts import AlertFilter, AlertRepository
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.deliveries import DeliveryRepository


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    deliveries: list[Delivery]


class AlertService:
    def __init__(self, alerts: AlertRepository, deliveries: DeliveryRepository) -> None:
        self.alerts = alerts
        self.deliveries = deliveries

    def list(
        self,
        who: Principal,
        *,
        severity: Severity | None = None,
        rule_name: str | None = None,
        since: str | None = None,
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ModelPage[Alert]:
        wanted = AlertFilter(severity=severity, rule_name=rule_name, since=since)
        page = self.alerts.list_alerts(who.user_id, wanted, limit=limit, start_key=start_key)
        # A page stays small: each alert's samples within a few KB (all of them: `get`).
        page.items = [preview(alert) for alert in page.items]
        return page

    def get(self, who: Principal, alert_id: str) -> AlertDetail:
        alert = self.alerts.get_alert(who.user_id, alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        return AlertDetail(alert, self.deliveries.for_alert(who.user_id, alert_id))

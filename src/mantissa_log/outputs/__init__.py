"""Alert outputs: one module per integration type, each `send(alert, integration, ctx) -> DeliveryResult`."""

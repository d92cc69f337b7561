"""Alert delivery use cases: routing alerts to integrations, the outbox worker, test sends."""

"""Fixtures reused from the detection and delivery suites (services on a hand-moved clock, both backends)."""

from tests.delivery.conftest import clock, dlv, receiver
from tests.detection.conftest import det, ingest

__all__ = ["clock", "det", "dlv", "ingest", "receiver"]

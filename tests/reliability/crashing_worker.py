"""Fault harness: a worker that dies by SIGKILL (no cleanup, no finally) right after it stores its
first alert, before routing it, recording its statistics or moving any watermark.

Run: python -m tests.reliability.crashing_worker  (configured by the MANTISSA_* environment)
"""

from __future__ import annotations

import os
import signal
from typing import Any

from mantissa_log.config import load_settings
from mantissa_log.services.container import build_services
from mantissa_log.state.repositories.alerts import AlertRepository, Firing

_record_firing = AlertRepository.record_firing


def _record_then_die(self: AlertRepository, firing: Firing, now: int) -> Any:
    stored = _record_firing(self, firing, now)
    if stored[1] == "created":
        os.kill(os.getpid(), signal.SIGKILL)
    return stored


def main() -> None:
    AlertRepository.record_firing = _record_then_die  # type: ignore[method-assign]
    build_services(load_settings()).detection.tick()


if __name__ == "__main__":
    main()

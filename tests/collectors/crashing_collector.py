"""Fault harness: a collector run that dies by SIGKILL (no cleanup, no finally) in the middle.

Run: python -m tests.collectors.crashing_collector COLLECTOR_ID MODE N  (configured by MANTISSA_*)
MODE `before`: dies at the Nth batch after its events are in the lake, before its checkpoint is
recorded. MODE `after`: dies right after the Nth checkpoint is recorded, before the batch's
`after_stored` (an SQS message not yet deleted).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from mantissa_log.config import load_settings
from mantissa_log.services.container import build_services
from mantissa_log.state.repositories.collectors import CollectorRepository

_advance = CollectorRepository.advance


def main() -> None:
    collector_id, mode, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = 0

    def advance_then_maybe_die(self: CollectorRepository, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if mode == "before" and calls == at:
            os.kill(os.getpid(), signal.SIGKILL)
        _advance(self, *args, **kwargs)
        if mode == "after" and calls == at:
            os.kill(os.getpid(), signal.SIGKILL)

    CollectorRepository.advance = advance_then_maybe_die  # type: ignore[method-assign]
    build_services(load_settings()).collectors.run(collector_id)


if __name__ == "__main__":
    main()

"""Demo data for a first run: a day of CloudTrail, Okta and GitHub activity with an intrusion inside.

`events.py` makes the events (deterministic for a seed, times relative to "now"); `service.py`
loads them after the starter rules and runs each rule once, so the overview shows alerts at once.
"""

from mantissa_log.services.demo.service import DemoReport, DemoService

__all__ = ["DemoReport", "DemoService"]

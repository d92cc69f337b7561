"""A hunt's first step, for the command to take before it imports the rest of the hunt.

The hunt's in-memory DuckDB database is set up on a thread (C++ that releases the interpreter lock)
while `mantissa-log hunt` imports the sources, parsers and rules it needs: both run at once. This
module imports nothing else, so that starting costs only the engine's own import.

An input up to `lake.detect.tiny.ROUTED_BYTES` is hunted in Python when it can be (`lake.detect.text_scan`,
`lake.detect.text_lines`): then the database is not started at all (importing the engine and setting
it up hold the interpreter lock for 20-30 ms that the Python hunt needs, and slow it by as much again);
it starts if the hunt turns out to need it. A mid-size input's Python passes are shared with a helper
process (`lake.detect.helper`), forked here.
"""

from __future__ import annotations

from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.tiny import HELPED_BYTES, events_size
from mantissa_log.lake.forked import usable_cpus

__all__ = ["PendingDatabase", "event_arguments", "start_hunt_database"]

_EVENTS_SHORT = "-e"
_EVENTS_LONG = "--events"


def start_hunt_database(arguments: list[str]) -> PendingDatabase:
    """A hunt's database for the command's `arguments` (what follows `hunt`), started now unless the
    events they name may be hunted without it; give it to `hunt` (and `settle` it if the hunt never runs).

    For a mid-size input (over HELPED_BYTES: one core hunts smaller ones as fast alone) the hunt's helper
    process is forked first (`lake.detect.helper`), before any thread runs and while this process is small."""
    paths = event_arguments(arguments)
    size = events_size(paths) if paths else None
    if size is not None and size > HELPED_BYTES and usable_cpus() > 1:
        from mantissa_log.lake.detect.helper import start_helper

        start_helper(size)
    return PendingDatabase(start=size is None)


def event_arguments(arguments: list[str]) -> list[str]:
    """The values of `--events`/`-e` as argparse reads them (also `--events=x`, `-ex`, and `--ev`
    abbreviations); a guess that only decides when the database starts, never what is hunted."""
    found: list[str] = []
    taking = False
    for argument in arguments:
        if argument == "--":
            taking = False
            continue
        if argument.startswith("-") and argument != "-":
            name, _, value = argument.partition("=")
            long_events = name.startswith("--") and len(name) > 2 and _EVENTS_LONG.startswith(name)
            taking = long_events or argument == _EVENTS_SHORT
            if long_events and value:
                found.append(value)
            elif not name.startswith("--") and argument.startswith(_EVENTS_SHORT) and len(argument) > 2:
                found.append(argument[2:])
                taking = False
            continue
        if taking:
            found.append(argument)
    return found

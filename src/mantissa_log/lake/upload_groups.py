"""Group commit of small uploads (`LogLake._grouped`): the calls waiting per source, which of them
one write takes, and how many events of each the dedup filter kept."""

from __future__ import annotations

import dataclasses
import itertools

import duckdb

from mantissa_log.lake.dedup import Filtered
from mantissa_log.lake.model import ParsedEvent
from mantissa_log.lake.results import IngestResult


@dataclasses.dataclass
class WaitingUpload:
    """One call's chunk waiting for its group to be written, and how that went."""

    chunk: list[ParsedEvent]
    done: bool = False
    result: IngestResult | None = None
    error: Exception | None = None


# Uploads up to this size (not gzipped) are grouped; bigger ones are streamed in chunks as before.
GROUP_MAX_BYTES = 4 << 20
# At most this many calls in one group (the counts per call are one CASE branch each).
GROUP_MAX_CALLS = 64


def take_group(queue: list[WaitingUpload], max_events: int) -> list[WaitingUpload]:
    """The oldest waiting calls, up to `max_events` events (always at least one call)."""
    group: list[WaitingUpload] = []
    events = 0
    while queue and len(group) < GROUP_MAX_CALLS and (not group or events + len(queue[0].chunk) <= max_events):
        events += len(queue[0].chunk)
        group.append(queue.pop(0))
    return group


def kept_per_part(connection: duckdb.DuckDBPyConnection, fresh: Filtered, parts: list[int]) -> list[int]:
    """Rows kept by the dedup filter in each consecutive part of the batch (by input position `n`)."""
    if not fresh.duplicates:
        return list(parts)
    if len(parts) == 1:
        return [fresh.kept]
    ends = list(itertools.accumulate(parts))
    part = "CASE " + " ".join(f"WHEN n < {end} THEN {i}" for i, end in enumerate(ends)) + " END"
    counted = dict(connection.execute(f"SELECT {part} AS part, count(*) FROM {fresh.table} GROUP BY part").fetchall())  # noqa: S608
    return [int(counted.get(i, 0)) for i in range(len(parts))]

"""How many events each source holds per time bucket: the overview's freshness sparklines."""

from __future__ import annotations

from datetime import datetime

from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.lake.sql import timestamp_literal
from mantissa_log.lake.store import LogLake


def activity(lake: LogLake, since: datetime, until: datetime, bucket_seconds: int) -> dict[str, list[int]]:
    """Events per bucket of event time in `[since, until)`, for every source holding some there.

    Only files ingested after `since` are read (the lake is partitioned by ingest hour, and an event
    cannot be stored before it happened), so a short range over a big lake stays cheap.
    """
    buckets = max(1, -(-int((until - since).total_seconds()) // bucket_seconds))
    low, high = timestamp_literal(since), timestamp_literal(until)
    found: dict[str, list[int]] = {}
    with lake.connect() as connection:
        for name in SOURCE_NAMES:
            if not lake.files(name, since, None):
                continue
            relation = lake.relation_sql(name, since, None)
            rows = connection.execute(
                f"SELECT CAST(floor((epoch(event_time) - epoch({low})) / {int(bucket_seconds)}) AS BIGINT) AS b, "  # noqa: S608
                f"count(*) FROM ({relation}) WHERE event_time >= {low} AND event_time < {high} GROUP BY 1"
            ).fetchall()
            counts = [0] * buckets
            for bucket, count in rows:
                if 0 <= int(bucket) < buckets:
                    counts[int(bucket)] += int(count)
            if any(counts):
                found[name] = counts
    return found

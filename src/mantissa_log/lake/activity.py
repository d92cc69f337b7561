"""What each source has sent lately: events per time bucket and when it last sent (the overview).

Cheaper than `LogLake.sources()` (no schema, no full counts): only files ingested after the
range starts are read (the lake is partitioned by ingest hour, and an event cannot be stored
before it happened); a source silent for the whole range is read in its newest hour only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mantissa_log.domain.log_sources import SOURCE_NAMES, SOURCES
from mantissa_log.lake import partitions, sql
from mantissa_log.lake.store import LogLake


@dataclass(frozen=True)
class SourceActivity:
    name: str
    counts: list[int]  # events per bucket of event time in [since, until)
    last_event: datetime | None  # aware UTC
    last_ingest: datetime | None


def _aware(value: object) -> datetime | None:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else None


def activity(lake: LogLake, since: datetime, until: datetime, bucket_seconds: int) -> list[SourceActivity]:
    """Every source that holds events, with its counts per bucket and its newest event and ingest."""
    buckets = max(1, -(-int((until - since).total_seconds()) // bucket_seconds))
    low, high = sql.timestamp_literal(since), sql.timestamp_literal(until)
    found: list[SourceActivity] = []
    with lake.connect() as connection:
        for name in SOURCE_NAMES:
            counts = [0] * buckets
            recent = lake.files(name, since, None)
            if recent:
                relation = lake.relation_sql(name, since, None)
                rows = connection.execute(
                    f"SELECT CAST(floor((epoch(event_time) - epoch({low})) / {int(bucket_seconds)}) AS BIGINT), "  # noqa: S608
                    f"count(*) FROM ({relation}) WHERE event_time >= {low} AND event_time < {high} GROUP BY 1"
                ).fetchall()
                for bucket, count in rows:
                    if 0 <= int(bucket) < buckets:
                        counts[int(bucket)] += int(count)
            else:
                hours = sorted(partitions.hours(lake.root, name))
                if not hours:
                    continue  # never sent anything
                relation = sql.relation(SOURCES[name], partitions.event_files(hours[-1][1]))
            newest = connection.execute(f"SELECT max(event_time), max(ingest_time) FROM ({relation})").fetchone()  # noqa: S608
            last_event, last_ingest = newest if newest else (None, None)
            found.append(SourceActivity(name, counts, _aware(last_event), _aware(last_ingest)))
    return found

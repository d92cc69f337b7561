"""Lake housekeeping: compaction never shows an event twice or loses one; orphans of killed ingests go."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mantissa_log.lake import LogLake, maintenance, parse
from tests.lake.conftest import corpus_records, jsonl

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def count(lake: LogLake) -> int:
    with lake.connect() as connection:
        found = connection.execute(f"SELECT count(*) FROM ({lake.relation_sql('cloudtrail')})").fetchone()  # noqa: S608
    return int(found[0]) if found else 0


def test_compaction_rewrites_a_settled_partition_and_readers_never_see_both(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(40)
    for n in range(10):  # ten small ingests into the 09:00 partition
        lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records[4 * n : 4 * n + 4])), ingest_time=T0)
    before = lake.files("cloudtrail")
    assert (len(before), count(lake)) == (10, 40)
    # Not settled yet (the hour has not ended ten minutes ago): left alone.
    assert maintenance.compact(lake.root, T0 + timedelta(minutes=65)) == 0
    assert maintenance.compact(lake.root, T0 + timedelta(minutes=75)) == 1
    (compacted,) = lake.files("cloudtrail")
    assert compacted.name.startswith("part-compacted-")
    assert count(lake) == 40  # the replaced files are still on disk, but never listed
    assert all(path.exists() for path in before)
    # Ingest times are kept: every window reads exactly what it read before.
    with lake.connect() as connection:
        times = connection.execute(f"SELECT DISTINCT ingest_time FROM ({lake.relation_sql('cloudtrail')})").fetchall()  # noqa: S608
    assert times == [(T0.replace(tzinfo=None),)]
    # After the grace period the replaced files are deleted; the listing is unchanged.
    assert maintenance.retire_replaced(lake.root, grace=timedelta(hours=1)) == 0
    assert maintenance.retire_replaced(lake.root, grace=timedelta(0)) == 10
    assert not any(path.exists() for path in before)
    assert (lake.files("cloudtrail"), count(lake)) == ([compacted], 40)


def test_files_of_killed_ingests_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    lake.ingest("cloudtrail", parse("cloudtrail", jsonl(corpus_records(3))), ingest_time=T0)
    (published,) = lake.files("cloudtrail")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    orphan = published.parent / f".part-x-0.parquet.{dead_pid}.tmp"
    orphan.write_bytes(b"half written")
    live = published.parent / f".part-y-0.parquet.{os.getpid()}.tmp"
    live.write_bytes(b"being written")
    staging = lake.root / "_staging" / f"native-{dead_pid}-abc"
    staging.mkdir(parents=True)
    (staging / "piece-0").write_bytes(b"decompressed")
    assert maintenance.clean_orphans(lake.root) == 2
    assert not orphan.exists()
    assert not staging.exists()
    assert live.exists()
    assert published.exists()
    assert lake.maintain().orphans_removed == 0

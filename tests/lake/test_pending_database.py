"""The hunt's database, set up on a thread and warmed by one query of a scan's shape."""

from __future__ import annotations

import _duckdb as duckdb

from mantissa_log.lake.detect.pending import WARM_UP, PendingDatabase


def test_the_warm_up_query_runs_on_this_engine_and_counts_what_it_should() -> None:
    # The set-up swallows the warm-up's errors (only time would be lost), so a query this engine
    # refuses would go unnoticed but for this test: one line matches by its field, one by its list.
    with duckdb.connect(":memory:") as connection:
        assert sorted(connection.execute(WARM_UP).fetchall()) == [(1, 1), (2, 1)]


def test_a_pending_database_is_a_working_connection_once_set_up() -> None:
    pending = PendingDatabase()
    connection = pending.get()
    assert connection.execute("SELECT json_extract_string('{\"a\": [\"b\"]}', '$.a[0]')").fetchall() == [("b",)]
    assert pending.get() is connection  # set up once
    connection.close()

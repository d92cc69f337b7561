"""The same guard in Athena's dialect (`MANTISSA_LAKE=s3`): what Athena could be made to do is refused."""

from __future__ import annotations

import pytest

from mantissa_log.lake.query_guard import QueryRejected, check_query

HOSTILE: list[tuple[str, str]] = [
    # writing, or anything but one query
    ("UNLOAD (SELECT raw FROM cloudtrail) TO 's3://elsewhere/' WITH (format = 'JSON')", "not UNLOAD"),
    ("CREATE TABLE copy AS SELECT * FROM cloudtrail", "not CREATE"),
    ("INSERT INTO cloudtrail SELECT * FROM cloudtrail", "not INSERT"),
    ("MSCK REPAIR TABLE cloudtrail", "not MSCK"),
    ("EXPLAIN ANALYZE SELECT * FROM cloudtrail", "not EXPLAIN"),
    ("SHOW TABLES", "not SHOW"),
    ("DESCRIBE cloudtrail", "not DESCRIBE"),
    ("PREPARE q FROM SELECT 1", "not PREPARE"),
    ("EXECUTE q", "not EXECUTE"),
    ("USING EXTERNAL FUNCTION f(x VARCHAR) RETURNS VARCHAR LAMBDA 'arn' SELECT f(raw) FROM cloudtrail", "not USING"),
    ("SELECT 1; DROP TABLE cloudtrail", "exactly one SQL statement"),
    # other tables, catalogs, table functions
    ("SELECT * FROM information_schema.tables", "qualified table names"),
    ("SELECT * FROM system.runtime.queries", "qualified table names"),
    ("SELECT * FROM awsdatacatalog.other_db.secrets", "qualified table names"),
    ('SELECT * FROM "cloudtrail$partitions"', "not a log table"),
    ("SELECT * FROM TABLE(system.query(query => 'SELECT 1'))", "table function"),
    ("SELECT x FROM cloudtrail CROSS JOIN UNNEST(split(raw, ',')) AS t(x)", "table function unnest"),
    # functions off the allowlist
    ("SELECT current_user FROM cloudtrail", "function current_user"),
    ("SELECT sequence(1, 1000000000) FROM cloudtrail", "function sequence"),
    ("SELECT repeat('a', 1000000000) FROM cloudtrail", "function repeat"),
    ("SELECT my_udf(raw) FROM cloudtrail", "function my_udf"),
    ("SELECT system.f(raw) FROM cloudtrail", "qualified function names"),
]

GOOD = [
    "SELECT event.eventName, count(*) AS n FROM cloudtrail WHERE \"date\" >= '2026-11-26' GROUP BY 1 ORDER BY n DESC",
    "SELECT json_extract_scalar(raw, '$.requestParameters.bucketName') AS bucket FROM cloudtrail",
    "SELECT count_if(regexp_like(event.eventName, '^Delete')), approx_distinct(event.sourceIPAddress) FROM cloudtrail",
    "SELECT date_trunc('hour', event_time) AS h, max_by(raw, event_time) FROM cloudtrail GROUP BY 1",
    "SELECT any_match(split(raw, ','), s -> s = 'x'), cardinality(split(raw, ',')) FROM cloudtrail",
    "WITH d AS (SELECT event_id FROM cloudtrail) SELECT count(*) FROM d",
    "SELECT row_number() OVER (PARTITION BY event.eventName ORDER BY event_time) FROM cloudtrail",
]


@pytest.mark.parametrize(("sql", "reason"), HOSTILE)
def test_what_athena_could_be_made_to_do_is_refused(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejected) as refused:
        check_query(sql, 100, "athena")
    assert reason in str(refused.value)


@pytest.mark.parametrize("sql", GOOD)
def test_log_questions_in_trino_pass_written_in_the_athena_dialect(sql: str) -> None:
    checked = check_query(sql, 100, "athena")
    assert checked.executed.endswith("LIMIT 101")
    assert checked.tables == {"cloudtrail"}


def test_the_row_limit_is_rewritten_and_timestamps_keep_their_precision() -> None:
    assert check_query("SELECT raw FROM okta LIMIT 100000", 100, "athena").executed == "SELECT raw FROM okta LIMIT 101"
    assert check_query("SELECT raw FROM okta LIMIT 5", 100, "athena").fetch == 5
    checked = check_query("SELECT raw FROM okta WHERE event_time > TIMESTAMP '2026-11-27 09:00:00.250'", 10, "athena")
    assert "'2026-11-27 09:00:00.250' AS TIMESTAMP(3)" in checked.executed

"""The guarded connection for user SQL: lake views readable, other files and writes refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mantissa_log.errors import ValidationFailed
from mantissa_log.lake import LogLake, ensure_select, parse
from mantissa_log.lake.parsers import cloudtrail
from tests.lake.conftest import corpus_records, jsonl


@pytest.fixture
def filled(lake: LogLake) -> LogLake:
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(corpus_records(20))))
    lake.ingest("json", parse("json", b'{"msg": "hi"}\n'))
    return lake


def test_views_over_the_lake_work_with_external_access_off(filled: LogLake) -> None:
    with filled.connect_guarded() as connection:
        assert connection.execute("SELECT count(*) FROM cloudtrail").fetchone() == (20,)
        assert connection.execute("SELECT count(*) FROM json").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM okta").fetchone() == (0,)
        assert connection.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)


def test_other_files_extensions_and_settings_are_refused(filled: LogLake, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with filled.connect_guarded() as connection:
        for statement in [
            f"SELECT * FROM read_csv('{secret}')",  # noqa: S608
            "SELECT * FROM read_text('/etc/passwd')",
            "SELECT * FROM read_blob('/etc/hostname')",
            f"SELECT * FROM glob('{filled.root}/**')",  # noqa: S608
            f"ATTACH '{tmp_path / 'x.db'}'",
            "INSTALL httpfs",
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
        ]:
            with pytest.raises(duckdb.Error):
                connection.execute(statement)


def test_only_single_select_statements_pass(filled: LogLake) -> None:
    target = filled.files("cloudtrail")[0]
    with filled.connect_guarded() as connection:
        ensure_select(connection, "SELECT eventName FROM (SELECT event.eventName AS eventName FROM cloudtrail)")
        ensure_select(connection, "WITH x AS (SELECT 1) SELECT * FROM x")
        ensure_select(connection, "FROM cloudtrail LIMIT 1")
        for text, message in [
            # An allowed lake file could be overwritten through COPY: the statement check stops it.
            (f"COPY (SELECT 1) TO '{target}' (FORMAT csv, USE_TMP_FILE false)", "not COPY"),
            ("SELECT 1; SELECT 2", "exactly one"),
            ("PRAGMA version", "not PRAGMA"),
            ("CREATE TABLE t AS SELECT 1", "not CREATE"),
            ("SELEC 1", "does not parse"),
        ]:
            with pytest.raises(ValidationFailed, match=message):
                ensure_select(connection, text)


def test_views_are_limited_to_the_window(filled: LogLake) -> None:
    stamp = filled.sources()[0].max_ingest_time
    assert stamp is not None
    with filled.connect_guarded(since=stamp) as connection:
        assert connection.execute("SELECT count(*) FROM cloudtrail").fetchone() == (0,)

"""The two dialects cannot drift: for every corpus rule, its Athena SQL, transpiled to DuckDB by
sqlglot, selects exactly the rows its native DuckDB SQL selects, over the same Parquet lake.

The lake holds every corpus CloudTrail event and the sample events of every other source
(tests/samples), stored through the real ingest path. One translation is ours, not sqlglot's
(`any_match`, see tests/athena_sql.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mantissa_log.lake import LogLake, parse
from tests.athena_sql import athena_to_duckdb
from tests.sigma.conftest import CORPUS, CorpusResult

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LogLake:
    store = LogLake(tmp_path_factory.mktemp("equivalence") / "lake")
    lines = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted((CORPUS / "events").glob("*.jsonl")))
    parsed = parse("cloudtrail", lines)
    assert not parsed.rejected
    store.ingest("cloudtrail", parsed, ingest_time=T0)
    for sample in sorted(SAMPLES.glob("*.json")):
        parsed = parse(sample.stem, sample.read_bytes())
        assert parsed.events, sample
        store.ingest(sample.stem, parsed, ingest_time=T0)
    return store


def test_athena_sql_selects_exactly_the_native_rows_for_every_corpus_rule(corpus: CorpusResult, lake: LogLake) -> None:
    compared = matched = 0
    differ: list[str] = []
    with lake.connect() as con:
        for name, rules in corpus.compiled.items():
            for rule in rules:
                relation = f"({lake.relation_sql(rule.source)})"
                native = f"SELECT raw FROM {relation} AS ev WHERE {rule.predicate}"  # noqa: S608 - our compiler's SQL
                athena = athena_to_duckdb(f"SELECT raw FROM lake_events AS ev WHERE {rule.athena_predicate}")  # noqa: S608
                assert athena.count("lake_events") == 1, name
                athena = athena.replace("lake_events", relation)
                expected = sorted(row[0] for row in con.execute(native).fetchall())
                got = sorted(row[0] for row in con.execute(athena).fetchall())
                compared += 1
                matched += bool(expected)
                if got != expected:
                    differ.append(f"{name}: native {len(expected)} rows, athena {len(got)} rows")
    assert not differ, "\n".join(differ)
    assert compared == sum(len(rules) for rules in corpus.compiled.values())
    assert compared >= 250
    assert matched >= 60  # the comparison is not vacuous: many rules select events

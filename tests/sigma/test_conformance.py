"""Conformance on public material: every SigmaHQ rule of the corpus compiles or is refused with a reason,
and every labelled (rule, events) pair fires exactly when the corpus says it should."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from tests.sigma.conftest import CORPUS, CorpusResult
from tests.sigma.helpers import load_events, matching

TOTAL_RULES = 266
MIN_COMPILED = 250


def _labels() -> list[dict[str, str]]:
    path = CORPUS / "labels.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


LABELS = _labels()


def test_every_corpus_rule_compiles_or_is_refused_with_a_reason(corpus: CorpusResult) -> None:
    assert len(corpus.compiled) + len(corpus.refused) == TOTAL_RULES
    native = len(corpus.compiled) - len(corpus.generic)
    by_product = Counter(name.removeprefix("rules/").split("_")[0] for name in corpus.generic)
    print(
        f"\ncompiled {len(corpus.compiled)}/{TOTAL_RULES}: {native} for their own log source, "
        f"{len(corpus.generic)} as generic JSON (no source of ours: {dict(sorted(by_product.items()))}); "
        f"refused {len(corpus.refused)}"
    )
    for name, reason in sorted(corpus.refused.items()):
        print(f"  refused {name}: {reason}")
        assert reason.strip(), name
    assert len(corpus.compiled) >= MIN_COMPILED


def test_every_compiled_corpus_rule_runs_in_duckdb(corpus: CorpusResult) -> None:
    """Both forms bind and evaluate (to a boolean) against the source's real structure."""
    con = duckdb.connect()
    for source in SOURCES:
        load_events(con, f"t_{source}", source, ['{"x": 1}'])
    for name, rules in corpus.compiled.items():
        for compiled in rules:
            table = f"t_{compiled.source}"
            row = con.execute(
                f"SELECT {compiled.predicate}, {compiled.flag_expression} FROM {table}"  # noqa: S608
            ).fetchone()
            assert row == (False, False), name


@pytest.mark.parametrize(
    "label",
    LABELS,
    ids=[f"{Path(row['sigma_rule_file']).stem}@{Path(row['dataset_file']).stem}" for row in LABELS],
)
def test_labelled_events_fire_exactly_as_expected(corpus: CorpusResult, label: dict[str, str]) -> None:
    assert label["sigma_rule_file"] in corpus.compiled, corpus.refused.get(label["sigma_rule_file"])
    [compiled] = corpus.compiled[label["sigma_rule_file"]]
    assert compiled.rule_id == label["sigma_rule_id"]
    lines = (CORPUS / label["dataset_file"]).read_text(encoding="utf-8").splitlines()
    con = duckdb.connect()
    load_events(con, "events", compiled.source, [line for line in lines if line.strip()])
    hits = matching(con, "events", compiled)
    expected = label["expectation"] == "fire"
    assert bool(hits) == expected, f"{label['expectation']} expected; {len(hits)} events match. {label['note']}"

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
# Every corpus rule compiles for the log source its `logsource` names (issue 13 added the Azure,
# Entra ID, Microsoft 365 and Google Workspace sources that 155 of them were refused for before).
RULES_PER_SOURCE = {
    "cloudtrail": 57,
    "okta": 23,
    "github": 15,
    "gcp_audit": 16,
    "azure_audit": 44,
    "azure_activity": 35,
    "azure_signin": 19,
    "azure_riskdetection": 19,
    "azure_pim": 7,
    "m365": 21,
    "google_workspace": 10,
}


def _labels() -> list[dict[str, str]]:
    path = CORPUS / "labels.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


LABELS = _labels()


def test_every_corpus_rule_compiles_for_its_own_source(corpus: CorpusResult) -> None:
    per_source = Counter(rules[0].source for rules in corpus.compiled.values())
    print(f"\ncompiled {len(corpus.compiled)}/{TOTAL_RULES}: {dict(sorted(per_source.items()))}")
    for name, reason in sorted(corpus.refused.items()):
        print(f"  refused {name}: {reason}")
    assert corpus.refused == {}
    assert corpus.generic == []
    assert len(corpus.compiled) == TOTAL_RULES
    assert dict(per_source) == RULES_PER_SOURCE


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

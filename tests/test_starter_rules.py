"""The starter rule pack: every rule validates, reads its folder's source and passes its own tests;
count rules count per entity; and the whole pack, imported and scheduled, alerts on its own events."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.domain.schedule import parse_duration
from mantissa_log.lake import LogLake, parse
from mantissa_log.lake.detect import DuckDbEngine, RuleScan, RuleWindow
from mantissa_log.lake.detect.duckdb_engine import evaluate_correlation, load_memory_table
from mantissa_log.services.container import build_services
from mantissa_log.services.detection.adhoc import run_tests
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.detection.validation import ValidatedRule, validate_rule_text
from mantissa_log.services.identity import Principal
from mantissa_log.starter_rules import STARTER_RULES_DIR, starter_rule_files
from tests.clock import ManualClock
from tests.fixtures_api import make_config

MIN_RULES_PER_SOURCE = {"cloudtrail": 10, "okta": 5, "github": 5}
MIN_MATCH_TESTS = 2
MIN_NO_MATCH_TESTS = 2
ATTACK_TECHNIQUE = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")
SIGMA_LEVELS = {"informational", "low", "medium", "high", "critical"}
LOGSOURCES = {
    "cloudtrail": {"product": "aws", "service": "cloudtrail"},
    "okta": {"product": "okta", "service": "okta"},
    "github": {"product": "github", "service": "audit"},
}

FILES = starter_rule_files()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _checked(path: Path) -> ValidatedRule:
    return validate_rule_text(path.read_text())


def _set_path(event: dict[str, Any], dotted: str, value: str) -> None:
    node = event
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = value


def test_pack_layout() -> None:
    assert STARTER_RULES_DIR.is_dir()
    assert FILES, "no starter rules found"
    assert {path.parent.name for path in FILES} == set(MIN_RULES_PER_SOURCE)
    assert all(path.parent.parent == STARTER_RULES_DIR for path in FILES)
    assert sorted(FILES) == FILES
    # `mantissa-log rules import` names each rule after its file stem: stems must not collide.
    stems = Counter(path.stem for path in FILES)
    assert [stem for stem, count in stems.items() if count > 1] == []


@pytest.mark.parametrize(("source", "minimum"), sorted(MIN_RULES_PER_SOURCE.items()))
def test_enough_rules_per_source(source: str, minimum: int) -> None:
    count = sum(1 for path in FILES if path.parent.name == source)
    assert count >= minimum, f"{source}: {count} rules, want at least {minimum}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_rule_validates_and_reads_its_folders_source(path: Path) -> None:
    checked = _checked(path)
    assert checked.source == path.parent.name
    assert checked.source in SOURCES


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_rule_has_enough_tests_both_ways(path: Path) -> None:
    tests = _checked(path).document.mantissa.tests
    matches = sum(1 for case in tests if case.match)
    assert matches >= MIN_MATCH_TESTS, f"{matches} tests that must match"
    assert len(tests) - matches >= MIN_NO_MATCH_TESTS, f"{len(tests) - matches} tests that must not match"
    names = [case.name for case in tests]
    assert all(names), "every test case is named"
    assert len(set(names)) == len(names), "test names are unique within a rule"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_rule_passes_its_own_tests(path: Path) -> None:
    outcomes = run_tests(DuckDbEngine(LogLake(Path("/nonexistent"))), _checked(path))
    failed = [vars(outcome) for outcome in outcomes if not outcome.passed]
    assert outcomes
    assert not failed, json.dumps(failed, indent=2)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_scheduled_form_agrees_with_tests(path: Path) -> None:
    """`run_tests` uses the WHERE predicate; scheduled runs use the CASE-chained flag expression."""
    checked = _checked(path)
    cases = checked.document.mantissa.tests
    raws = [json.dumps(case.event, separators=(",", ":")) for case in cases]
    con = duckdb.connect()
    try:
        table = load_memory_table(con, "flag_test", SOURCES[checked.source].structure_json(), raws)
        rows = con.execute(
            f"SELECT ({checked.compiled.flag_expression}) FROM {table} AS ev ORDER BY idx"  # noqa: S608
        ).fetchall()
    finally:
        con.close()
    assert [row[0] for row in rows] == [case.match for case in cases]


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_rule_metadata(path: Path) -> None:
    checked = _checked(path)
    document = checked.document
    for doc in document.documents:
        assert str(uuid.UUID(str(doc["id"]))) == str(doc["id"]).lower()
        assert doc.get("title")
        assert doc.get("description")
        assert doc.get("author") == "Mantissa Log"
        assert doc.get("date")
        assert doc.get("references")
        assert doc.get("status") in {"experimental", "test", "stable"}
        assert doc.get("level") in SIGMA_LEVELS
        if "correlation" not in doc:
            assert doc.get("logsource") == LOGSOURCES[path.parent.name]
    main = document.main
    tags = main.get("tags") or []
    assert any(ATTACK_TECHNIQUE.match(tag) for tag in tags), f"no ATT&CK technique tag in {tags}"
    assert all(tag.startswith("attack.") for tag in tags)
    assert main.get("falsepositives")
    # Mantissa fields are set on purpose, not left to defaults.
    assert document.mantissa.schedule, "schedule"
    assert document.mantissa.suppression, "suppression"
    assert checked.suppression.total_seconds() > 0


def test_rule_ids_are_unique() -> None:
    ids = Counter(str(doc["id"]) for path in FILES for doc in _checked(path).document.documents)
    assert ids, "no ids"
    assert [rule_id for rule_id, count in ids.items() if count > 1] == []


def test_rule_titles_are_unique() -> None:
    titles = Counter(_checked(path).document.title for path in FILES)
    assert [title for title, count in titles.items() if count > 1] == []


def test_threshold_rules_count_over_a_lookback() -> None:
    """A plain `threshold` > 1 needs a lookback at least one schedule period long."""
    thresholded = []
    for path in FILES:
        checked = _checked(path)
        threshold = checked.document.mantissa.threshold or 1
        if threshold > 1:
            thresholded.append(path)
            assert checked.document.mantissa.lookback, f"{path.name}: threshold without lookback"
            lookback = parse_duration(checked.document.mantissa.lookback, "lookback")
            assert lookback >= checked.schedule.interval_hint()
    assert thresholded, "the pack should show a threshold rule"


CORRELATED = [path for path in FILES if _checked(path).compiled.correlation is not None]


def _group_counts(checked: ValidatedRule, events: list[dict[str, Any]]) -> dict[str, int]:
    raws = [json.dumps(event, separators=(",", ":")) for event in events]
    con = duckdb.connect()
    try:
        table = load_memory_table(con, "corr_test", SOURCES[checked.source].structure_json(), raws)
        long_ago = datetime(2000, 1, 1, tzinfo=UTC)
        results = evaluate_correlation(
            con,
            table,
            RuleScan(
                checked.compiled, RuleWindow(start=long_ago, watermark=long_ago, end=datetime(2100, 1, 1, tzinfo=UTC))
            ),
        )
    finally:
        con.close()
    assert checked.compiled.correlation is not None
    name = checked.compiled.correlation.group_names[0]
    return {str((result.group or {}).get(name)): result.count for result in results}


def test_pack_has_per_entity_count_rules() -> None:
    assert CORRELATED, "the pack should show a per-entity count (correlation) rule"


@pytest.mark.parametrize("path", CORRELATED, ids=_id)
def test_correlation_counts_per_group(path: Path) -> None:
    """The count is per group: N events of one entity fire; N-1 each for two entities do not."""
    checked = _checked(path)
    correlation = checked.compiled.correlation
    assert correlation is not None
    assert correlation.condition_op == "gte"
    assert len(correlation.group_names) == 1
    needed = correlation.condition_count
    assert needed > 1
    seed = next(case.event for case in checked.document.mantissa.tests if case.match)
    group = correlation.group_names[0]

    def burst(entity: str, count: int) -> list[dict[str, Any]]:
        events = []
        for _ in range(count):
            event = copy.deepcopy(seed)
            _set_path(event, group, entity)
            events.append(event)
        return events

    assert _group_counts(checked, burst("mallory", needed)) == {"mallory": needed}
    assert _group_counts(checked, burst("mallory", needed - 1) + burst("trudy", needed - 1)) == {}


# ---- the whole pack through the real pipeline: import, ingest, scheduled run, alerts -------------

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def _needed(checked: ValidatedRule) -> int:
    """Matching events one run needs to alert: the threshold, or the correlation's count."""
    correlation = checked.compiled.correlation
    if correlation is not None:
        return correlation.condition_count + (1 if correlation.condition_op == "gt" else 0)
    return checked.document.mantissa.threshold or 1


def _alerted_rules(tmp_path: Path, copies: Callable[[ValidatedRule], int]) -> tuple[set[str], dict[str, str]]:
    """Import every rule for one user, ingest `copies(rule)` of each rule's first matching test
    event, run the scheduler once; return the rule names that alerted and rule name -> file."""
    config = make_config("sqlite", tmp_path / "home", "t" + uuid.uuid4().hex[:12], None)
    services = build_services(config, ManualClock(T0 - timedelta(minutes=1)))  # rules exist before the events
    try:
        services.users.create_user("alice")
        who = Principal("alice")
        names: dict[str, str] = {}
        events: dict[str, list[dict[str, Any]]] = {}
        for path in FILES:
            checked = _checked(path)
            name = f"{path.parent.name}-{path.stem}".replace("_", "-")
            names[name] = _id(path)
            services.rules.create(who, RuleWrite(rule_name=name, body=path.read_text()), "api")
            seed = next(case.event for case in checked.document.mantissa.tests if case.match)
            # Distinct events (each its own id), not one event sent several times: that would be stored once.
            id_field = SOURCES[checked.source].id_fields[0]
            events.setdefault(checked.source, []).extend(
                copy.deepcopy(seed) | {id_field: uuid.uuid4().hex} for _ in range(copies(checked))
            )
        for source, batch in events.items():
            result = parse(source, "\n".join(json.dumps(event) for event in batch).encode())
            assert not result.rejected, result.rejected
            services.infra.lake.ingest(source, result, ingest_time=T0)
        until = T0 + timedelta(minutes=1)
        results = services.infra.scheduler.tick(now=until, until=until)
        assert len(results) == len(FILES)
        assert all(r.status == "success" for r in results), [r.error for r in results if r.error]
        alerts = services.infra.repos.alerts.list_alerts("alice", limit=1000).items
        return {alert.rule_name for alert in alerts}, names
    finally:
        services.close()


def test_every_rule_alerts_in_the_pipeline(tmp_path: Path) -> None:
    alerted, names = _alerted_rules(tmp_path, _needed)
    assert sorted(names[name] for name in set(names) - alerted) == []


def test_count_rules_stay_quiet_below_their_count(tmp_path: Path) -> None:
    alerted, names = _alerted_rules(tmp_path, lambda checked: _needed(checked) - 1)
    counting = {name for name, file in names.items() if _needed(_checked(STARTER_RULES_DIR / f"{file}.yml")) > 1}
    assert counting, "the pack should have count rules"
    assert sorted(names[name] for name in counting & alerted) == []

"""A rule's flag in Python (`lake.detect.python_flags`) has the truth of its SQL in DuckDB, event by event,
or gives up (None for the rule, Unsure for the event): a tiny hunt counted in Python must report what
the DuckDB scan reports."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import sql
from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.lake.detect.python_flags import python_flag
from mantissa_log.lake.detect.text_events import Unsure, line_events, load_line
from mantissa_log.lake.detect.text_scan import text_counts
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.compiled import CompiledRule, RuleCompileError
from tests.lake.conftest import corpus_records
from tests.lake.test_hunt import RULES
from tests.samples import sample_records

CLOUDTRAIL = SOURCES["cloudtrail"].structure


def _corpus_rules(source: str) -> list[CompiledRule]:
    rules = []
    for path in sorted(RULES.glob("*.yml")):
        with contextlib.suppress(RuleCompileError):  # a rule we refuse is not what this test is about
            rules += [rule for rule in compile_sigma(path.read_text(encoding="utf-8")) if rule.source == source]
    return rules


def _duckdb_truths(lines: list[str], expressions: list[str], structure: dict[str, Any]) -> list[list[bool]]:
    """Each expression's truth per line, as the hunt's scan computes it: the same typed struct of `raw`."""
    needed = sql.needed_structure(structure, expressions)
    event = f", {hunt_module._typed_event(needed)} AS event" if needed else ""
    flags = ", ".join(f"coalesce(({expression}), false)" for expression in expressions)
    query = (
        f"SELECT n, {flags} FROM (SELECT n, raw{event} FROM "  # noqa: S608
        "(SELECT unnest(range(len($1::VARCHAR[]))) AS n, unnest($1::VARCHAR[]) AS raw)) ORDER BY n"
    )
    with duckdb.connect() as con:
        return [list(row[1:]) for row in con.execute(query, [lines]).fetchall()]


def _python_truths(lines: list[str], expressions: list[str], structure: dict[str, Any]) -> list[list[bool | None]]:
    """Each expression's truth per line in Python; None where it gives up on the event."""
    flags = [python_flag(expression, structure) for expression in expressions]
    assert all(flag is not None for flag in flags), [e for e, f in zip(expressions, flags, strict=True) if f is None]
    truths: list[list[bool | None]] = []
    for line in lines:
        event = load_line(line)
        row: list[bool | None] = []
        for flag in flags:
            assert flag is not None
            try:
                row.append(flag(event))
            except Unsure:
                row.append(None)
        truths.append(row)
    return truths


def _compare(lines: list[str], expressions: list[str], structure: dict[str, Any]) -> tuple[int, int, int]:
    """Asserts Python's truths are DuckDB's wherever Python answers; (answered, true, unsure)."""
    ours = _python_truths(lines, expressions, structure)
    theirs = _duckdb_truths(lines, expressions, structure)
    answered = true = unsure = 0
    for number, (mine, right) in enumerate(zip(ours, theirs, strict=True)):
        for position, (a, b) in enumerate(zip(mine, right, strict=True)):
            if a is None:
                unsure += 1
                continue
            assert a == b, (lines[number], expressions[position])
            answered += 1
            true += a
    return answered, true, unsure


def _supported(rules: list[CompiledRule], structure: dict[str, Any]) -> list[str]:
    return [rule.flag_expression for rule in rules if python_flag(rule.flag_expression, structure) is not None]


def test_nearly_every_corpus_rule_has_a_python_flag() -> None:
    rules = _corpus_rules("cloudtrail")
    supported = _supported(rules, CLOUDTRAIL)
    assert len(rules) >= 50
    assert len(supported) == len(rules)  # the 57 AWS rules, the regex one included


def test_the_corpus_events_get_the_same_truth_both_ways() -> None:
    lines = [json.dumps(record) for record in corpus_records()]
    expressions = _supported(_corpus_rules("cloudtrail"), CLOUDTRAIL)
    answered, true, unsure = _compare(lines, expressions, CLOUDTRAIL)
    assert true >= 100  # matches compared, not only misses
    assert unsure <= answered // 100  # a real comparison: Python answers nearly everywhere


@pytest.mark.parametrize(
    "source",
    ["azure_activity", "azure_audit", "azure_signin", "azure_riskdetection", "azure_pim", "google_workspace", "m365"],
)
def test_other_sources_samples_get_the_same_truth_both_ways(source: str) -> None:
    structure = SOURCES[source].structure
    expressions = _supported(_corpus_rules(source), structure)
    assert expressions, source
    lines = [json.dumps(record) for record in sample_records(source)]
    answered, _, _ = _compare(lines, expressions, structure)
    assert answered > 0


def _targets(expression: str) -> dict[tuple[str, ...], list[str]]:
    """Each field the expression reads (struct reads, and JSON paths without wildcards below a JSON
    leaf) with the literals it is compared to: the first literal after each place it is read."""
    found: dict[tuple[str, ...], list[str]] = {}
    reads = [
        (m.start(), tuple(path))
        for m, path in zip(
            re.finditer(r'\bevent((?:\."[^"]+")+)', expression), sql.struct_reads(expression), strict=True
        )
    ]
    for m in re.finditer(r'json_extract_string\(event\."([^"]+)", \'\$((?:\."[^"]*")+)\'\)', expression):
        reads.append((m.start(), (m.group(1), *re.findall(r'"([^"]*)"', m.group(2)))))
    for at, path in reads:
        literal = re.compile(r"'((?:[^']|'')*)'").search(expression, at + 1)
        texts = found.setdefault(path, [])
        if literal is not None and not literal.group(1).startswith("$"):
            texts.append(literal.group(1).replace("''", "'"))
    return found


def _set(event: dict[str, Any], keys: list[str], value: Any) -> None:
    node = event
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def _variants(literal: str) -> list[Any]:
    """Values near a rule's literal: itself, other case, around it, and values DuckDB reads its own way."""
    text = literal.replace("%", "x").replace("\\", "")
    return [text, text.upper(), f"a{text}b", text[:-1], None, 7, True, {"k": text}, [text], f"{text}\u212a", ""]


def test_events_built_from_the_rules_literals_get_the_same_truth_both_ways() -> None:
    """Events whose fields hold each rule's literals and values near them: most flags true at least
    once, and every kind of value the Python side must read as DuckDB does (or give up on)."""
    base = corpus_records(1)[0]
    lines: list[str] = []
    expressions = _supported(_corpus_rules("cloudtrail"), CLOUDTRAIL)
    for expression in expressions:
        targets = _targets(expression)
        for round_number in range(3 * 12):
            event = copy.deepcopy(base)
            for offset, (keys, literals) in enumerate(targets.items()):
                literal = (literals or ["x"])[(round_number + offset) % max(len(literals), 1)]
                variants = _variants(literal)
                # Mostly the literal itself (so that rules match), now and then a value near it.
                chosen = variants[0] if (round_number + offset) % 3 else variants[(round_number // 3) % len(variants)]
                _set(event, list(keys), chosen)
            lines.append(json.dumps(event))
    answered, true, unsure = _compare(lines, expressions, CLOUDTRAIL)
    assert true >= 200
    assert unsure > 0  # the values DuckDB reads its own way were met, and given up on
    assert answered > 5 * unsure


# Expressions over a hand-made structure, for what the corpus rules rarely meet.
STRUCTURE: dict[str, Any] = {
    "a": "VARCHAR",
    "b": {"c": "VARCHAR"},
    "j": "JSON",
    "items": [{"id": "VARCHAR", "kind": "VARCHAR"}],
}
EXPRESSIONS = [
    "lower(event.\"a\") LIKE 'ab%' ESCAPE '\\'",
    "event.\"a\" LIKE 'a_c' ESCAPE '\\'",
    "event.\"a\" LIKE '%\\%%' ESCAPE '\\'",
    "event.\"a\" LIKE '%\\_' ESCAPE '\\'",
    'event."a" = \'abc\' OR event."b"."c" = \'x\'',
    'event."a" = \'abc\' AND event."b"."c" = \'x\'',
    "NOT event.\"a\" = 'abc'",
    'event."a" IS NULL',
    'event."b"."c" IS NOT NULL',
    "contains(event.\"a\", '') AND starts_with(event.\"a\", 'a') AND ends_with(event.\"a\", 'c')",
    'contains(lower(event."a"), lower(event."b"."c"))',
    "CASE WHEN event.\"a\" = 'abc' THEN NULL ELSE true END",
    'COALESCE(event."a" = \'abc\', event."b"."c" = \'x\', false)',
    "regexp_matches(event.\"a\", '^a.c$')",
    "regexp_matches(event.\"a\", '(?i)B+')",
    "regexp_matches(event.\"a\", '[a-c]{2,}|x\\.y')",
    "json_extract_string(event.\"j\", '$.\"k\"') = 'v'",
    'json_extract_string(event."j", \'$."k"."m"\') IS NULL',
    "list_bool_or(list_transform(json_extract_string(event.\"j\", '$.\"l\"[*]'), lambda x1: x1 = 'v'))",
    'list_bool_or(list_transform(json_extract_string(event."j", \'$."l"[*]\'), lambda x1: x1 IS NULL))',
    'list_bool_or(list_transform(json_extract_string(event."j", \'$."l"[*]."k"\'), lambda x1: x1 = \'v\'))',
    "list_bool_or(list_transform(json_extract_string(event.\"j\", '$[*].\"k\"'), lambda x1: x1 = 'v'))",
    "list_bool_or(list_transform(json_extract_string(event.\"j\", '$.\"l\"[*][*]'), lambda x1: x1 = 'v'))",
    "json_extract_string(raw, '$.\"a\"') = 'abc'",
    'list_bool_or(list_transform(event."items", lambda x1: lower(x1."id") = \'i1\'))',
    'list_bool_or(list_transform(event."items", lambda x1: x1."kind" IS NULL))',
]
EVENTS: list[Any] = [
    {"a": "abc", "b": {"c": "x"}},
    {"a": "ABC", "b": {"c": "ABC"}},
    {"a": "a%c", "b": {"c": None}},
    {"a": "a_", "b": "flat"},
    {"a": "axc\nq"},
    {"a": "abbbc", "b": {"c": "bb"}},
    {"a": "x.y"},
    {"a": ""},
    {"a": None, "b": None},
    {},
    {"j": {"k": "v", "l": ["v", None, "w"]}},
    {"j": {"k": "w", "l": [{"k": "v"}, {"m": 1}, None]}},
    {"j": {"k": {"m": "v"}, "l": [["v"], ["x", "y"]]}},
    {"j": [{"k": "v"}, {"k": "w"}]},
    {"j": {"l": []}},
    {"j": {"l": [None]}},
    {"j": {"l": "v"}},
    {"j": None},
    {"j": "text"},
    {"items": [{"id": "I1"}, None, {"id": "i2", "kind": "k"}]},
    {"items": []},
    {"items": None},
    {"items": [{"kind": "k"}]},
    {"a": 5, "j": {"k": 5, "l": [5]}},
    {"a": "caf\u00e9"},
    {"items": ["text"]},
    {"items": {"id": "i1"}},
    {"a": 5},
    {"a": True},
    {"a": {"k": "v"}},
    {"a": 1.5},
    {"a": [1, 2.5]},
    {"j": 1.5},
    {"j": True},
    {"j": 12},
    {"j": {"s": "caf\u00e9"}},
    {"j": {"k": "v", "n": [1, None, False, {"x": "y z"}]}},
    {"j": {"k": "tab\there"}},
    {"j": {"k": 1e16, "l": [1e16]}},
]


def test_hand_made_expressions_get_the_same_truth_both_ways() -> None:
    lines = [json.dumps(event) for event in EVENTS]
    answered, true, unsure = _compare(lines, EXPRESSIONS, STRUCTURE)
    assert true >= 20
    assert unsure > 0
    assert answered > 5 * unsure


@pytest.mark.parametrize(
    "expression",
    [
        "regexp_matches(event.\"a\", '\\s')",  # Python's \s also takes \v and \x1c-\x1f
        "regexp_matches(event.\"a\", 'a{,2}')",  # RE2 reads {,2} literally
        "regexp_matches(event.\"a\", '[[:alpha:]]')",  # POSIX classes
        "regexp_matches(event.\"a\", 'a(?=b)')",
        'json_extract(event."j", \'$."k"\') IS NULL',
        "lower(raw) = 'x'",  # the line as the sender spelt it: Python does not keep it
        'event."b" IS NULL',  # a struct read whole
        "event.\"nope\" = 'x'",  # not in the structure: DuckDB refuses to bind it
        'TRY_CAST(event."a" AS BIGINT) > 5',
        "event.\"a\" LIKE 'x' ESCAPE '!'",
        'list_filter(event."items", lambda x1: x1."id" = \'a\') IS NULL',
        "event.\"a\" = 'x' garbage",
    ],
)
def test_sql_outside_the_known_dialect_has_no_python_flag(expression: str) -> None:
    assert python_flag(expression, STRUCTURE) is None


@pytest.mark.parametrize(
    "line",
    [
        '{"a": "x", "a": "y"}',
        '{"a": NaN}',
        '{"a": 1e999}',
        '{"a": "\\ud800"}',
        '{"a": 1,}',
        '{"a": ' + "9" * 400 + "}",
        '{"a": {"b": 1, "b": 2}}',  # a repeated key deeper down
        '{"a": [1, 25e307]}',  # beyond the double range
    ],
)
def test_lines_the_two_readers_may_read_otherwise_are_refused(line: str) -> None:
    with pytest.raises((Unsure, ValueError)):
        list(line_events(line, None))


def test_numbers_and_their_look_alikes_in_text_are_read_as_json_reads_them() -> None:
    """Text that looks like numbers, and numbers of every ordinary kind, are read (not refused)."""
    line = (
        '{"eventID": "a3e123f4-5e678", "arn": "x-3e123", "n": [0, -0, 12, -7, 18446744073709551615, '
        '1.5, 1e5, 2.5E-3, 1e99, 123456789012345678901234567890], "s": "e308 and 1e999"}'
    )
    assert load_line(line) == json.loads(line)


def test_counts_per_file_are_the_events_matched_and_none_when_unsure() -> None:
    rules = [
        (3, CompiledRule(None, "t", "cloudtrail", "", "lower(event.\"eventName\") = 'a'", "")),
        (5, CompiledRule(None, "u", "cloudtrail", "", "event.\"eventName\" = 'nothing'", "")),
    ]
    files = [(0, [{"eventName": "A"}, {"eventName": "a"}, {}]), (1, [{"eventName": "b"}])]
    assert text_counts(files, rules, CLOUDTRAIL) == {(3, 0): 2}
    assert text_counts([(0, [{"eventName": 1.5}])], rules, CLOUDTRAIL) is None  # DuckDB spells fractions its way
    outside = [(1, CompiledRule(None, "v", "cloudtrail", "", 'TRY_CAST(event."eventName" AS INT) > 1', ""))]
    assert text_counts(files, outside, CLOUDTRAIL) is None


def test_a_tiny_hunt_never_loads_the_engine(tmp_path: Path) -> None:
    """A hunt over a few events, all its rules answered in Python: the engine is neither imported nor
    started, and the findings are the DuckDB scan's (checked against it in the same test)."""
    from mantissa_log.cli.paths import rule_files
    from mantissa_log.services.detection.hunt import hunt

    events = tmp_path / "capture.jsonl"
    names = ("StopLogging", "DeleteTrail", "ConsoleLogin", "CreateAccessKey", "ModifySnapshotAttribute", "DeleteBucket")
    records = [r for name in names for r in [r for r in corpus_records() if r.get("eventName") == name][:2]]
    events.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    cache = tmp_path / "cache"
    with mock.patch.object(hunt_module, "text_counts", return_value=None):  # the DuckDB scan's answer
        expected = hunt(rule_files([RULES]), [events], None, cache)  # and the rules compiled, as a warm hunt has them
    assert len(expected) >= 2
    program = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from mantissa_log.services.detection.hunt_database import start_hunt_database\n"
        "database = start_hunt_database(['--rules', sys.argv[1], '--events', sys.argv[2]])\n"
        "from mantissa_log.cli.paths import rule_files\n"
        "from mantissa_log.services.detection.hunt import hunt\n"
        "found = hunt(rule_files([Path(sys.argv[1])]), [Path(sys.argv[2])], None, Path(sys.argv[3]), database)\n"
        "print(json.dumps([[f.rule_file, f.matches] for f in found]))\n"
        "print('_duckdb' in sys.modules, database.started)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(RULES), str(events), str(cache)], capture_output=True, text=True, check=True
    )
    findings, loaded = done.stdout.splitlines()
    assert loaded == "False False"
    assert json.loads(findings) == [[f.rule_file, f.matches] for f in expected]


def test_a_tiny_input_in_other_layouts_is_counted_in_python_as_duckdb_counts_it(tmp_path: Path) -> None:
    """Pretty-printed deliveries and JSON arrays take the careful way (the source's parser, then DuckDB);
    tiny, they are counted in Python from the same parsed events, and the database is never started."""
    from mantissa_log.lake.detect.hunt import hunt_files
    from mantissa_log.lake.detect.pending import PendingDatabase

    records = corpus_records()
    delivery = tmp_path / "delivery.json"
    delivery.write_text(json.dumps({"Records": records[:150]}, indent=2), encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records[150:300], indent=1), encoding="utf-8")
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(json.dumps(record) + "\n" for record in records[300:400]), encoding="utf-8")
    rules = [(rule, path) for path in sorted(RULES.glob("aws_*.yml")) for rule in compile_sigma(path.read_text())]
    compiled = [rule for rule, _ in rules]
    database = PendingDatabase(start=False)
    found = hunt_files(compiled, [delivery, array, lines], database=database)
    assert not database.started
    with mock.patch.object(hunt_module, "text_counts", return_value=None):  # the DuckDB way's answer
        expected = hunt_files(compiled, [delivery, array, lines])
    assert found == expected
    assert {match.events_file.name for match in found} == {"delivery.json", "array.json", "lines.jsonl"}

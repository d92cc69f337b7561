"""The hunting engine: every layout of file, each file read as its own sources, counts equal to the
lake's own evaluation of the same rules over the same parsed events (the oracle)."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import parse
from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.lake.detect import hunt_inputs, hunt_lines
from mantissa_log.lake.detect.duckdb_engine import load_memory_table, match_events
from mantissa_log.lake.detect.hunt import hunt_files
from mantissa_log.lake.detect.hunt_inputs import SMALL_FILE_BYTES
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.cache import CompiledRuleCache
from mantissa_log.sigma.compiled import CompiledRule
from tests.lake.conftest import EVENTS, corpus_records

RULES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "rules"
AWS = [path for path in sorted(RULES.glob("aws_*.yml"))]


def oracle(rules: list[CompiledRule], path: Path, source: str) -> dict[int, int]:
    """Matches per rule index by the lake's own evaluation (WHERE predicate) of the parsed events."""
    events = parse(source, path.read_bytes()).events
    found = {}
    with duckdb.connect() as con:
        table = load_memory_table(con, "oracle", SOURCES[source].structure_json(), [e.raw for e in events])
        for index, rule in enumerate(rules):
            matched = match_events(con, table, rule)
            if matched:
                found[index] = len(matched)
    return found


@pytest.fixture(autouse=True, params=["small inputs' way", "big inputs' way"])
def input_size_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test both ways: as small inputs go (files held whole, lines handed to DuckDB as a
    parameter, the rules scanned in two halves at once) and as big ones do (files over 1 MiB read in
    chunks and never held, DuckDB reading the files, one scan for all rules, no gate pass: beyond
    HELD_BYTES, HANDED_BYTES, SPLIT_BYTES, GATE_BYTES, TINY_BYTES and ROUTED_BYTES). A small input of up to TINY_BYTES
    (the corpus' 728 events are just under) is answered in Python when it can be (`text_scan`)."""
    if request.param == "big inputs' way":
        monkeypatch.setattr(hunt_inputs, "HELD_BYTES", 0)
        monkeypatch.setattr(hunt_lines, "HANDED_BYTES", 0)
        monkeypatch.setattr(hunt_module, "SPLIT_BYTES", 0)
        monkeypatch.setattr(hunt_module, "GATE_BYTES", 0)
        monkeypatch.setattr(hunt_module, "TINY_BYTES", 0)  # no hunt in Python (`text_scan`)
        monkeypatch.setattr(hunt_lines, "TINY_BYTES", 0)
        monkeypatch.setattr(hunt_lines, "ROUTED_BYTES", 0)  # not even of the lines worth reading (`text_lines`)


@pytest.fixture(scope="module")
def aws_rules() -> list[CompiledRule]:
    return [rule for path in AWS for rule in compile_sigma(path.read_text())]


def test_every_layout_counts_as_the_lake_does(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    records = corpus_records()
    # A key named like the envelope inside an ordinary event must not hide it.
    records[0] = records[0] | {"requestParameters": {"maxRecords": 100, "Records": "not an envelope"}}
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records) + "not json at all\n\n")
    envelope = tmp_path / "delivery.json.gz"
    envelope.write_bytes(gzip.compress(json.dumps({"Records": records[:200]}).encode()))
    envelope_lines = tmp_path / "envelopes.jsonl"
    envelope_lines.write_text(json.dumps({"Records": records[200:400]}) + "\n" + json.dumps(records[400]) + "\n")
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records[:300], indent=2))
    files = [lines, envelope, envelope_lines, array]
    found = hunt_files(aws_rules, files)
    for path in files:
        got = {m.rule_index: m.matches for m in found if m.events_file == path}
        assert got == oracle(aws_rules, path, "cloudtrail"), path.name
    assert any(m.events_file == lines for m in found)


def test_files_are_read_only_as_the_sources_they_are(tmp_path: Path) -> None:
    okta_rule = compile_sigma(
        "title: any okta\nlogsource: {product: okta, service: okta}\n"
        "detection: {sel: {eventType|contains: ''}, condition: sel}\n"
    )
    cloudtrail_rule = compile_sigma(
        "title: any call\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventType: AwsApiCall}, condition: sel}\n"
    )
    trail = tmp_path / "trail.jsonl"
    trail.write_text("".join(json.dumps(r) + "\n" for r in corpus_records(50)))
    okta = tmp_path / "okta.jsonl"
    okta.write_text(json.dumps({"uuid": "u1", "eventType": "user.session.start", "published": "2026-03-01T09:00:00Z"}))
    found = hunt_files([*okta_rule, *cloudtrail_rule], [trail, okta])
    by_rule = {(m.rule_index, m.events_file.name): m.matches for m in found}
    # CloudTrail events carry an `eventType` too, but no Okta `uuid`: not hunted as Okta.
    assert (0, "trail.jsonl") not in by_rule
    assert by_rule[(0, "okta.jsonl")] == 1
    assert by_rule[(1, "trail.jsonl")] == sum(1 for r in corpus_records(50) if r.get("eventType") == "AwsApiCall")


def test_a_file_no_rule_source_recognizes_is_named_not_silently_skipped(
    tmp_path: Path, aws_rules: list[CompiledRule]
) -> None:
    from mantissa_log.services.detection.hunt import hunt

    trail = tmp_path / "trail.jsonl"
    trail.write_text("".join(json.dumps(r) + "\n" for r in corpus_records(50)))
    okta = tmp_path / "okta.jsonl"
    okta.write_text(json.dumps({"uuid": "u1", "eventType": "user.session.start", "published": "2026-03-01T09:00:00Z"}))
    unread: list[Path] = []
    hunt_files(aws_rules, [trail, okta], unread=unread)
    assert unread == [okta]
    findings = hunt(AWS[:3], [trail, okta], None, tmp_path / "cache")
    notices = [f for f in findings if f.error is not None]
    assert [(f.rule_file, f.events_file) for f in notices] == [("", str(okta))]
    assert "not hunted" in (notices[0].error or "")
    assert "cloudtrail" in (notices[0].error or "")
    # Named by the caller, it is read as that source (and the notice is gone).
    assert not [f for f in hunt(AWS[:3], [trail, okta], "cloudtrail", tmp_path / "cache") if f.error is not None]


def test_the_corpus_gives_the_same_counts_per_file_as_the_lake(aws_rules: list[CompiledRule]) -> None:
    files = sorted(EVENTS.glob("*.jsonl"))[:60]
    found = hunt_files(aws_rules, files)
    for path in files:
        got = {m.rule_index: m.matches for m in found if m.events_file == path}
        assert got == oracle(aws_rules, path, "cloudtrail"), path.name


def test_the_compiled_rule_cache_answers_without_compiling_again(tmp_path: Path) -> None:
    cache = CompiledRuleCache(tmp_path / "cache")
    text = AWS[0].read_text()
    first = cache.compile(text)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1
    assert cache.compile(text) == first
    bad = "title: x\nlogsource: {product: mainframe}\ndetection: {sel: {a: 1}, condition: sel}\n"
    with pytest.raises(Exception, match="no log source") as refused:
        cache.compile(bad)
    with pytest.raises(type(refused.value), match="no log source"):
        cache.compile(bad)  # the refusal is cached too, with the same message
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2


def test_a_rule_file_is_cached_by_its_bytes_and_compiled_from_utf8(tmp_path: Path) -> None:
    # A hunt looks rule files up by their bytes (no decoding on a hit); on a miss it compiles their
    # UTF-8 text, Windows newlines included, and refuses bytes that are not UTF-8.
    cache = CompiledRuleCache(tmp_path / "cache")
    text = AWS[0].read_text(encoding="utf-8")
    windows = tmp_path / "windows.yml"
    windows.write_bytes(text.replace("\n", "\r\n").encode())
    expected = compile_sigma(text)
    assert cache.compile_file(windows) == expected
    assert cache.compile_file(windows) == expected  # from the cache this time
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(text.replace("title: ", "title: caf\xe9 ").encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        cache.compile_file(latin1)


def test_odd_lines_and_envelopes_count_as_the_lake_does(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    # Read in one streaming pass (DuckDB reads, checks and scans the lines): every odd line must be
    # treated as the parsers treat it.
    records = corpus_records(120)
    odd = [
        json.dumps({"Records": []}),
        json.dumps({"Records": ["not an event", 7, records[0]]}),
        json.dumps({"Records": "a string, so an ordinary event"}),
        "[1, 2, 3]",
        '{"eventName": "CreateUser", broken',
        json.dumps(records[1]) + " trailing words",
        "",
        "   ",
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join([*(json.dumps(r) for r in records[2:]), *odd]) + "\n")
    found = hunt_files(aws_rules, [path])
    assert {m.rule_index: m.matches for m in found} == oracle(aws_rules, path, "cloudtrail")
    assert found  # the corpus records fire some rules


def test_a_rule_failing_at_run_time_does_not_hide_the_others(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    path = tmp_path / "trail.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in corpus_records()))
    expected = {m.rule_index: m.matches for m in hunt_files(aws_rules, [path])}
    # A cast that fails on the first event name: the single scan fails, each rule is then run alone.
    failing = aws_rules[0]._replace(flag_expression='CAST(event."eventName" AS INTEGER) = 1')
    found = hunt_files([failing, *aws_rules[1:]], [path])
    assert {m.rule_index: m.matches for m in found} == {i: n for i, n in expected.items() if i != 0}
    assert len(expected) > 1


def test_small_and_big_files_read_together_count_as_the_lake_does(
    tmp_path: Path, aws_rules: list[CompiledRule]
) -> None:
    # Small files are read whole and split, big ones by DuckDB's CSV reader: one scan over both must
    # give each line to its own file.
    records = corpus_records()
    # `"maxRecords":` names no envelope: without any `"Records":` member the lines are not unnested.
    records[0] = records[0] | {"requestParameters": {"maxRecords": 100}}
    big = tmp_path / "big.jsonl"
    lines = "".join(json.dumps(r) + "\n" for r in records)
    big.write_text(lines * (1 + SMALL_FILE_BYTES // len(lines)))
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r) + "\n" for r in records[:150]) + "not json\n")
    envelopes = tmp_path / "envelopes.jsonl"
    envelopes.write_text(json.dumps({"Records": records[150:300]}) + "\n")
    assert big.stat().st_size > SMALL_FILE_BYTES >= small.stat().st_size
    for files in ([big, small], [big, small, envelopes]):
        found = hunt_files(aws_rules, files)
        for path in files:
            got = {m.rule_index: m.matches for m in found if m.events_file == path}
            assert got == oracle(aws_rules, path, "cloudtrail"), path.name
            assert got, path.name  # the corpus records fire some rules in every file


def test_the_cache_key_names_the_installed_pysigma() -> None:
    # A pySigma upgrade must start a fresh cache: its version is read from the install's dist-info
    # folder (no importlib.metadata at hunt start), and must be the version pip reports.
    from importlib import metadata

    from mantissa_log.sigma.cache import _pysigma_version

    assert _pysigma_version() == metadata.version("pysigma") != ""


def test_an_envelope_line_longer_than_the_sniffed_head_is_hunted(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    # A CloudTrail delivery is one line {"Records": [...]} of several MB, often gzipped: its first
    # record must be found past the sniffed head, and the line read whole (not lost, not skipped).
    records = corpus_records()
    line = json.dumps({"Records": records * (1 + 3 * SMALL_FILE_BYTES // len(json.dumps(records)))})
    assert len(line) > 3 * SMALL_FILE_BYTES  # longer than the sniffed head and DuckDB's default line
    plain = tmp_path / "delivery.json"
    plain.write_text(line + "\n" + json.dumps({"Records": records[:50]}) + "\n")
    zipped = tmp_path / "delivery.json.gz"
    zipped.write_bytes(gzip.compress(line.encode()))
    found = hunt_files(aws_rules, [plain, zipped])
    for path in (plain, zipped):
        got = {m.rule_index: m.matches for m in found if m.events_file == path}
        assert got == oracle(aws_rules, path, "cloudtrail"), path.name
        assert got, path.name


def test_a_pretty_printed_delivery_over_a_mib_is_hunted_as_cloudtrail(
    tmp_path: Path, aws_rules: list[CompiledRule]
) -> None:
    # A delivery downloaded and pretty-printed: one document over the generic reader's 1 MiB event cap.
    # Its source must still be found (from the document's first record), not the file left unhunted.
    records = corpus_records()
    document = json.dumps({"Records": records * 2}, indent=2)
    assert len(document) > 1 << 20
    pretty = tmp_path / "delivery.json"
    pretty.write_text(document)
    found = hunt_files(aws_rules, [pretty])
    got = {m.rule_index: m.matches for m in found if m.events_file == pretty}
    assert got
    assert got == oracle(aws_rules, pretty, "cloudtrail")


def test_gzip_files_count_as_the_lake_does_even_when_damaged(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    # A gzip file is inflated and read by DuckDB as JSON lines; a damaged one (truncated) or one that
    # is not JSON lines goes to the parsers, which keep what precedes the damage, as ingest does.
    records = corpus_records()
    lines = "".join(json.dumps(r) + "\n" for r in records).encode()
    whole = tmp_path / "lines.jsonl.gz"
    whole.write_bytes(gzip.compress(lines))
    members = tmp_path / "members.jsonl.gz"  # two gzip members, as concatenated deliveries are
    half = len(lines) // 2
    cut = lines.rfind(b"\n", 0, half) + 1
    members.write_bytes(gzip.compress(lines[:cut]) + gzip.compress(lines[cut:]))
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(lines)[: len(gzip.compress(lines)) * 2 // 3])
    array = tmp_path / "array.json.gz"
    array.write_bytes(gzip.compress(json.dumps(records[:200], indent=1).encode()))
    files = [whole, members, truncated, array]
    found = hunt_files(aws_rules, files)
    for path in files:
        got = {m.rule_index: m.matches for m in found if m.events_file == path}
        assert got == oracle(aws_rules, path, "cloudtrail"), path.name
        assert got, path.name
    assert {m.events_file for m in found} == set(files)  # findings name the files as given


def test_a_file_that_is_not_utf8_counts_as_the_lake_does(tmp_path: Path, aws_rules: list[CompiledRule]) -> None:
    # A line of Latin-1 bytes among JSON lines: the hunt must neither fail nor drop the file's other
    # events, whichever way its lines reach DuckDB; the parsers decide about that line, as ingest does.
    records = corpus_records()
    path = tmp_path / "latin1.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in records[:200]).encode()
    path.write_bytes(good + b'{"eventName": "caf\xe9"}\n' + good)
    got = {m.rule_index: m.matches for m in hunt_files(aws_rules, [path])}
    assert got == oracle(aws_rules, path, "cloudtrail")
    assert got


def test_inflated_gzip_inputs_leave_nothing_behind(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gzip input is inflated into the hunt's own scratch folder, which goes when the hunt ends.
    import tempfile

    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    zipped = tmp_path / "trail.jsonl.gz"
    zipped.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in corpus_records()).encode()))
    got = {m.rule_index: m.matches for m in hunt_files(aws_rules, [zipped])}
    assert got == oracle(aws_rules, zipped, "cloudtrail")
    assert got
    assert list(scratch_root.iterdir()) == []


def test_an_unexpected_error_in_a_scan_reaches_the_caller(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whether the rules are scanned in one query or in two halves on two threads, an error that is
    # not DuckDB refusing the query is raised to the caller, never swallowed into "no matches".
    path = tmp_path / "trail.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in corpus_records()))
    real = hunt_module._scan_together
    failures = ["disk on fire"]  # the first scan fails, whichever thread runs it; later ones work

    def failing(*args: Any, **kwargs: Any) -> object:
        with contextlib.suppress(IndexError):
            raise RuntimeError(failures.pop())
        return real(*args, **kwargs)

    monkeypatch.setattr(hunt_module, "_scan_together", failing)
    monkeypatch.setattr(hunt_module, "text_counts", lambda *_: None)  # DuckDB scans even a tiny input
    with pytest.raises(RuntimeError, match="disk on fire"):
        hunt_files(aws_rules, [path])


def test_big_files_of_every_layout_count_as_the_lake_does_and_take_the_right_reader(
    tmp_path: Path, aws_rules: list[CompiledRule]
) -> None:
    # Files over 1 MiB, each hunted alone: whether held whole or read in chunks, each must reach the
    # reader that can read it (DuckDB's for JSON lines, its envelopes unnested; the parsers otherwise).
    records = corpus_records()
    repeats = 1 + SMALL_FILE_BYTES // len(json.dumps(records))
    lines = [json.dumps(r) for r in records] * repeats
    envelopes = [json.dumps({"Records": records[i : i + 40]}) for i in range(0, len(records), 40)] * repeats
    files = {
        "crlf.jsonl": ("\r\n".join(lines) + "\r\n", False),
        "array.json": (json.dumps(records * repeats), False),
        "blank_first.jsonl": ("\n \n" + "\n".join(lines), True),
        "envelopes.jsonl": ("\n".join(envelopes) + "\n", True),
        "no_final_newline.jsonl": ("\n".join(lines), True),
        "one_envelope_line.json": (json.dumps({"Records": records * repeats}), True),
        "lines.jsonl.gz": ("\n".join(lines), True),  # inflated into the hunt's scratch folder
    }
    for name, (text, json_lines) in files.items():
        path = tmp_path / name
        path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
        assert len(text) > SMALL_FILE_BYTES
        scratch = hunt_inputs.Scratch()
        try:
            assert hunt_inputs.read_events_files([path], scratch)[0].lines is json_lines, name
        finally:
            scratch.remove()
        got = {m.rule_index: m.matches for m in hunt_files(aws_rules, [path])}
        assert got == oracle(aws_rules, path, "cloudtrail"), name
        assert got, name

"""The gate pass in Python (`lake.detect.text_gates`) finds exactly the values DuckDB's pass finds, or
gives up: a value it missed could make a hunt skip a rule that matches."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import sql
from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.lake.detect import hunt_lines
from mantissa_log.lake.detect.hunt_inputs import Scratch, read_events_files
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_gates import read_paths, text_gate_values
from mantissa_log.sigma import compile_sigma
from tests.lake.conftest import corpus_records
from tests.lake.test_hunt import AWS
from tests.samples import sample_records

STRUCTURE = SOURCES["cloudtrail"].structure
SOURCE = 'event."eventSource"'
NAME = 'event."eventName"'
KIND = 'event."userIdentity"."type"'
ISSUER = 'event."userIdentity"."sessionContext"."sessionIssuer"."type"'
READS = [KIND, NAME, SOURCE, ISSUER, 'event."userAgent"', 'event."errorCode"']


def _duckdb_values(texts: list[str], reads: list[str], source: str, envelope: str | None) -> dict[str, set[str]] | None:
    """What the hunt's DuckDB pass finds for these texts, as files read by the hunt's own reader."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"{number}.jsonl" for number in range(len(texts))]
        for path, text in zip(paths, texts, strict=True):
            path.write_text(text, encoding="utf-8")
        scratch = Scratch()
        try:
            inputs = list(enumerate(read_events_files(paths, scratch)))
            lines = hunt_lines.Lines(inputs, envelope, [], source, PendingDatabase(start=False))
            structure = sql.needed_structure(SOURCES[source].structure, reads)
            with duckdb.connect() as con:
                return hunt_module._duckdb_gate_values(con, lines, reads, structure)
        finally:
            scratch.remove()


def _both(texts: list[str], reads: list[str] = READS, source: str = "cloudtrail", envelope: str | None = None) -> Any:
    structure = sql.needed_structure(SOURCES[source].structure, reads)
    return text_gate_values(texts, reads, structure, envelope), _duckdb_values(texts, reads, source, envelope)


def _lines(records: list[Any]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_the_corpus_gives_the_same_values_both_ways() -> None:
    records = corpus_records()
    ours, theirs = _both([_lines(records[:2000]), _lines(records[2000:])])
    assert ours == theirs
    assert len(ours[NAME]) > 100  # a real comparison: hundreds of event names


def test_every_gate_read_of_the_aws_rules_is_a_text_leaf() -> None:
    rules = [rule for path in AWS for rule in compile_sigma(path.read_text())]
    reads = sorted({test[0] for rule in rules for clause in rule.gates for test in clause})
    assert len(reads) >= 3
    assert read_paths(reads, STRUCTURE) is not None


def test_other_sources_samples_give_the_same_values_both_ways() -> None:
    sources = ("azure_activity", "azure_audit", "azure_signin", "google_workspace", "guardduty", "kubernetes", "m365")
    for source in sources:
        records = sample_records(source)
        # Top-level text fields the samples hold as ASCII text (a number or other text: the pass gives up).
        reads = [
            f'event."{key}"'
            for key, node in SOURCES[source].structure.items()
            if node == "VARCHAR"
            and all(isinstance(r.get(key), str | None) and str(r.get(key) or "").isascii() for r in records)
        ]
        ours, theirs = _both([_lines(records)], reads, source)
        assert len(reads) >= 3, source
        assert ours is not None, source
        assert ours == theirs, source


# Spellings both readers agree on: absent keys, nulls, non-objects on the way, skipped lines, escapes
# that stay ASCII, upper case, envelopes (non-object members skipped; a Records that is not a list
# leaves the line an event).
AGREED = [
    '{"eventSource": "IAM.amazonaws.COM", "eventName": null, "userIdentity": null}',
    '{"eventName": "Create\\u0055ser", "userIdentity": "Root"}',
    '{"userIdentity": ["x"], "eventName": "A"}',
    '{"userIdentity": 7, "errorCode": "AccessDenied"}',
    '{"userIdentity": true, "userAgent": "aws-cli/2.0"}',
    '{"userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"type": "Role"}}}}',
    '{"userIdentity": {"sessionContext": "flat"}}',
    ' {"eventName": "LeadingSpaceSkipped"}',
    "not json at all, and not an object",
    "",
    '{"Records": [{"eventName": "InEnvelope"}, "text member", 5, {"eventSource": "s3.amazonaws.com"}]}',
    '{"Records": {"eventName": "NotAList"}, "eventName": "TheLineItself"}',
    '{"Records": [], "eventName": "EmptyEnvelope"}',
    '{"eventName": "Crlf"}\r',
    '{"eventName": "OtherTextIsNotRead", "requestParameters": {"bucketName": "café-\u212a"}}',
    # Booleans and integers where text is typed: DuckDB writes them as Python does.
    '{"eventSource": 12, "userAgent": true, "errorCode": false}',
    '{"eventSource": -0, "userAgent": 18446744073709551615, "errorCode": -9223372036854775808}',
]


@pytest.mark.parametrize("envelope", [None, "Records"])
def test_unusual_spellings_give_the_same_values_both_ways(envelope: str | None) -> None:
    ours, theirs = _both(["\n".join(AGREED)], envelope=envelope)
    assert ours is not None
    assert ours == theirs
    assert "createuser" in ours[NAME]  # an escape decoded, then lowered


def test_envelope_members_are_the_events() -> None:
    ours, _ = _both(["\n".join(AGREED)], envelope="Records")
    assert ours is not None
    assert {"inenvelope", "thelineitself"} <= ours[NAME]
    assert "emptyenvelope" not in ours[NAME]


# Where Python and DuckDB may read differently, the Python pass gives up (the hunt then asks DuckDB).
UNSURE = {
    "a repeated key": '{"eventName": "ListBuckets", "eventName": "x"}',
    "a repeated key inside": '{"userIdentity": {"type": "Root", "type": "IAMUser"}}',
    "a Kelvin sign": '{"eventName": "Import\\u212aeyMaterial"}',
    "non-ASCII text": '{"eventName": "Café"}',
    "a fraction for text": '{"eventSource": 1.5}',
    "an integer beyond DuckDB's range": '{"eventSource": 18446744073709551616}',
    "an object for text": '{"eventName": {"n": "CreateUser"}}',
    "an array for text": '{"eventSource": ["iam.amazonaws.com"]}',
    "NaN": '{"eventName": "x", "n": NaN}',
    "a trailing comma": '{"eventName": "x",}',
    "a line Python cannot read": '{"eventName": ',
    "a NUL in text": '{"eventName": "a\\u0000b"}',
}


@pytest.mark.parametrize("line", list(UNSURE.values()), ids=list(UNSURE))
def test_what_python_may_read_otherwise_gives_up(line: str) -> None:
    assert text_gate_values(['{"eventName": "Fine"}\n' + line], READS, STRUCTURE, None) is None


def test_a_read_that_is_not_a_text_leaf_gives_up() -> None:
    assert read_paths(['event."userIdentity"'], STRUCTURE) is None  # an object
    assert read_paths(['event."resources"."ARN"'], STRUCTURE) is None  # through an array
    assert read_paths(['event."noSuchField"'], STRUCTURE) is None
    assert read_paths(['lower(event."eventName")'], STRUCTURE) is None
    assert read_paths([NAME, KIND], STRUCTURE) == [("eventName",), ("userIdentity", "type")]

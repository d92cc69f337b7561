"""Rule gates: what every event a rule matches holds. A gate may know too little (then a hunt plans the
rule anyway), never too much: a rule must never be skipped for an input holding an event it matches."""

from __future__ import annotations

import json

import duckdb
import pytest

from mantissa_log.sigma import CompiledRule, compile_sigma
from mantissa_log.sigma.compiled import Gate, from_data, gate_holds, to_data
from tests.lake.conftest import corpus_records
from tests.sigma.conftest import CORPUS
from tests.sigma.helpers import load_events, matching, rule


def gate(detection: str) -> Gate:
    [compiled] = compile_sigma(rule(detection))
    return compiled.gates


SOURCE = 'event."eventSource"'
NAME = 'event."eventName"'


def test_and_keeps_every_part_and_or_joins_one_clause_of_each() -> None:
    both = gate("""    selection:
        eventSource: iam.amazonaws.com
        eventName:
            - CreateUser
            - CreateAccessKey
    condition: selection""")
    assert both == (
        ((SOURCE, "eq", "iam.amazonaws.com"),),
        ((NAME, "eq", "createuser"), (NAME, "eq", "createaccesskey")),
    )
    either = gate("""    a:
        eventSource: sts.amazonaws.com
        eventName: AssumeRoleWithSAML
    b:
        eventSource: iam.amazonaws.com
        eventName: UpdateSAMLProvider
    condition: a or b""")
    assert either == (((SOURCE, "eq", "sts.amazonaws.com"), (SOURCE, "eq", "iam.amazonaws.com")),)


def test_wildcards_at_the_ends_give_prefix_suffix_and_contains_tests() -> None:
    found = gate("""    selection:
        eventName|startswith: UpdateFunction
        userAgent|contains: S3 Browser
        eventSource|endswith: .amazonaws.com
    condition: selection""")
    assert set(found) == {
        ((NAME, "prefix", "updatefunction"),),
        (('event."userAgent"', "contains", "s3 browser"),),
        ((SOURCE, "suffix", ".amazonaws.com"),),
    }


@pytest.mark.parametrize(
    "detection",
    [
        # an inner wildcard is a LIKE pattern, not a plain comparison
        "    selection:\n        eventName: Get*Token\n    condition: selection",
        "    selection:\n        eventName: Get?essionToken\n    condition: selection",
        # compared without lower(): the distinct lowered values cannot answer it
        "    selection:\n        eventName|cased: GetSessionToken\n    condition: selection",
        # a regular expression without three characters every match holds, or with a choice at its top
        "    selection:\n        eventName|re: '^Ge.*'\n    condition: selection",
        "    selection:\n        eventName|re: 'GetSession|Token'\n    condition: selection",
        # negated: the rule matches events lacking the value
        "    selection:\n        eventName: GetSessionToken\n    condition: not selection",
        # a field read from JSON text, not a struct leaf
        "    selection:\n        requestParameters.userName: admin\n    condition: selection",
        # keywords search the raw text
        "    keywords:\n        - trufflehog\n    condition: keywords",
        # one side of the OR knows nothing
        "    a:\n        eventName: GetSessionToken\n    b:\n        eventName|re: 'x'\n    condition: a or b",
        "    selection:\n        eventName|exists: true\n    condition: selection",
    ],
)
def test_what_no_plain_lowered_comparison_decides_gives_no_test(detection: str) -> None:
    assert gate(detection) == ()


def test_a_negated_part_leaves_the_others() -> None:
    found = gate("""    selection:
        eventSource: s3.amazonaws.com
        eventName: ListBuckets
    filter:
        userIdentity.type: AssumedRole
    condition: selection and not filter""")
    assert found == (((SOURCE, "eq", "s3.amazonaws.com"),), ((NAME, "eq", "listbuckets"),))


def test_gates_survive_the_compiled_rule_cache_as_tuples() -> None:
    [compiled] = compile_sigma(
        rule("    selection:\n        eventName: A\n        eventSource: b\n    condition: selection")
    )
    again = from_data(json.loads(json.dumps(to_data(compiled))))
    assert again == compiled
    assert isinstance(again.gates[0][0], tuple)


def test_gate_holds_answers_each_op_on_distinct_values() -> None:
    values = {NAME: frozenset({"getsessiontoken", "listbuckets"})}
    assert gate_holds(((("x", "eq", "a"),),), {"x": frozenset({"a"})})
    assert gate_holds((((NAME, "prefix", "getsession"),),), values)
    assert gate_holds((((NAME, "suffix", "buckets"),),), values)
    assert gate_holds((((NAME, "contains", "sessiont"),),), values)
    assert not gate_holds((((NAME, "eq", "getsession"),),), values)
    assert not gate_holds((((NAME, "eq", "listbuckets"),), ((SOURCE, "eq", "s3.amazonaws.com"),)), values)
    assert gate_holds((), {})  # nothing known: kept


# Events that match gated rules in unusual spellings: case, a Kelvin sign (lowered to `k` by DuckDB),
# a dotted İ, arrays and objects where text is expected, numbers, duplicate keys, missing fields.
ODD_EVENTS = [
    {"eventSource": "IAM.AMAZONAWS.COM", "eventName": "CreateUser", "userIdentity": {"type": "IAMUser"}},
    {"eventSource": "kms.amazonaws.com", "eventName": "Import\u212aeyMaterial"},
    {"eventSource": "sts.amazonaws.com", "eventName": "GetSess\u0130onToken", "userIdentity": {"type": "IAMUser"}},
    {"eventSource": ["iam.amazonaws.com"], "eventName": {"n": "CreateUser"}},
    {"eventSource": 12, "eventName": 1e3, "userAgent": True},
    {"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"},
    {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"},
    {"userIdentity": "Root"},
]
# DuckDB reads the first of a repeated key (lake.native's docstring), the gate pass as the rules do.
DUPLICATE_KEYS = '{"eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "eventName": "x"}'


def _corpus_rules() -> list[CompiledRule]:
    compiled = []
    for path in sorted((CORPUS / "rules").glob("aws_*.yml")):
        compiled += compile_sigma(path.read_text())
    return compiled


def test_no_event_a_rule_matches_fails_its_gate_corpus_and_odd_events() -> None:
    raws = [json.dumps(record) for record in corpus_records()]
    raws += [json.dumps(event) for event in ODD_EVENTS] + [DUPLICATE_KEYS]
    rules = _corpus_rules()
    assert sum(1 for compiled in rules if compiled.gates) >= 50  # most AWS rules have a gate to check
    with duckdb.connect() as con:
        load_events(con, "t", "cloudtrail", raws)
        reads = sorted({test[0] for compiled in rules for clause in compiled.gates for test in clause})
        columns = ", ".join(f"lower({read})" for read in reads)
        per_event = {row[0]: row[1:] for row in con.execute(f"SELECT n, {columns} FROM t").fetchall()}  # noqa: S608
        matched_any = 0
        for compiled in rules:
            for n in matching(con, "t", compiled):
                values = {read: frozenset([value]) for read, value in zip(reads, per_event[n], strict=True) if value}
                assert gate_holds(compiled.gates, values), (compiled.title, raws[n][:200])
                matched_any += 1
    assert matched_any > 100  # the property was checked on real matches


def test_the_odd_spellings_do_match_the_rules_whose_gates_they_pass() -> None:
    # The property above is only worth something if the odd events really match gated rules.
    titles = {compiled.title: compiled for compiled in _corpus_rules()}
    with duckdb.connect() as con:
        load_events(con, "t", "cloudtrail", [json.dumps(event) for event in ODD_EVENTS] + [DUPLICATE_KEYS])
        assert matching(con, "t", titles["AWS KMS Imported Key Material Usage"]) == [1]  # the Kelvin sign
        assert matching(con, "t", titles["AWS IAM Backdoor Users Keys"]) == []  # CreateUser is not CreateAccessKey
        assert matching(con, "t", titles["AWS ConsoleLogin Failed Authentication"]) == [5]
        assert matching(con, "t", titles["AWS Root Credentials"]) == [6]
        assert matching(con, "t", titles["Potential Bucket Enumeration on AWS"]) == [8]  # a repeated key


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("^Get.*", "get"),
        (".+:assumed-role/aws:.+", ":assumed-role/aws:"),
        ("(?i)^AKIA[0-9A-Z]{16}$", None),  # inline flags: not read
        ("[a-z]+\\.exe$", ".exe"),
    ],
)
def test_a_regular_expression_gives_the_text_every_match_contains(pattern: str, needle: str | None) -> None:
    """`regexp_matches` holds only where the field contains the regex's needle (`regex_needle`)."""
    found = gate(f"    selection:\n        eventName|re: '{pattern}'\n    condition: selection")
    expected = ((('event."eventName"', "contains", needle),),) if needle else ()
    assert found == expected

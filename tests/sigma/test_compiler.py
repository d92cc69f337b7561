"""The public API: sources, refusals with reasons, correlations."""

from __future__ import annotations

import json

import duckdb
import pytest
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from mantissa_log.errors import ValidationFailed
from mantissa_log.sigma import CompiledRule, RuleCompileError, compile_sigma, compile_sigma_rule
from tests.sigma.helpers import load_events, matching, rule, run

UNSUPPORTED = "product: windows\n    service: security"


def refusal(yaml_text: str, source: str | None = None) -> RuleCompileError:
    with pytest.raises(RuleCompileError) as caught:
        compile_sigma(yaml_text, source=source)
    return caught.value


def test_compiled_rule_fields() -> None:
    [compiled] = compile_sigma(rule("    sel:\n        eventName: X\n    condition: sel", title="My Rule"))
    assert isinstance(compiled, CompiledRule)
    assert compiled.rule_id == "0b5e1b4a-1111-4222-8333-444455556666"
    assert (compiled.title, compiled.source, compiled.correlation) == ("My Rule", "cloudtrail", None)


def test_compile_sigma_rule_accepts_a_parsed_rule() -> None:
    parsed = SigmaCollection.from_yaml(rule("    sel:\n        eventName: X\n    condition: sel")).rules[0]
    assert isinstance(parsed, SigmaRule)
    assert compile_sigma_rule(parsed).predicate == """COALESCE(lower(event."eventName") = 'x', false)"""
    # The parsed rule is not changed by compiling it (pipelines run on a copy).
    assert compile_sigma_rule(parsed, "json").predicate.startswith("(COALESCE(lower(json_extract_string(raw,")


def test_unknown_logsource_needs_an_explicit_source() -> None:
    text = rule("    sel:\n        EventID: 4624\n    condition: sel", logsource=UNSUPPORTED)
    error = refusal(text)
    assert isinstance(error, ValidationFailed)
    assert error.field == "logsource"
    assert "product=windows service=security" in error.message
    [compiled] = compile_sigma(text, source="json")
    assert compiled.source == "json"


def test_unknown_source_name() -> None:
    error = refusal(rule("    sel:\n        eventName: X\n    condition: sel"), source="nope")
    assert error.field == "source"
    assert "nope" in error.message


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        ("^(?=.*admin).*$", "look-ahead"),
        ("(?<!x)admin", "negative look-behind"),
        ("(a)\\1", "back-reference \\1"),
        ("(?P<n>a)(?P=n)", "named back-reference"),
        ("(?>ab)c", "atomic group"),
        ("a++b", "possessive quantifier"),
        ("a{1,5000}", "RE2 rejects"),  # no named construct: DuckDB's own verdict is quoted
    ],
)
def test_re2_incompatible_regex_is_refused_naming_rule_and_construct(regex: str, construct: str) -> None:
    text = rule(f"    sel:\n        userAgent|re: '{regex}'\n    condition: sel", title="Lookaround Rule")
    error = refusal(text)
    assert "rule 'Lookaround Rule'" in error.message
    assert construct in error.message
    assert "RE2" in error.message
    assert error.field == "userAgent"


def test_refusals_carry_the_line_when_it_can_be_found() -> None:
    detection = "    sel:\n        eventName: X\n    filter:\n        userAgent|re: '(?=x)'\n"
    text = rule(detection + "    condition: sel and not filter")
    error = refusal(text)
    assert error.line is not None
    assert "userAgent|re" in text.splitlines()[error.line - 1]
    unknown = refusal(rule("    sel:\n        eventName|foo: X\n    condition: sel"))
    assert "Unknown modifier 'foo'" in unknown.message
    assert unknown.line is not None
    assert str(unknown).endswith(f"(field 'rule', line {unknown.line})")


def test_ipv6_cidr_is_refused() -> None:
    error = refusal(rule("    sel:\n        sourceIPAddress|cidr: 'fd00::/8'\n    condition: sel"))
    assert "IPv6" in error.message
    assert error.field == "sourceIPAddress"


def test_invalid_yaml_and_invalid_sigma() -> None:
    error = refusal("title: x\ndetection: [unclosed\n")
    assert error.field == "rule"
    assert error.line is not None
    assert "YAML" in error.message
    assert refusal("title: x\nlogsource: {product: aws}\n").field == "rule"
    assert "no Sigma rule" in refusal("").message
    for not_a_rule in ("hello", "- a\n- b", "42"):
        assert refusal(not_a_rule).field == "rule"


def test_undefined_placeholder_is_refused() -> None:
    error = refusal(rule("    sel:\n        userAgent|expand: '%agents%'\n    condition: sel"))
    assert "placeholder" in error.message


CORRELATION = """
title: Console login failure
name: console_login_failure
id: 9c0f4f25-0000-4000-8000-000000000001
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection
---
title: Many console login failures
id: 9c0f4f25-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules:
        - console_login_failure
    group-by:
        - userIdentity.userName
        - sourceIPAddress
    timespan: 10m
    condition:
        gte: 3
    {generate}
level: high
"""


def test_event_count_correlation() -> None:
    [compiled] = compile_sigma(CORRELATION.format(generate=""))  # the base rule is not generated alone
    corr = compiled.correlation
    assert corr is not None
    assert (compiled.title, compiled.source, compiled.rule_id) == (
        "Many console login failures",
        "cloudtrail",
        "9c0f4f25-0000-4000-8000-000000000002",
    )
    assert corr.type == "event_count"
    assert corr.group_by == ('event."userIdentity"."userName"', 'event."sourceIPAddress"')
    assert corr.group_names == ("userIdentity.userName", "sourceIPAddress")
    assert (corr.timespan_seconds, corr.condition_op, corr.condition_count) == (600, "gte", 3)
    assert corr.rule_refs == ("console_login_failure",)
    # The correlation's predicate selects the base rule's events; its group-by runs as SQL.
    events = [
        {"eventName": "ConsoleLogin", "errorMessage": "Failed authentication", "userIdentity": {"userName": "bob"}}
    ] * 3 + [{"eventName": "ConsoleLogin", "userIdentity": {"userName": "bob"}}]
    con = duckdb.connect()
    load_events(con, "t", "cloudtrail", [json.dumps(e) for e in events])
    assert matching(con, "t", compiled) == [0, 1, 2]
    keys = ", ".join(corr.group_by)
    grouped = con.execute(
        f"SELECT {keys}, count(*) FROM t WHERE {compiled.predicate} GROUP BY {keys}"  # noqa: S608
    ).fetchall()
    assert grouped == [("bob", None, 3)]


def test_correlation_with_generate_returns_the_base_rule_too() -> None:
    compiled = compile_sigma(CORRELATION.format(generate="generate: true"))
    assert [c.title for c in compiled] == ["Console login failure", "Many console login failures"]
    assert compiled[0].correlation is None


def test_other_correlation_types_are_refused() -> None:
    text = CORRELATION.format(generate="").replace("type: event_count", "type: value_count")
    text = text.replace("gte: 3", "gte: 3\n        field: eventName")
    error = refusal(text)
    assert "value_count" in error.message
    assert "event_count" in error.message
    assert error.field == "correlation.type"


def test_correlation_over_rules_of_different_sources_is_refused() -> None:
    okta = """
title: Okta thing
name: okta_thing
logsource:
    product: okta
    service: okta
detection:
    selection:
        eventType: x
    condition: selection
---
"""
    text = okta + CORRELATION.format(generate="").replace(
        "- console_login_failure", "- console_login_failure\n        - okta_thing"
    )
    error = refusal(text)
    assert "different log sources" in error.message


def test_multiple_plain_rules_in_one_document() -> None:
    one = rule("    sel:\n        eventName: A\n    condition: sel", title="One")
    two = rule("    sel:\n        eventName: B\n    condition: sel", title="Two")
    compiled = compile_sigma(one + "---\n" + two)
    assert [c.title for c in compiled] == ["One", "Two"]


def test_keyword_rule_runs_on_generic_json_and_on_its_own_source() -> None:
    activity = "product: azure\n    service: activitylogs"
    text = rule("    keywords:\n        - roleAssignments/write\n    condition: keywords", logsource=activity)
    events = [{"operationName": "Microsoft.Authorization/roleAssignments/write"}, {"operationName": "x"}]
    assert run(text, events, source="json") == [0]
    assert run(text, events, source="azure_activity") == [0]


def test_correlation_group_by_goes_through_the_source_pipeline() -> None:
    text = """
title: GCP delete
name: gcp_delete
logsource:
    product: gcp
    service: gcp.audit
detection:
    selection:
        gcp.audit.method_name|endswith: .delete
    condition: selection
---
title: GCP delete burst
correlation:
    type: event_count
    rules: [gcp_delete]
    group-by: [data.protoPayload.authenticationInfo.principalEmail]
    timespan: 5m
    condition: {gte: 10}
"""
    [compiled] = compile_sigma(text)
    assert compiled.correlation is not None
    assert compiled.correlation.group_names == ("data.protoPayload.authenticationInfo.principalEmail",)
    assert compiled.correlation.group_by == (
        """json_extract_string(event."protoPayload"."authenticationInfo", '$."principalEmail"')""",
    )

"""The rule format: Mantissa fields typed, errors with field and line, Sigma left to pySigma."""

from __future__ import annotations

import pytest

from mantissa_log.domain.rule_document import parse_rule_document
from mantissa_log.errors import ValidationFailed

RULE = """\
title: Root console login
id: 0f2b8a47-1111-4c5d-9e0f-222233334444
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    userIdentity.type: Root
  condition: sel
level: high
schedule: rate(10 minutes)
threshold: 3
alert_destinations: [slack]
tests:
  - name: root
    match: true
    event: {eventName: ConsoleLogin, userIdentity: {type: Root}}
"""


def test_fields_are_split_and_typed() -> None:
    doc = parse_rule_document(RULE)
    assert doc.title == "Root console login"
    assert doc.rule_id == "0f2b8a47-1111-4c5d-9e0f-222233334444"
    assert doc.severity == "high"  # from the Sigma level
    assert doc.mantissa.threshold == 3
    assert doc.mantissa.alert_destinations == ["slack"]
    assert doc.mantissa.tests[0].event["userIdentity"] == {"type": "Root"}
    assert "tests" not in doc.documents[0]  # Sigma sees only Sigma
    assert doc.line_of("detection.sel.eventName") == 6


@pytest.mark.parametrize(
    ("change", "field", "line"),
    [
        ("threshold: 3", "threshold", 11),
        ("alert_destinations: [slack]", "alert_destinations.0", 12),
    ],
)
def test_bad_mantissa_fields_name_field_and_line(change: str, field: str, line: int) -> None:
    bad = {"threshold: 3": "threshold: 0", "alert_destinations: [slack]": "alert_destinations: [sms]"}[change]
    with pytest.raises(ValidationFailed) as info:
        parse_rule_document(RULE.replace(change, bad))
    assert info.value.field == field
    assert info.value.line == line


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ValidationFailed, match="YAML") as info:
        parse_rule_document(RULE.replace("  condition: sel", "  condition: [sel"))
    assert info.value.line is not None
    assert info.value.line >= 8


def test_severity_overrides_level_and_informational_maps_to_info() -> None:
    assert parse_rule_document(RULE + "severity: critical\n").severity == "critical"
    assert parse_rule_document(RULE.replace("level: high", "level: informational")).severity == "info"


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="mapping"):
        parse_rule_document("- a\n- b\n")
    with pytest.raises(ValidationFailed, match="empty"):
        parse_rule_document("")

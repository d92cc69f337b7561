"""Field resolution against source structures, RE2 screening, pipelines."""

from __future__ import annotations

import pytest
from sigma.rule import SigmaLogSource

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.sigma.backend_duckdb import re2_problem
from mantissa_log.sigma.fields import (
    EACH,
    FieldPathError,
    JsonValue,
    StructLeaf,
    StructListLeaf,
    resolve,
)
from mantissa_log.sigma.pipelines import map_field, pipeline_for, source_for_rule

CLOUDTRAIL = SOURCES["cloudtrail"].structure
OKTA = SOURCES["okta"].structure


def test_struct_leaf_through_nested_objects() -> None:
    assert resolve(CLOUDTRAIL, "userIdentity.sessionContext.sessionIssuer.type") == [
        StructLeaf(("userIdentity", "sessionContext", "sessionIssuer", "type"))
    ]


def test_struct_names_match_case_insensitively_but_keep_the_structure_spelling() -> None:
    assert resolve(CLOUDTRAIL, "EventName") == [StructLeaf(("eventName",))]


def test_list_of_structs() -> None:
    assert resolve(OKTA, "target.displayName") == [StructListLeaf(("target",), ("displayName",))]


def test_json_node_tries_each_step_as_value_and_as_array() -> None:
    assert resolve(CLOUDTRAIL, "requestParameters.userName") == [
        JsonValue(("requestParameters",), ("userName",)),
        JsonValue(("requestParameters",), ("userName", EACH)),
        JsonValue(("requestParameters",), (EACH, "userName")),
        JsonValue(("requestParameters",), (EACH, "userName", EACH)),
    ]
    assert resolve(CLOUDTRAIL, "requestParameters") == [
        JsonValue(("requestParameters",), ()),
        JsonValue(("requestParameters",), (EACH,)),
    ]


def test_unknown_fields_read_raw_json() -> None:
    assert resolve(CLOUDTRAIL, "@version") == [JsonValue(None, ("@version",)), JsonValue(None, ("@version", EACH))]
    # Below a scalar leaf: the structure says nothing more, read raw.
    assert JsonValue(None, ("userIdentity", "arn", "x")) in resolve(CLOUDTRAIL, "userIdentity.arn.x")


def test_objects_and_json_inside_lists_read_raw_with_known_arrays() -> None:
    assert resolve(CLOUDTRAIL, "userIdentity.sessionContext") == [JsonValue(None, ("userIdentity", "sessionContext"))]
    detail = resolve(OKTA, "target.detailEntry.key")
    assert JsonValue(None, ("target", EACH, "detailEntry", "key")) in detail
    assert all(access.root is None and access.steps[:2] == ("target", EACH) for access in detail)  # type: ignore[union-attr]


def test_bad_field_paths() -> None:
    with pytest.raises(FieldPathError):
        resolve(CLOUDTRAIL, "a..b")
    with pytest.raises(FieldPathError):
        resolve(CLOUDTRAIL, 'a."b')
    with pytest.raises(FieldPathError):
        resolve({}, "a.b.c.d.e.f.g")  # 7 steps of unknown shape: too many paths to try


@pytest.mark.parametrize(
    ("regex", "problem"),
    [
        ("a(?=b)", "look-ahead (?=...)"),
        ("a(?!b)", "negative look-ahead (?!...)"),
        ("(?<=a)b", "look-behind (?<=...)"),
        ("(?<!a)b", "negative look-behind (?<!...)"),
        ("(a)\\1", "back-reference \\1"),
        ("(?P<x>a)(?P=x)", "named back-reference (?P=name)"),
        ("(?>a)", "atomic group (?>...)"),
        ("a*+", "possessive quantifier *+"),
        ("[(?=]x", None),  # inside a character class
        ("\\(?=x", None),  # an escaped parenthesis
        ("[]a]\\1", "back-reference \\1"),  # ']' first in a class is a member
        ("(?P<x>a)|(?i:b)|\\d+", None),
    ],
)
def test_re2_problem_names_the_construct(regex: str, problem: str | None) -> None:
    assert re2_problem(regex) == problem


def test_gcp_pipeline_and_mapping() -> None:
    assert map_field("gcp_audit", "gcp.audit.method_name") == "protoPayload.methodName"
    assert map_field("gcp_audit", "data.protoPayload.serviceName") == "protoPayload.serviceName"
    assert map_field("gcp_audit", "data.protoPayload.resource.type") == "resource.type"
    assert map_field("cloudtrail", "data.protoPayload.serviceName") == "data.protoPayload.serviceName"
    assert len(pipeline_for("gcp_audit").items) == 2
    assert pipeline_for("cloudtrail").items == []
    with pytest.raises(KeyError):
        pipeline_for("nope")


def test_every_source_has_a_pipeline() -> None:
    for name in SOURCES:
        assert pipeline_for(name).name == f"mantissa {name}"


def test_source_selection_from_logsource() -> None:
    found = source_for_rule(SigmaLogSource(product="gcp", service="gcp.audit"))
    assert found is not None
    assert found.name == "gcp_audit"
    signin = source_for_rule(SigmaLogSource(product="azure", service="signinlogs"))
    assert signin is not None
    assert signin.name == "azure_signin"
    assert source_for_rule(SigmaLogSource(product="windows", service="security")) is None

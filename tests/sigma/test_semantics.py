"""Sigma semantics, executed: each rule runs in DuckDB (WHERE form and flag form) over lake-shaped rows."""

from __future__ import annotations

import pytest

from tests.sigma.helpers import rule, run

OKTA = "product: okta\n    service: okta"
GCP = "product: gcp\n    service: gcp.audit"


def test_equality_is_case_insensitive_and_exact() -> None:
    r = rule("    sel:\n        eventName: stoplogging\n    condition: sel")
    events = [{"eventName": "StopLogging"}, {"eventName": "STOPLOGGING"}, {"eventName": "StopLoggingX"}, {}]
    assert run(r, events) == [0, 1]


def test_wildcards_star_and_question_mark() -> None:
    r = rule(
        "    sel:\n        eventName:\n            - 'Delete*Trail'\n            - 'Stop?ogging'\n    condition: sel"
    )
    events = [
        {"eventName": "DeleteTrail"},
        {"eventName": "deleteMyTrail"},
        {"eventName": "StopLogging"},
        {"eventName": "StopXXogging"},
        {"eventName": "DeleteTrails"},
    ]
    assert run(r, events) == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "text", "hit"),
    [
        ("a_b", "a_b", True),
        ("a_b", "axb", False),  # `_` is literal, not LIKE's any-character
        ("100%", "100%", True),
        ("100%", "1000", False),  # `%` is literal
        ("a_b*", "a_bc", True),
        ("a_b*", "axbc", False),  # literal `_` inside a LIKE pattern stays escaped
        ("*50%*", "is 50% off", True),
        ("*50%*", "is 500 off", False),
        ("x*y%z", "xAAy%z", True),
        ("x*y%z", "xAAyQz", False),
        # Sigma escaping: `\\*` is a literal backslash then a wildcard; a lone `\` stays literal.
        ("C:\\Windows\\\\*", "c:\\windows\\system32", True),
        ("C:\\Windows\\\\*", "C:/Windows/system32", False),
        ("a\\*b", "a*b", True),  # an escaped wildcard is a literal star
        ("a\\*b", "axxb", False),
    ],
)
def test_literal_like_metacharacters_are_escaped(value: str, text: str, hit: bool) -> None:
    yaml_value = value.replace("'", "''")
    r = rule(f"    sel:\n        userAgent: '{yaml_value}'\n    condition: sel")
    assert run(r, [{"userAgent": text}]) == ([0] if hit else [])


def test_contains_startswith_endswith() -> None:
    r = rule(
        "    a:\n        userAgent|contains: Boto3\n"
        "    b:\n        eventName|startswith: Put\n"
        "    c:\n        eventSource|endswith: .amazonaws.com\n"
        "    condition: a and b and c"
    )
    events = [
        {"userAgent": "aws-cli boto3/1.2", "eventName": "PutObject", "eventSource": "s3.AMAZONAWS.com"},
        {"userAgent": "aws-cli boto3/1.2", "eventName": "GetObject", "eventSource": "s3.amazonaws.com"},
        {"userAgent": "curl", "eventName": "PutObject", "eventSource": "s3.amazonaws.com"},
        {"userAgent": "boto3", "eventName": "PutObject", "eventSource": "s3.amazonaws.com.evil"},
    ]
    assert run(r, events) == [0]


def test_contains_all() -> None:
    r = rule("    sel:\n        userAgent|contains|all:\n            - python\n            - boto\n    condition: sel")
    events = [{"userAgent": "Boto3 Python/3.11"}, {"userAgent": "python-requests"}, {"userAgent": "boto only"}]
    assert run(r, events) == [0]


def test_regex_is_an_unanchored_case_sensitive_search() -> None:
    r = rule("    sel:\n        userIdentity.arn|re: ':assumed-role/aws'\n    condition: sel")
    events = [
        {"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/aws:x/y"}},
        {"userIdentity": {"arn": "arn:aws:sts::1:ASSUMED-ROLE/AWS:x/y"}},
        {"userIdentity": {"arn": "arn:aws:iam::1:user/bob"}},
    ]
    assert run(r, events) == [0]


def test_regex_flags_i_m_s() -> None:
    multiline = {"errorMessage": "first line\nsecond line"}
    assert run(rule("    sel:\n        errorMessage|re|i: 'FIRST'\n    condition: sel"), [multiline]) == [0]
    assert run(rule("    sel:\n        errorMessage|re: '^second'\n    condition: sel"), [multiline]) == []
    assert run(rule("    sel:\n        errorMessage|re|m: '^second'\n    condition: sel"), [multiline]) == [0]
    assert run(rule("    sel:\n        errorMessage|re: 'line.second'\n    condition: sel"), [multiline]) == []
    assert run(rule("    sel:\n        errorMessage|re|s: 'line.second'\n    condition: sel"), [multiline]) == [0]


def test_cidr_ipv4_by_integer_range() -> None:
    r = rule(
        "    sel:\n        sourceIPAddress|cidr:\n"
        "            - 10.0.0.0/8\n            - 172.16.0.0/12\n    condition: sel"
    )
    ips = ["10.1.2.3", "11.0.0.1", "172.31.255.255", "172.32.0.0", "10.0.0.300", "AWS Internal", "010.0.0.1x"]
    assert run(r, [{"sourceIPAddress": ip} for ip in ips] + [{}]) == [0, 2]


def test_fieldref_compares_fields_case_insensitively() -> None:
    r = rule(
        "    sel:\n        eventName: UpdateLoginProfile\n"
        "    filter:\n        userIdentity.userName|fieldref: requestParameters.userName\n"
        "    condition: sel and not filter"
    )
    events = [
        {
            "eventName": "UpdateLoginProfile",
            "userIdentity": {"userName": "Bob"},
            "requestParameters": {"userName": "bob"},
        },
        {
            "eventName": "UpdateLoginProfile",
            "userIdentity": {"userName": "alice"},
            "requestParameters": {"userName": "bob"},
        },
        {"eventName": "UpdateLoginProfile", "requestParameters": {"userName": "bob"}},  # one side missing
    ]
    assert run(r, events) == [1, 2]


def test_exists_modifier() -> None:
    present = rule("    sel:\n        errorCode|exists: true\n    condition: sel")
    absent = rule("    sel:\n        errorCode|exists: false\n    condition: sel")
    events = [{"errorCode": "AccessDenied"}, {"errorCode": None}, {}, {"errorCode": ""}]
    assert run(present, events) == [0, 3]
    assert run(absent, events) == [1, 2]


def test_null_means_absent_or_json_null_not_empty_string() -> None:
    is_null = rule("    sel:\n        errorCode: null\n    condition: sel")
    empty = rule("    sel:\n        errorCode: ''\n    condition: sel")
    events = [{}, {"errorCode": None}, {"errorCode": ""}, {"errorCode": "AccessDenied"}]
    assert run(is_null, events) == [0, 1]
    assert run(empty, events) == [2]
    # The same for a field read from JSON text (under a JSON node).
    json_null = rule("    sel:\n        requestParameters.userName: null\n    condition: sel")
    nested = [
        {"requestParameters": {}},
        {"requestParameters": {"userName": None}},
        {"requestParameters": {"userName": ""}},
    ]
    assert run(json_null, nested) == [0, 1]


def test_json_boolean_matches_true_as_text() -> None:
    text_rule = rule("    sel:\n        requestParameters.enable: 'true'\n    condition: sel")
    bool_rule = rule("    sel:\n        requestParameters.enable: true\n    condition: sel")
    events = [
        {"requestParameters": {"enable": True}},
        {"requestParameters": {"enable": "TRUE"}},
        {"requestParameters": {"enable": False}},
    ]
    assert run(text_rule, events) == [0, 1]
    assert run(bool_rule, events) == [0, 1]
    # A struct leaf (VARCHAR) holding a JSON boolean: Okta securityContext.isProxy.
    okta = rule("    sel:\n        securityContext.isProxy: 'true'\n    condition: sel", logsource=OKTA)
    assert run(okta, [{"securityContext": {"isProxy": True}}, {"securityContext": {"isProxy": False}}], "okta") == [0]


def test_numbers_compare_as_text() -> None:
    r = rule("    sel:\n        requestParameters.maxResults: 200\n        apiVersion: 2012\n    condition: sel")
    events = [
        {"requestParameters": {"maxResults": 200}, "apiVersion": "2012"},
        {"requestParameters": {"maxResults": "200"}, "apiVersion": 2012},
        {"requestParameters": {"maxResults": 2000}, "apiVersion": 2012},
    ]
    assert run(r, events) == [0, 1]


def test_numeric_comparison_modifiers() -> None:
    r = rule("    sel:\n        requestParameters.maxResults|gte: 100\n    condition: sel")
    events = [
        {"requestParameters": {"maxResults": 200}},
        {"requestParameters": {"maxResults": "99"}},
        {"requestParameters": {"maxResults": "x"}},
    ]
    assert run(r, events) == [0]


def test_contains_on_an_object_matches_its_json_text() -> None:
    r = rule("    sel:\n        requestParameters|contains: Suspended\n    condition: sel")
    events = [
        {"requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}},
        {"requestParameters": {"VersioningConfiguration": {"Status": "Enabled"}}},
        {"eventName": "Suspended"},
    ]
    assert run(r, events) == [0]


def test_dotted_path_into_nested_structs() -> None:
    r = rule("    sel:\n        userIdentity.sessionContext.sessionIssuer.type: Role\n    condition: sel")
    events = [
        {"userIdentity": {"sessionContext": {"sessionIssuer": {"type": "Role"}}}},
        {"userIdentity": {"sessionContext": {"sessionIssuer": {"type": "User"}}}},
        {"userIdentity": {"type": "Role"}},
    ]
    assert run(r, events) == [0]


def test_list_of_structs_matches_any_element() -> None:
    r = rule("    sel:\n        target.displayName|contains: admin\n    condition: sel", logsource=OKTA)
    events = [
        {"target": [{"displayName": "Jane"}, {"displayName": "Super Administrators"}]},
        {"target": [{"displayName": "Jane"}]},
        {"target": []},
        {},
    ]
    assert run(r, events, "okta") == [0]


def test_json_paths_cross_arrays_of_objects() -> None:
    contains = rule(
        "    sel:\n        requestParameters.containerDefinitions.command|contains: curl\n    condition: sel"
    )
    equals = rule("    sel:\n        requestParameters.containerDefinitions.command: sh\n    condition: sel")
    image = rule("    sel:\n        requestParameters.containerDefinitions.image: 'evil*'\n    condition: sel")
    events = [
        {
            "requestParameters": {
                "containerDefinitions": [{"image": "nginx"}, {"image": "evil/x", "command": ["sh", "-c", "curl x|sh"]}]
            }
        },
        {"requestParameters": {"containerDefinitions": [{"image": "nginx", "command": ["nginx"]}]}},
        {
            "requestParameters": {"containerDefinitions": {"image": "evil", "command": "curl"}}
        },  # an object, not an array
    ]
    assert run(contains, events) == [0, 2]
    assert run(equals, events) == [0]  # an array leaf matches when any element does
    assert run(image, events) == [0, 2]


def test_not_over_a_missing_field_is_true() -> None:
    r = rule(
        "    sel:\n        eventName: CreateUser\n"
        "    filter:\n        userAgent|contains: terraform\n        userIdentity.arn|re: 'admin'\n"
        "    condition: sel and not filter"
    )
    events = [
        {"eventName": "CreateUser"},  # filter fields missing: NULL must not hide the event
        {"eventName": "CreateUser", "userAgent": "terraform", "userIdentity": {"arn": "x:admin"}},
        {"eventName": "CreateUser", "userAgent": "terraform"},
    ]
    assert run(r, events) == [0, 2]


def test_keywords_search_the_raw_event_case_insensitively() -> None:
    r = rule(
        "    keywords:\n        - 'Image-Policy.k8s.io/Break-Glass'\n        - 'C:\\Temp\\\"x'\n    condition: keywords"
    )
    events = [
        {"protoPayload": {"request": {"annotations": "image-policy.k8s.io/break-glass=true"}}},
        {"note": 'c:\\temp\\"x'},  # stored JSON-escaped; the keyword is escaped the same way
        {"note": "nothing"},
    ]
    assert run(r, events, "json") == [0, 1]


def test_keyword_wildcards() -> None:
    r = rule("    keywords:\n        - 'listKeys*action'\n    condition: keywords")
    assert run(r, [{"op": "Microsoft.Storage/listKeys/action"}, {"op": "listKeys"}], "json") == [0]


def test_condition_operators_and_selectors() -> None:
    r = rule(
        "    selection_a:\n        eventName: A\n"
        "    selection_b:\n        eventName: B\n"
        "    filter_1:\n        userAgent: x\n"
        "    filter_2:\n        errorCode: y\n"
        "    condition: (1 of selection_*) and not (all of filter_*)"
    )
    events = [
        {"eventName": "A"},
        {"eventName": "B", "userAgent": "x"},
        {"eventName": "B", "userAgent": "x", "errorCode": "y"},
        {"eventName": "C"},
    ]
    assert run(r, events) == [0, 1]


def test_value_lists_are_or_and_maps_are_and() -> None:
    r = rule("    sel:\n        eventName:\n            - A\n            - B\n        errorCode: E\n    condition: sel")
    events = [{"eventName": "A", "errorCode": "E"}, {"eventName": "B"}, {"eventName": "B", "errorCode": "E"}]
    assert run(r, events) == [0, 2]


def test_list_of_maps_is_or() -> None:
    r = rule("    sel:\n        - eventName: A\n        - errorCode: E\n    condition: sel")
    assert run(r, [{"eventName": "A"}, {"errorCode": "E"}, {"eventName": "B"}]) == [0, 1]


def test_cased_modifier_is_case_sensitive() -> None:
    r = rule("    sel:\n        eventName|cased: StopLogging\n    condition: sel")
    assert run(r, [{"eventName": "StopLogging"}, {"eventName": "stoplogging"}]) == [0]


def test_fields_unknown_to_the_structure_read_raw_json() -> None:
    r = rule("    sel:\n        '@version': '1'\n        extra.deep.key|startswith: ab\n    condition: sel")
    events = [
        {"@version": "1", "extra": {"deep": {"key": "ABC"}}},
        {"@version": "1", "extra": {"deep": [{"key": "abd"}]}},
    ]
    assert run(r, events) == [0, 1]


def test_structure_field_names_match_case_insensitively() -> None:
    r = rule("    sel:\n        protoPayload.Servicename: login.googleapis.com\n    condition: sel", logsource=GCP)
    assert run(r, [{"protoPayload": {"serviceName": "login.googleapis.com"}}], "gcp_audit") == [0]


def test_gcp_pipeline_maps_sigmahq_field_names() -> None:
    r = rule(
        "    sel:\n        gcp.audit.method_name|endswith: .delete\n"
        "        data.protoPayload.authorizationInfo.permission: storage.buckets.delete\n"
        "        data.protoPayload.authorizationInfo.granted: 'true'\n"
        "    condition: sel",
        logsource=GCP,
    )
    events = [
        {
            "protoPayload": {
                "methodName": "storage.buckets.delete",
                "authorizationInfo": [
                    {"permission": "storage.buckets.get", "granted": False},
                    {"permission": "storage.buckets.delete", "granted": True},
                ],
            }
        },
        {
            "protoPayload": {
                "methodName": "storage.buckets.delete",
                "authorizationInfo": [
                    {"permission": "storage.buckets.delete", "granted": False},
                ],
            }
        },
    ]
    assert run(r, events, "gcp_audit") == [0]


def test_generic_json_source_reads_everything_from_raw() -> None:
    r = rule(
        "    sel:\n        properties.message|contains: Add member\n        ResultType: 0\n    condition: sel",
        logsource="product: azure\n    service: auditlogs",
    )
    events = [
        {"properties": {"message": "Add member to role"}, "ResultType": 0},
        {"properties": [{"message": "add member"}], "ResultType": "0"},
        {"properties": {"message": "Remove member"}, "ResultType": 0},
    ]
    assert run(r, events, "json") == [0, 1]

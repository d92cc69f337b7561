"""Golden SQL: the exact expressions for a few inline rules (DuckDB WHERE form, CASE flag form, Athena)."""

from __future__ import annotations

import pytest

from mantissa_log.sigma import compile_sigma
from tests.sigma.helpers import rule


def sql(text: str) -> str:
    """A golden expression written over several lines (broken at single spaces)."""
    return " ".join(line.strip() for line in text.strip().splitlines())


# Struct leaves, a value list (OR), a wildcard (startswith) and `null` (absent or JSON null).
R1 = rule(
    """    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName:
            - StopLogging
            - 'Delete*'
    filter:
        errorCode: null
    condition: selection and filter"""
)
# A list of structs (Okta target[]) and NOT.
R2 = rule(
    """    selection:
        eventType: group.user_membership.add
        target.displayName|contains: admin
    filter:
        outcome.result: FAILURE
    condition: selection and not filter""",
    logsource="product: okta\n    service: okta",
)
# Literal `_` and `%` (no LIKE needed: a prefix test), a case-insensitive regex, an IPv4 CIDR.
R3 = rule(
    """    selection:
        userAgent: 'a_b%*'
        userIdentity.arn|re|i: ':assumed-role/'
        sourceIPAddress|cidr: 10.0.0.0/8
    condition: selection"""
)
# A field under a JSON node (it and its parents may be arrays) and a keyword.
R4 = rule(
    """    selection:
        requestParameters.attribute: userData
    keywords:
        - 'Evil'
    condition: selection or keywords"""
)

R1_DUCKDB = sql(
    r"""
    ((COALESCE(lower(event."eventSource") = 'cloudtrail.amazonaws.com', false) AND
    (COALESCE(lower(event."eventName") = 'stoplogging', false) OR COALESCE(starts_with(lower(event."eventName"),
    'delete'), false))) AND NOT COALESCE(event."errorCode" IS NOT NULL, false))
"""
)

R1_FLAG = sql(
    r"""
    CASE WHEN NOT CASE WHEN NOT COALESCE(lower(event."eventSource") = 'cloudtrail.amazonaws.com', false) THEN
    false ELSE CASE WHEN COALESCE(lower(event."eventName") = 'stoplogging', false) THEN true ELSE
    COALESCE(starts_with(lower(event."eventName"), 'delete'), false) END END THEN false ELSE NOT
    COALESCE(event."errorCode" IS NOT NULL, false) END
"""
)

R1_ATHENA = sql(
    r"""
    ((COALESCE(lower(event."eventSource") = 'cloudtrail.amazonaws.com', false) AND
    (COALESCE(lower(event."eventName") = 'stoplogging', false) OR COALESCE(starts_with(lower(event."eventName"),
    'delete'), false))) AND NOT COALESCE(event."errorCode" IS NOT NULL, false))
"""
)

R2_DUCKDB = sql(
    r"""
    ((COALESCE(lower(event."eventType") = 'group.user_membership.add', false) AND
    COALESCE(list_bool_or(list_transform(list_transform(event."target", lambda x1: x1."displayName"), lambda x1:
    contains(lower(x1), 'admin'))), false)) AND NOT COALESCE(lower(event."outcome"."result") = 'failure',
    false))
"""
)

R2_FLAG = sql(
    r"""
    CASE WHEN NOT CASE WHEN NOT COALESCE(lower(event."eventType") = 'group.user_membership.add', false) THEN
    false ELSE COALESCE(list_bool_or(list_transform(list_transform(event."target", lambda x1: x1."displayName"),
    lambda x1: contains(lower(x1), 'admin'))), false) END THEN false ELSE NOT
    COALESCE(lower(event."outcome"."result") = 'failure', false) END
"""
)

R2_ATHENA = sql(
    r"""
    ((COALESCE(lower(event."eventType") = 'group.user_membership.add', false) AND
    COALESCE(any_match(transform(event."target", x1 -> x1."displayName"), x1 -> lower(x1) LIKE '%admin%' ESCAPE
    '\'), false)) AND NOT COALESCE(lower(event."outcome"."result") = 'failure', false))
"""
)

R3_DUCKDB = sql(
    r"""
    (COALESCE(starts_with(lower(event."userAgent"), 'a_b%'), false) AND
    COALESCE(regexp_matches(event."userIdentity"."arn", '(?i):assumed-role/'), false) AND
    COALESCE((regexp_full_match(event."sourceIPAddress",
    '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}') AND
    (TRY_CAST(split_part(event."sourceIPAddress", '.', 1) AS BIGINT) * 16777216 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 2) AS BIGINT) * 65536 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 3) AS BIGINT) * 256 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 4) AS BIGINT)) BETWEEN 167772160 AND 184549375), false))
"""
)

R3_FLAG = sql(
    r"""
    CASE WHEN NOT COALESCE(starts_with(lower(event."userAgent"), 'a_b%'), false) THEN false WHEN NOT
    COALESCE(regexp_matches(event."userIdentity"."arn", '(?i):assumed-role/'), false) THEN false ELSE
    COALESCE((regexp_full_match(event."sourceIPAddress",
    '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}') AND
    (TRY_CAST(split_part(event."sourceIPAddress", '.', 1) AS BIGINT) * 16777216 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 2) AS BIGINT) * 65536 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 3) AS BIGINT) * 256 +
    TRY_CAST(split_part(event."sourceIPAddress", '.', 4) AS BIGINT)) BETWEEN 167772160 AND 184549375), false)
    END
"""
)

R3_ATHENA = sql(
    r"""
    (COALESCE(starts_with(lower(event."userAgent"), 'a_b%'), false) AND
    COALESCE(regexp_like(event."userIdentity"."arn", '(?i):assumed-role/'), false) AND
    COALESCE(contains('10.0.0.0/8', TRY_CAST(event."sourceIPAddress" AS IPADDRESS)), false))
"""
)

R4_DUCKDB = sql(
    r"""
    ((COALESCE(lower(json_extract_string(event."requestParameters", '$."attribute"')) = 'userdata', false) OR
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$."attribute"[*]'),
    lambda x1: lower(x1) = 'userdata')), false) OR
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$[*]."attribute"'),
    lambda x1: lower(x1) = 'userdata')), false) OR
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$[*]."attribute"[*]'),
    lambda x1: lower(x1) = 'userdata')), false)) OR COALESCE(contains(lower(raw), 'evil'), false))
"""
)

R4_FLAG = sql(
    r"""
    CASE WHEN CASE WHEN COALESCE(lower(json_extract_string(event."requestParameters", '$."attribute"')) =
    'userdata', false) THEN true WHEN
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$."attribute"[*]'),
    lambda x1: lower(x1) = 'userdata')), false) THEN true WHEN
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$[*]."attribute"'),
    lambda x1: lower(x1) = 'userdata')), false) THEN true ELSE
    COALESCE(list_bool_or(list_transform(json_extract_string(event."requestParameters", '$[*]."attribute"[*]'),
    lambda x1: lower(x1) = 'userdata')), false) END THEN true ELSE COALESCE(contains(lower(raw), 'evil'), false)
    END
"""
)

R4_ATHENA = sql(
    r"""
    ((COALESCE(lower(COALESCE(json_extract_scalar(event."requestParameters", '$["attribute"]'),
    NULLIF(json_format(json_extract(event."requestParameters", '$["attribute"]')), 'null'))) = 'userdata',
    false) OR COALESCE(any_match(transform(TRY_CAST(json_extract(event."requestParameters", '$["attribute"]') AS
    ARRAY(JSON)), x1 -> COALESCE(json_extract_scalar(x1, '$'), NULLIF(json_format(json_extract(x1, '$')),
    'null'))), x1 -> lower(x1) = 'userdata'), false) OR
    COALESCE(any_match(transform(TRY_CAST(json_extract(event."requestParameters", '$') AS ARRAY(JSON)), x1 ->
    COALESCE(json_extract_scalar(x1, '$["attribute"]'), NULLIF(json_format(json_extract(x1, '$["attribute"]')),
    'null'))), x1 -> lower(x1) = 'userdata'), false) OR
    COALESCE(any_match(flatten(transform(TRY_CAST(json_extract(event."requestParameters", '$') AS ARRAY(JSON)),
    x1 -> transform(TRY_CAST(json_extract(x1, '$["attribute"]') AS ARRAY(JSON)), x2 ->
    COALESCE(json_extract_scalar(x2, '$'), NULLIF(json_format(json_extract(x2, '$')), 'null'))))), x1 ->
    lower(x1) = 'userdata'), false)) OR COALESCE(lower(raw) LIKE '%evil%' ESCAPE '\', false))
"""
)


GOLDEN = [
    pytest.param(R1, R1_DUCKDB, R1_FLAG, R1_ATHENA, id="struct-leaves-null"),
    pytest.param(R2, R2_DUCKDB, R2_FLAG, R2_ATHENA, id="list-of-structs-not"),
    pytest.param(R3, R3_DUCKDB, R3_FLAG, R3_ATHENA, id="literals-regex-cidr"),
    pytest.param(R4, R4_DUCKDB, R4_FLAG, R4_ATHENA, id="json-node-keyword"),
]


@pytest.mark.parametrize(("yaml_text", "duckdb", "flag", "athena"), GOLDEN)
def test_golden_sql(yaml_text: str, duckdb: str, flag: str, athena: str) -> None:
    [compiled] = compile_sigma(yaml_text)
    assert compiled.predicate == duckdb
    assert compiled.flag_expression == flag
    assert compiled.athena_predicate == athena


def test_like_pattern_escapes_percent_underscore_and_backslash() -> None:
    [compiled] = compile_sigma(rule("    sel:\n        userAgent: 'a_%\\\\*b'\n    condition: sel"))
    # Sigma `a_%\\*b`: literal a, _, %, \, then a wildcard, then b.
    assert compiled.predicate == r"""COALESCE(lower(event."userAgent") LIKE 'a\_\%\\%b' ESCAPE '\', false)"""


def test_fieldref_golden() -> None:
    [compiled] = compile_sigma(
        rule("    sel:\n        userIdentity.arn|fieldref: userIdentity.userName\n    condition: sel")
    )
    assert compiled.predicate == sql(
        r"""
        COALESCE(COALESCE(lower(event."userIdentity"."arn") = lower(event."userIdentity"."userName"), false),
        false)
        """
    )

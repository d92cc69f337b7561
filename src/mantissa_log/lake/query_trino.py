"""The second reading of a guarded query for Athena (Trino): what it may call.

There is no Athena parser to ask offline, so the text Athena will run is read again by sqlglot
(Athena dialect) and every function in it is named as the generator writes it for Athena (the
name Athena sees: `position(a IN b)` is STRPOS, `now()` is CURRENT_TIMESTAMP) and checked against
the allowlist below: what log questions need (text, patterns, JSON, time, arrays and maps,
numbers, aggregates, windows). Nothing else is called: no qualified names (`system.*`), no
functions a query declares (`USING EXTERNAL FUNCTION` never parses as a query), nothing that
reads the session or builds huge values from nothing (`current_user`, `sequence`, `repeat`).
"""

from __future__ import annotations

import re

from sqlglot import exp

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TEXT = """
chr codepoint concat concat_ws format from_utf8 hamming_distance length levenshtein_distance lower lpad ltrim
luhn_check normalize position replace reverse rpad rtrim soundex split split_part split_to_map strpos
starts_with substr substring to_utf8 translate trim upper word_stem
regexp_count regexp_extract regexp_extract_all regexp_like regexp_position regexp_replace regexp_split
url_decode url_encode url_extract_fragment url_extract_host url_extract_parameter url_extract_path
url_extract_port url_extract_protocol url_extract_query
md5 sha1 sha256 sha512 to_hex from_hex to_base64 from_base64 crc32 xxhash64
"""
_JSON = """
is_json_scalar json_array_contains json_array_get json_array_length json_extract json_extract_scalar json_format
json_parse json_size json_query json_value json_exists
"""
_TIME = """
at_timezone current_date current_timestamp date date_add date_diff date_format date_parse date_trunc day
day_of_month day_of_week day_of_year dow doy extract format_datetime from_iso8601_date from_iso8601_timestamp
from_unixtime from_unixtime_nanos hour human_readable_seconds last_day_of_month localtimestamp millisecond minute
month parse_datetime parse_duration quarter second timezone_hour timezone_minute to_iso8601 to_milliseconds
to_unixtime week week_of_year with_timezone year year_of_week yow
"""
_COLLECTIONS = """
all_match any_match array_distinct array_except array_intersect array_join array_max array_min array_position
array_remove array_sort array_union arrays_overlap cardinality combinations concat contains element_at filter
flatten map map_concat map_entries map_filter map_from_entries map_keys map_values none_match reduce slice
sort_array transform trim_array zip zip_with array array_contains row
"""
_NUMBERS = """
abs acos asin atan atan2 cbrt ceil ceiling cos cosh degrees e exp floor greatest infinity is_finite is_infinite
is_nan least ln log log10 log2 mod nan pi pow power radians round sign sin sqrt tan tanh truncate width_bucket
bitwise_and bitwise_or bitwise_xor bitwise_not
"""
_OTHER = """
cast try_cast coalesce if nullif try typeof greatest least
"""
_AGGREGATES = """
approx_distinct approx_most_frequent approx_percentile arbitrary any_value array_agg avg bool_and bool_or checksum
corr count count_if covar_pop covar_samp every geometric_mean histogram kurtosis listagg map_agg map_union max
max_by min min_by multimap_agg skewness stddev stddev_pop stddev_samp sum var_pop var_samp variance
"""
_WINDOWS = """
cume_dist dense_rank first_value lag last_value lead nth_value ntile percent_rank rank row_number
"""

ALLOWED_FUNCTIONS = frozenset(
    name.lower()
    for group in (_TEXT, _JSON, _TIME, _COLLECTIONS, _NUMBERS, _OTHER, _AGGREGATES, _WINDOWS)
    for name in group.split()
)


def athena_name(node: exp.Func) -> str:
    """The function's name as the Athena text calls it ("" when it is written as an operator)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    found = _NAME.match(node.sql(dialect="athena"))
    return found.group(0).lower() if found else ""


def refused_function(tree: exp.Expr) -> str | None:
    """Why the tree calls something it may not (one sentence), or None."""
    for node in tree.walk():
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            return f"qualified function names ({node.sql(dialect='athena')[:60]}) are not allowed"
        if isinstance(node, exp.Func):
            name = athena_name(node)
            if name and name not in ALLOWED_FUNCTIONS:
                return f"the function {name[:40]} is not allowed"
    return None

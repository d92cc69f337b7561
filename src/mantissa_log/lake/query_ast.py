"""The second reading of a guarded query: DuckDB's own parser, and an allowlist of what it may call.

`json_serialize_sql` gives the tree DuckDB itself parses from a text (and refuses anything but
SELECT statements). Every table reference must be a log table or a CTE of the query, unqualified;
there may be no table function at all; every function, operator and window function must be on
the allowlist below. The allowlist is what log questions need (text, patterns, JSON, time, lists,
numbers, aggregates, windows): nothing that reads settings, the environment, files, the catalog
or other sessions (`current_setting`, `getenv`, `duckdb_*`, `pragma_*`), nothing that sleeps,
writes logs or builds huge values from nothing (`sleep_ms`, `write_log`, `range`, `repeat`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

# Operators as DuckDB's parser names them (LIKE is ~~, ILIKE ~~*, GLOB ~~~, `a[1]` array_extract, ...).
OPERATORS = frozenset(
    {
        "!=",
        "!__postfix",
        "!~~",
        "!~~*",
        "%",
        "&",
        "&&",
        "*",
        "**",
        "+",
        "-",
        "->",
        "->>",
        "/",
        "//",
        "<",
        "<->",
        "<<",
        "<=",
        "<=>",
        "<@",
        "=",
        ">",
        ">=",
        ">>",
        "@",
        "@>",
        "^",
        "^@",
        "|",
        "||",
        "~",
        "~~",
        "~~*",
        "~~~",
        "__between",
        "IS DISTINCT FROM",
        "IS NOT DISTINCT FROM",
    }
)

_TEXT = """
ascii bit_length char_length character_length chr concat concat_ws contains ends_with format format_bytes
formatreadabledecimalsize formatreadablesize from_base64 hamming hash hex ilike_escape instr jaccard jaro_similarity
jaro_winkler_similarity lcase left left_grapheme len length length_grapheme levenshtein damerau_levenshtein
like_escape lower lpad ltrim md5 mismatches nfc_normalize not_ilike_escape not_like_escape octet_length ord
parse_formatted_bytes position prefix printf regexp_escape regexp_extract regexp_extract_all regexp_full_match
regexp_matches regexp_replace regexp_split_to_array replace reverse right right_grapheme rpad rtrim sha1 sha256
split split_part starts_with str_split str_split_regex string_split string_split_regex string_to_array strip_accents
strlen strpos substr substring substring_grapheme suffix to_base64 base64 translate trim ucase unhex unicode upper
url_decode url_encode editdist3 to_hex from_hex encode decode bar
"""
_JSON = """
json json_array json_array_length json_contains json_exists json_extract json_extract_path json_extract_path_text
json_extract_string json_keys json_merge_patch json_object json_pretty json_quote json_structure json_transform
json_transform_strict json_type json_valid json_value to_json row_to_json array_to_json from_json from_json_strict
json_group_array json_group_object json_group_structure
"""
_TIME = """
age century current_date date_add date_diff date_part date_sub date_trunc datediff datepart datesub datetrunc day
dayname dayofmonth dayofweek dayofyear days_in_month decade epoch epoch_ms epoch_ns epoch_us era get_current_time
get_current_timestamp hour isodow isoyear julian last_day make_date make_time make_timestamp make_timestamp_ms
make_timestamp_ns make_timestamptz microsecond millennium millisecond minute month monthname nanosecond now
quarter second strftime strptime time_bucket timezone timezone_hour timezone_minute to_centuries to_days
to_decades to_hours to_microseconds to_millennia to_milliseconds to_minutes to_months to_quarters to_seconds
to_timestamp to_weeks to_years today transaction_timestamp try_strptime week weekday weekofyear year yearweek
current_timestamp current_time localtimestamp localtime ago
"""
_LISTS = """
array_aggr array_aggregate array_append array_apply array_cat array_concat array_contains array_distinct
array_extract array_filter array_grade_up array_has array_has_all array_has_any array_indexof array_intersect
array_length array_pop_back array_pop_front array_position array_prepend array_push_back array_push_front
array_reduce array_reverse array_reverse_sort array_select array_slice array_sort array_to_string array_transform
array_unique array_value array_where array_zip cardinality element_at filter flatten grade_up list_aggr
list_aggregate list_any_value list_append list_apply list_avg list_cat list_concat list_contains list_count
list_distinct list_element list_extract list_filter list_first list_grade_up list_has list_has_all list_has_any
list_histogram list_indexof list_intersect list_last list_max list_median list_min list_mode list_pack
list_position list_prepend list_reduce list_reverse list_reverse_sort list_select list_slice list_sort
list_string_agg list_sum list_transform list_unique list_value list_where list_zip map map_concat map_contains
map_contains_entry map_contains_value map_entries map_extract map_extract_value map_from_entries map_keys
map_values reduce row struct_concat struct_contains struct_extract struct_extract_at struct_has struct_indexof
struct_insert struct_keys struct_pack struct_position struct_update struct_values unnest apply
"""
_NUMBERS = """
abs acos acosh add asin asinh atan atan2 atanh bit_count cbrt ceil ceiling cos cosh cot degrees divide even exp
factorial fdiv floor fmod gamma gcd greatest greatest_common_divisor isfinite isinf isnan lcm least
least_common_multiple lgamma ln log log10 log2 mod multiply nextafter pi pow power radians random round round_even
roundbankers sign signbit sin sinh sqrt subtract tan tanh trunc xor equi_width_bins
"""
_OTHER = """
coalesce ifnull if nullif typeof uuid gen_random_uuid uuidv4 uuidv7 try alias
"""
_AGGREGATES = """
any_value approx_count_distinct approx_quantile approx_top_k arbitrary arg_max arg_max_null arg_min arg_min_null
argmax argmin array_agg avg bit_and bit_or bit_xor bool_and bool_or corr count count_if count_star countif
covar_pop covar_samp entropy favg first fsum geomean geometric_mean group_concat histogram kahan_sum kurtosis
kurtosis_pop last list listagg mad max max_by mean median min min_by mode product quantile quantile_cont
quantile_disc regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy
reservoir_quantile sem skewness stddev stddev_pop stddev_samp string_agg sum sumkahan var_pop var_samp variance
weighted_avg wavg
"""
_WINDOWS = """
cume_dist dense_rank first_value lag last_value lead nth_value ntile percent_rank rank rank_dense row_number fill
"""

ALLOWED_FUNCTIONS = frozenset(
    name.lower()
    for group in (_TEXT, _JSON, _TIME, _LISTS, _NUMBERS, _OTHER, _AGGREGATES, _WINDOWS)
    for name in group.split()
) | {name.lower() for name in OPERATORS}

# Table reference kinds a read-only query over views may use.
TABLE_REF_KINDS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST", "PIVOT"})


class AstRefusal(Exception):
    """Why DuckDB's reading of the query is refused (a sentence fit for the user and the model)."""


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _cte_names(tree: Any) -> set[str]:
    names: set[str] = set()
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    names.add(entry["key"].lower())
    return names


def serialize(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of `sql` (a connection without data is enough: this only parses)."""
    row = connection.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row and row[0] else {"error": True}
    if tree.get("error"):
        message = str(tree.get("error_message") or "it does not parse").splitlines()[0]
        raise AstRefusal(f"DuckDB does not read it as one SELECT: {message}")
    return tree


def check_tree(tree: dict[str, Any], log_tables: frozenset[str]) -> set[str]:
    """Refuse anything but one SELECT over log tables with allowlisted functions; return the log tables used."""
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise AstRefusal(f"expected exactly one statement, DuckDB reads {len(statements)}")
    ctes = _cte_names(tree)
    used: set[str] = set()
    for node in _nodes(statements[0]):
        kind = node.get("type")
        if node.get("class") in ("FUNCTION", "WINDOW") and isinstance(node.get("function_name"), str):
            name = node["function_name"]
            if node.get("schema") or node.get("catalog"):
                raise AstRefusal(
                    f"qualified function names ({node.get('schema') or node.get('catalog')}.{name}) are not allowed"
                )
            if name.lower() not in ALLOWED_FUNCTIONS:
                raise AstRefusal(f"the function {name} is not allowed")
        elif node.get("class") == "PARAMETER":
            raise AstRefusal("query parameters ($1, ?) are not allowed")
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            raise AstRefusal(f"the table function {function.get('function_name', '?')} is not allowed")
        elif kind == "RECURSIVE_CTE_NODE":
            raise AstRefusal("recursive CTEs are not allowed")
        elif kind == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            if node.get("schema_name") or node.get("catalog_name"):
                raise AstRefusal(f"qualified table names ({node.get('schema_name')}.{table}) are not allowed")
            if table.lower() in log_tables:
                used.add(table.lower())
            elif table.lower() not in ctes:
                raise AstRefusal(f"the table {table} is not a log table")
        elif "sample" in node and "class" not in node and "modifiers" not in node and kind not in TABLE_REF_KINDS:
            # A table reference (expressions carry a `class`) of a kind no plain query needs.
            raise AstRefusal(f"reading from {kind} is not allowed")
    return used

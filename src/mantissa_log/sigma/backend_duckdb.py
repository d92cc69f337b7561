"""DuckDB backend: a Sigma rule as one boolean SQL expression over `raw` (JSON text) and `event` (STRUCT).

    WHERE <predicate>                       -- plain AND/OR: DuckDB short-circuits in a filter
    SELECT <flag_expression> AS rule_1, ... -- CASE chains: short-circuit in a projection too

Regexes run on RE2 (`regexp_matches`, an unanchored search): rules using look-around or
back-references are refused with the construct named. CIDR is IPv4 only (an integer range on the
dotted quad; no `inet` extension here); an IPv6 network is refused rather than matched by prefix
text, which would miss the many spellings of one IPv6 address.
"""

from __future__ import annotations

import functools
import threading
from typing import ClassVar

import duckdb
from sigma.types import SigmaCIDRExpression, SigmaRegularExpression

from mantissa_log.sigma.backend_base import SqlPredicateBackend
from mantissa_log.sigma.common import Pred, UnsupportedSigma, sql_literal
from mantissa_log.sigma.fields import EACH, JsonValue, Step, Where

_IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"{_IPV4_OCTET}(\.{_IPV4_OCTET}){{3}}"


def re2_problem(regex: str) -> str | None:
    """The first construct RE2 lacks, named for a human; None when we see none."""
    in_class = False
    i = 0
    while i < len(regex):
        char, ahead = regex[i], regex[i + 1 : i + 4]
        if char == "\\":
            escaped = regex[i + 1 : i + 2]
            if not in_class and escaped.isdigit() and escaped != "0":
                return f"back-reference \\{escaped}"
            if escaped == "k" and regex[i + 2 : i + 3] in ("<", "{", "'"):
                return "named back-reference \\k<...>"
            if escaped in ("Z", "G"):
                return f"anchor \\{escaped}"
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member, not the end of the class.
            skip = 2 if regex[i + 1 : i + 2] == "^" else 1
            if regex[i + skip : i + skip + 1] == "]":
                i += skip
        elif char == "(" and ahead.startswith("?"):
            constructs = {
                "?=": "look-ahead (?=...)",
                "?!": "negative look-ahead (?!...)",
                "?<=": "look-behind (?<=...)",
                "?<!": "negative look-behind (?<!...)",
                "?>": "atomic group (?>...)",
                "?P=": "named back-reference (?P=name)",
                "?(": "conditional group (?(...)...)",
            }
            for prefix, name in sorted(constructs.items(), key=lambda item: -len(item[0])):
                if ahead.startswith(prefix):
                    return name
            if ahead.startswith("?<"):
                return "named group (?<name>...) (RE2 spells it (?P<name>...))"
        elif char in "*+?}" and regex[i + 1 : i + 2] == "+":
            return f"possessive quantifier {char}+"
        i += 1
    return None


_re2_lock = threading.Lock()
_re2_connection: duckdb.DuckDBPyConnection | None = None


@functools.lru_cache(maxsize=4096)
def re2_error(regex: str) -> str | None:
    """DuckDB's own verdict on the regex (catches what re2_problem does not name)."""
    global _re2_connection
    with _re2_lock:
        if _re2_connection is None:
            _re2_connection = duckdb.connect(":memory:")
        try:
            _re2_connection.execute(f"SELECT regexp_matches('', {sql_literal(regex)})").fetchall()
        except duckdb.Error as error:
            return str(error).splitlines()[0]
    return None


class DuckDBBackend(SqlPredicateBackend):
    """DuckDB dialect of the shared predicate backend (see backend_base for the semantics)."""

    name: ClassVar[str] = "mantissa DuckDB"
    identifier: ClassVar[str] = "mantissa_duckdb"

    # Text comparisons; DuckDB plans starts_with/ends_with/contains faster than LIKE.
    text_eq_expression: ClassVar[str] = "{value} = {literal}"
    text_startswith_expression: ClassVar[str] = "starts_with({value}, {literal})"
    text_endswith_expression: ClassVar[str] = "ends_with({value}, {literal})"
    text_contains_expression: ClassVar[str] = "contains({value}, {literal})"
    text_like_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    # regexp_matches is a search (unanchored), like Sigma's `re`.
    regex_expression: ClassVar[str] = "regexp_matches({value}, {regex})"
    fieldref_startswith_expression: ClassVar[str] = "starts_with(lower({value}), lower({other}))"
    fieldref_endswith_expression: ClassVar[str] = "ends_with(lower({value}), lower({other}))"
    fieldref_contains_expression: ClassVar[str] = "contains(lower({value}), lower({other}))"
    # Lists (list of structs, JSON wildcard reads): any element; DuckDB's lambda syntax.
    any_expression: ClassVar[str] = "list_bool_or(list_transform({list}, lambda {var}: {predicate}))"
    map_expression: ClassVar[str] = "list_transform({list}, lambda {var}: {expr})"
    filter_expression: ClassVar[str] = "list_filter({list}, lambda {var}: {predicate})"
    struct_field_expression: ClassVar[str] = '{base}."{name}"'
    # JSON text of a path; objects and arrays read as their JSON text, JSON null as NULL, true as 'true'.
    json_extract_expression: ClassVar[str] = "json_extract_string({doc}, {path})"
    # IPv4 CIDR: the dotted quad as an integer, within the network's range.
    ipv4_integer_expression: ClassVar[str] = (
        "TRY_CAST(split_part({value}, '.', 1) AS BIGINT) * 16777216"
        " + TRY_CAST(split_part({value}, '.', 2) AS BIGINT) * 65536"
        " + TRY_CAST(split_part({value}, '.', 3) AS BIGINT) * 256"
        " + TRY_CAST(split_part({value}, '.', 4) AS BIGINT)"
    )
    cidr_expression: ClassVar[str] = (
        "(regexp_full_match({value}, {ipv4_pattern}) AND ({integer}) BETWEEN {low} AND {high})"
    )

    # The elements of the JSON arrays a wildcard path reaches, as JSON values (a flat list).
    json_elements_expression: ClassVar[str] = "json_extract({doc}, {path})"

    def json_value(self, access: JsonValue) -> str:
        doc = self.raw_column if access.root is None else self._struct(self.event_column, access.root)
        return self._json_read(doc, access.steps)

    @staticmethod
    def _path(steps: tuple[Step, ...]) -> str:
        return sql_literal("$" + "".join("[*]" if step is EACH else f'."{step}"' for step in steps))

    def _json_read(self, doc: str, steps: tuple[Step, ...]) -> str:
        """Text at a path; a list of texts when the path crosses arrays. A Where (always after an
        EACH) keeps the elements whose key matches, and the rest of the path is read from each."""
        cut = next((i for i, step in enumerate(steps) if isinstance(step, Where)), None)
        if cut is None:
            return self.json_extract_expression.format(doc=doc, path=self._path(steps))
        where, rest = steps[cut], steps[cut + 1 :]
        assert isinstance(where, Where)
        elements = self.json_elements_expression.format(doc=doc, path=self._path(steps[:cut]))
        key, wanted = self._path((where.key,)), sql_literal(where.value.lower())
        kept = self._filter(elements, lambda var: f"lower(json_extract_string({var}, {key})) = {wanted}")
        mapped = self._map(kept, lambda var: self._json_read(var, rest))
        return self.flatten_expression.format(list=mapped) if EACH in rest else mapped

    def regex_text(self, regex: SigmaRegularExpression, field: str | None) -> str:
        text = super().regex_text(regex, field)
        problem = re2_problem(str(regex.regexp))
        if problem is None and (error := re2_error(text)) is not None:
            problem = f"a construct RE2 rejects ({error})"
        if problem is not None:
            raise UnsupportedSigma(
                f"regular expression '{regex.regexp}' uses {problem}, "
                "which RE2 (DuckDB's regex engine) does not support",
                field=field,
            )
        return text

    def cidr_pred(self, cidr: SigmaCIDRExpression, field: str | None) -> Pred:
        network = cidr.network
        if network.version != 4:
            raise UnsupportedSigma(f"IPv6 CIDR '{cidr.cidr}' is not supported (IPv4 only)", field=field)
        low, high = int(network.network_address), int(network.broadcast_address)
        pattern = sql_literal(IPV4_PATTERN)
        return lambda sql: self.cidr_expression.format(
            value=sql,
            ipv4_pattern=pattern,
            integer=self.ipv4_integer_expression.format(value=sql),
            low=low,
            high=high,
        )

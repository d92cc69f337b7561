"""Athena (Trino) backend: the same rules over the same Parquet layout (`raw` VARCHAR JSON, `event` ROW).

Trino's `json_extract` has no `[*]` wildcard, so a read that crosses arrays casts the array to
`ARRAY(JSON)` and maps over its elements; a value reads as `json_extract_scalar` (strings, numbers,
booleans as text) or, for objects and arrays, as its JSON text (`json_format`). Regexes run on
Trino's engine, which is at least as capable as RE2, so no rule is refused here for its regex.
"""

from __future__ import annotations

from typing import ClassVar

from sigma.types import SigmaCIDRExpression

from mantissa_log.sigma.backend_base import SqlPredicateBackend
from mantissa_log.sigma.common import Pred, sql_literal
from mantissa_log.sigma.fields import EACH, JsonValue, Step, Where


class AthenaBackend(SqlPredicateBackend):
    """Athena/Trino dialect of the shared predicate backend (see backend_base for the semantics)."""

    name: ClassVar[str] = "mantissa Athena"
    identifier: ClassVar[str] = "mantissa_athena"

    # Text comparisons: Trino has starts_with but no ends_with/contains on strings: LIKE with ESCAPE.
    text_eq_expression: ClassVar[str] = "{value} = {literal}"
    text_startswith_expression: ClassVar[str] = "starts_with({value}, {literal})"
    text_endswith_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    text_contains_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    text_like_expression: ClassVar[str] = "{value} LIKE {pattern} ESCAPE '\\'"
    # regexp_like is a search (unanchored), like Sigma's `re`.
    regex_expression: ClassVar[str] = "regexp_like({value}, {regex})"
    fieldref_startswith_expression: ClassVar[str] = "starts_with(lower({value}), lower({other}))"
    fieldref_endswith_expression: ClassVar[str] = "strpos(reverse(lower({value})), reverse(lower({other}))) = 1"
    fieldref_contains_expression: ClassVar[str] = "strpos(lower({value}), lower({other})) > 0"
    # Arrays: Trino lambdas.
    any_expression: ClassVar[str] = "any_match({list}, {var} -> {predicate})"
    map_expression: ClassVar[str] = "transform({list}, {var} -> {expr})"
    flatten_expression: ClassVar[str] = "flatten({list})"
    struct_field_expression: ClassVar[str] = '{base}."{name}"'
    # A JSON value as text: scalars unquoted, objects/arrays as JSON text, JSON null as NULL.
    json_text_expression: ClassVar[str] = (
        "COALESCE(json_extract_scalar({doc}, {path}), NULLIF(json_format(json_extract({doc}, {path})), 'null'))"
    )
    # The elements of the JSON array at a path (NULL when it is not an array).
    json_array_expression: ClassVar[str] = "TRY_CAST(json_extract({doc}, {path}) AS ARRAY(JSON))"
    # CIDR with Trino's IPADDRESS type (IPv4 and IPv6).
    cidr_expression: ClassVar[str] = "contains({network}, TRY_CAST({value} AS IPADDRESS))"

    @staticmethod
    def _path(keys: list[str]) -> str:
        return sql_literal("$" + "".join(f'["{key}"]' for key in keys))

    def _json(self, doc: str, steps: tuple[Step, ...]) -> str:
        if EACH not in steps:
            keys = [str(step) for step in steps]
            return self.json_text_expression.format(doc=doc, path=self._path(keys))
        cut = steps.index(EACH)
        prefix, rest = [str(step) for step in steps[:cut]], steps[cut + 1 :]
        array = self.json_array_expression.format(doc=doc, path=self._path(prefix))
        if rest and isinstance(where := rest[0], Where):
            # Keep the elements whose key matches (case-insensitively), then read on from each.
            key, wanted = self._path([where.key]), sql_literal(where.value.lower())
            array = self._filter(array, lambda var: f"lower(json_extract_scalar({var}, {key})) = {wanted}")
            rest = rest[1:]
        mapped = self._map(array, lambda var: self._json(var, rest))
        # Further arrays below produce a list per element: flatten to one list of values.
        return self.flatten_expression.format(list=mapped) if EACH in rest else mapped

    def json_value(self, access: JsonValue) -> str:
        doc = self.raw_column if access.root is None else self._struct(self.event_column, access.root)
        return self._json(doc, access.steps)

    def cidr_pred(self, cidr: SigmaCIDRExpression, field: str | None) -> Pred:
        network = sql_literal(str(cidr.network))
        return lambda sql: self.cidr_expression.format(network=network, value=sql)

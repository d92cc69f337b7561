"""Athena (Trino) SQL as DuckDB runs it: sqlglot's transpiler plus one bridge of our own.

sqlglot passes Trino's `any_match(list, x -> p)` through unchanged, and DuckDB has no such
function; `list_bool_or(list_transform(list, x -> p))` is the same truth value (both are NULL for
a NULL list, and the compiled predicates wrap every array test in COALESCE(..., false)).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def athena_to_duckdb(athena_sql: str) -> str:
    def bridge(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "any_match":
            mapped = exp.Anonymous(this="list_transform", expressions=list(node.expressions))
            return exp.Anonymous(this="list_bool_or", expressions=[mapped])
        return node

    return sqlglot.parse_one(athena_sql, read="athena").transform(bridge).sql(dialect="duckdb")

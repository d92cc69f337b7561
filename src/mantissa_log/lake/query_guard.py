"""The guard for SQL written by a model or a user: one read-only SELECT over the log tables.

A text passes only if every step agrees:
1. The text itself: at most MAX_SQL_CHARS; no control or format characters anywhere (NUL,
   zero-width spaces, bidi overrides); outside string literals ASCII only (look-alike letters,
   full-width semicolons) - judged on sqlglot's tokens, so quoted text may hold any language.
2. sqlglot (the dialect of the engine that runs it: DuckDB, or Athena's Trino with
   `MANTISSA_LAKE=s3`): exactly one statement, and it is a query (SELECT, UNION/INTERSECT/
   EXCEPT, DuckDB's FROM-first form); nothing inside it that is not (INTO, DDL, DML, commands,
   parameters); no recursive CTE; every table is a log table or a CTE of the query, unqualified; no
   table functions in FROM (read_parquet, glob, range, unnest, duckdb_settings, ...); comments may
   hold prose but no `;` and no statement keyword (a statement hidden in a comment is refused).
3. The text the engine runs is written back from sqlglot's tree, without comments: it is exactly
   what was checked. The row limit is enforced there, on the outermost LIMIT.
4. A second reading of that text. DuckDB: its own parser (`lake.query_ast`): one SELECT, log
   tables and CTEs only, every function on an allowlist (no current_setting, getenv, pragma_*,
   sleep_ms, ...). Athena: sqlglot parses the text again and step 2 is repeated on that tree,
   every function on Trino's allowlist (`lake.query_trino`); unqualified tables resolve in the
   lake's Glue database only (the query runs there, in the workgroup with its bytes-scanned cutoff).
The DuckDB connection that runs it is locked down too (`lake.guard`), with memory and time limits.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import SqlglotError

from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.lake.query_ast import AstRefusal, check_tree, serialize
from mantissa_log.lake.query_trino import refused_function

MAX_SQL_CHARS = 20_000
DIALECTS = ("duckdb", "athena")
LOG_TABLES = frozenset(SOURCE_NAMES)
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Unicode categories never accepted anywhere: controls, format characters (zero-width, bidi), private
# use, surrogates, line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
_STRING_TOKENS = frozenset(
    {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING}
)
# Statement keywords a comment may not contain (prose comments are fine, and are dropped anyway);
# words common in English prose (from, with, set, use, show) are left out.
_STATEMENT_WORDS = re.compile(
    r"\b(select|insert|update|delete|drop|create|alter|attach|detach|copy|export|import|pragma|install|load|"
    r"call|execute|prepare|vacuum|checkpoint|commit|rollback|summarize|describe|explain|grant|revoke|truncate)\b",
    re.IGNORECASE,
)
# Nodes that have no place in a read-only query, wherever they appear.
_FORBIDDEN_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Into",
        "Command",
        "Pragma",
        "Set",
        "Copy",
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "Attach",
        "Detach",
        "Install",
        "Use",
        "Describe",
        "Summarize",
        "Transaction",
        "Commit",
        "Rollback",
        "Placeholder",
        "Parameter",
        "Lock",
    )
    if hasattr(exp, name)
)

# sqlglot logs a warning whenever it falls back to a generic command; the guard reports it instead.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class QueryRejected(Exception):
    """Why a text is refused: one sentence for the user, and for the model's second attempt."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # the query as checked, written back by sqlglot (what the user sees and can edit)
    executed: str  # `sql` with the row limit enforced: what DuckDB runs
    tables: frozenset[str]  # the log tables it reads
    fetch: int  # rows to fetch: max_rows + 1 (one more tells that it was cut), or the query's own smaller LIMIT


def check_query(text: str, max_rows: int, dialect: str = "duckdb") -> CheckedQuery:
    """Refuse (QueryRejected) unless `text` is one read-only SELECT over the log tables; see the module doc.

    `dialect` is the engine's: "duckdb" (the local lake) or "athena" (the S3 lake)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    _check_characters(text, dialect)
    tree = _parse_one(text, dialect)
    _check_tree(tree)
    sql = tree.sql(dialect=dialect, comments=False)
    fetch = _enforce_limit(tree, max_rows)
    executed = tree.sql(dialect=dialect, comments=False)
    if dialect == "athena":
        return CheckedQuery(sql=sql, executed=executed, tables=_reread_athena(executed), fetch=fetch)
    try:
        with duckdb.connect(":memory:") as parser:  # parses only: no data, no files
            used = check_tree(serialize(parser, executed), LOG_TABLES)
    except AstRefusal as exc:
        raise QueryRejected(str(exc)) from None
    except duckdb.Error as exc:
        raise QueryRejected(f"DuckDB does not read it: {_first_line(exc)}") from None
    return CheckedQuery(sql=sql, executed=executed, tables=frozenset(used), fetch=fetch)


def _reread_athena(executed: str) -> frozenset[str]:
    """Step 4 for Athena: the executed text parsed again, checked again, its functions allowlisted."""
    tree = _parse_one(executed, "athena")
    _check_tree(tree)
    refusal = refused_function(tree)
    if refusal:
        raise QueryRejected(refusal)
    return frozenset(t.name.lower() for t in tree.find_all(exp.Table) if t.name.lower() in LOG_TABLES)


def _check_characters(text: str, dialect: str) -> None:
    if not text.strip():
        raise QueryRejected("the SQL is empty")
    if len(text) > MAX_SQL_CHARS:
        raise QueryRejected(f"the SQL is over {MAX_SQL_CHARS} characters")
    for position, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise QueryRejected(f"the SQL holds an invisible or control character (U+{ord(char):04X}) at {position}")
    try:
        tokens = sqlglot.tokenize(text, read=dialect)
    except SqlglotError as exc:
        raise QueryRejected(f"the SQL does not parse: {_first_line(exc)}") from None
    for token in tokens:
        if token.token_type not in _STRING_TOKENS and not token.text.isascii():
            raise QueryRejected(f"non-ASCII characters outside string literals ({token.text[:20]!r}) are not allowed")
        for comment in token.comments:
            if ";" in comment or _STATEMENT_WORDS.search(comment):
                raise QueryRejected("a comment holds SQL (a `;` or a statement keyword); comments may only hold prose")
            if not comment.isascii() and any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in comment):
                raise QueryRejected("a comment holds invisible characters")


def _parse_one(text: str, dialect: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except (SqlglotError, RecursionError) as exc:
        raise QueryRejected(f"the SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryRejected(f"expected exactly one SQL statement, got {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        # An expression standing alone (a bare word like CHECKPOINT parses as a column) is named by its text.
        name = text.split()[0].upper()[:30] if isinstance(statement, exp.Condition) else _statement_name(statement)
        raise QueryRejected(f"only SELECT queries are allowed, not {name}")
    return statement


def _check_tree(tree: exp.Expr) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise QueryRejected(f"{_statement_name(node)} has no place in a read-only query")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise QueryRejected("recursive CTEs are not allowed")
        if isinstance(node, exp.Unnest) and isinstance(node.parent, exp.From | exp.Join):
            raise QueryRejected("the table function unnest is not allowed; unnest in the SELECT list instead")
        if isinstance(node, exp.Table):
            _check_table(node, ctes)


def _check_table(table: exp.Table, ctes: set[str]) -> None:
    target = table.this
    if not isinstance(target, exp.Identifier):
        name = target.sql(dialect="duckdb").split("(", 1)[0].strip().lower()[:40]
        raise QueryRejected(f"the table function {name} is not allowed")
    if table.args.get("db") or table.args.get("catalog"):
        raise QueryRejected(f"qualified table names ({table.sql(dialect='duckdb')[:60]}) are not allowed")
    name = target.name.lower()
    if name not in LOG_TABLES and name not in ctes:
        raise QueryRejected(f"the table {target.name[:60]} is not a log table; use one of: {', '.join(SOURCE_NAMES)}")


def _enforce_limit(tree: exp.Expr, max_rows: int) -> int:
    """Cap the outermost LIMIT at max_rows + 1; return how many rows to fetch."""
    current = tree.args.get("limit")
    if (
        isinstance(current, exp.Limit)
        and isinstance(current.expression, exp.Literal)
        and current.expression.is_int
        and set(k for k, v in current.args.items() if v) == {"expression"}
        and int(current.expression.this) <= max_rows
    ):
        return int(current.expression.this)
    tree.set("limit", exp.Limit(expression=exp.Literal.number(max_rows + 1)))
    return max_rows + 1


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return node.key.upper()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]

"""A rule's flag expression (our DuckDB SQL) evaluated in Python over one event, for a tiny hunt.

A hunt over a dozen events spends most of its time starting DuckDB (importing the engine, building its
catalog, planning the scan: 60-70 ms of a 90-100 ms run) for work Python does in a millisecond. This
module reads the SQL our Sigma backend writes (`sigma.backend_duckdb`) and builds a Python function
with the same truth table, so that such a hunt never starts the engine (`text_scan`).

It accepts only the part of the dialect whose meaning it knows exactly, and returns None for
anything else (the rule then runs in DuckDB, as before):

- CASE WHEN ... THEN ... [ELSE ...] END, NOT, AND, OR, COALESCE, `=`, IS [NOT] NULL,
  `LIKE '...' ESCAPE '\\'`, lower, contains, starts_with, ends_with, and SQL's three-valued logic;
- reads of the event struct (`event."a"."b"`), typed by the source's structure: a text leaf, a JSON
  leaf (only as the document of json_extract_string) or a list of structs (only for list_transform);
- json_extract_string over a JSON leaf or `raw`, with `[*]` wildcards (a list: missing keys omitted,
  JSON nulls kept as NULL, as DuckDB does);
- list_bool_or(list_transform(list, lambda x: ...));
- regexp_matches with a regex in the part of RE2's syntax Python's `re` reads the same way
  (`_REGEX_PIECE`), over text without newlines.

CIDR arithmetic, numbers, casts, json_extract, list_filter and `raw` read as text are refused. At
run time a value is read as DuckDB holds it (`_read_text`: text, 'true'/'false', an integer in
decimal, an object's compact JSON text); where Python may spell it otherwise (text beyond ASCII, a
fraction, JSON text of other characters) it is opaque or raises `Unsure`, and the caller leaves the
whole input to DuckDB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from mantissa_log.lake.detect.python_regex import Unsupported, python_regex
from mantissa_log.lake.detect.text_events import Unsure, checked_text

# A compiled expression: the event, the lambda variables bound -> a value (str, bool, None, list).
Evaluator = Callable[[dict[str, Any], dict[str, Any]], Any]

_TOKEN = re.compile(
    r"\s+|(?P<text>'(?:[^']|'')*')|(?P<name>\"(?:[^\"]|\"\")+\")|(?P<word>[A-Za-z_][A-Za-z_0-9]*)|(?P<mark>[(),.=:])"
)
_RAW = "raw"  # the structure mark of the `raw` document
_PATH_STEP = re.compile(r'\."([^"\\]*)"|\[\*\]')
_EACH = None  # a `[*]` step of a JSON path


class _Opaque:
    """JSON text DuckDB writes its own way (an object, an array, a fraction): known not to be NULL,
    its spelling unknown. Only what does not depend on the spelling is answered: IS NULL, lower(),
    LIKE '%'; anything else raises Unsure."""

    __slots__ = ()


OPAQUE = _Opaque()


def _read_text(value: Any) -> Any:
    """A non-NULL JSON value read as VARCHAR, as DuckDB holds it: `checked_text` for text, a boolean or
    an integer; an object or array as its compact JSON text (`_json_text`)."""
    if isinstance(value, dict | list):
        return _json_text(value)
    if type(value) is float:
        return OPAQUE
    return checked_text(value)


def _json_text(value: Any) -> Any:
    """The compact JSON text DuckDB writes for a value (a JSON leaf read whole, an object where text is
    typed), when Python's `json.dumps` writes the same: printable ASCII text, booleans, nulls, integers
    in DuckDB's range, and lists and objects of those (checked against DuckDB in the tests). OPAQUE
    otherwise (fractions, other characters)."""
    if not _plain(value):
        return OPAQUE
    return json.dumps(value, separators=(",", ":"))


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() and value.isprintable()
    if value is None or value is True or value is False:
        return True
    if type(value) is int:
        return -(1 << 63) <= value < (1 << 64)
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_plain(key) and _plain(item) for key, item in value.items())
    return False


def python_flag(expression: str, structure: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """A function of one event (parsed JSON) with the expression's truth (NULL counts as false), or
    None when the expression is outside the dialect known here. The function raises Unsure on a value
    DuckDB may read otherwise."""
    try:
        parser = _Parser(_tokens(expression), structure)
        node = parser.expression()
        parser.end()
    except Unsupported:
        return None
    if node.kind != "value":
        return None
    evaluate = node.evaluate
    return lambda event: evaluate(event, {}) is True


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(expression):
        found = _TOKEN.match(expression, at)
        if found is None:
            raise Unsupported(expression[at : at + 20])
        at = found.end()
        if found.lastgroup is not None:
            tokens.append((found.lastgroup, found.group()))
    return tokens


class _Node:
    """A compiled expression and what it yields: 'value' (text, boolean or NULL), 'list' (of values),
    'json' (a JSON document: json_extract_string's first argument), 'structs' (a list of structs)."""

    __slots__ = ("evaluate", "kind", "structure")

    def __init__(self, kind: str, evaluate: Evaluator, structure: Any = None) -> None:
        self.kind = kind
        self.evaluate = evaluate
        self.structure = structure  # for 'structs' and a lambda's struct: the element's fields


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], structure: dict[str, Any]) -> None:
        self.tokens = tokens
        self.at = 0
        self.structure = structure
        self.variables: dict[str, Any] = {}  # lambda variable -> its element structure ("VARCHAR": text)

    # ------------------------------------------------------------ tokens

    def _peek(self, offset: int = 0) -> tuple[str, str]:
        at = self.at + offset
        return self.tokens[at] if at < len(self.tokens) else ("end", "")

    def _word(self, *words: str) -> bool:
        kind, text = self._peek()
        if kind == "word" and text.upper() in words:
            self.at += 1
            return True
        return False

    def _mark(self, mark: str) -> bool:
        if self._peek() == ("mark", mark):
            self.at += 1
            return True
        return False

    def _expect_word(self, word: str) -> None:
        if not self._word(word):
            raise Unsupported(word)

    def _expect_mark(self, mark: str) -> None:
        if not self._mark(mark):
            raise Unsupported(mark)

    def _literal(self) -> str:
        kind, text = self._peek()
        if kind != "text":
            raise Unsupported("a text literal")
        self.at += 1
        return text[1:-1].replace("''", "'")

    def end(self) -> None:
        if self.at != len(self.tokens):
            raise Unsupported("trailing SQL")

    # ------------------------------------------------------------ grammar (SQL precedence)

    def expression(self) -> _Node:
        node = self._conjunction()
        while self._word("OR"):
            node = _or(_value(node), _value(self._conjunction()))
        return node

    def _conjunction(self) -> _Node:
        node = self._negation()
        while self._word("AND"):
            node = _and(_value(node), _value(self._negation()))
        return node

    def _negation(self) -> _Node:
        if self._word("NOT"):
            inner = _value(self._negation()).evaluate
            return _Node("value", lambda e, v: None if (x := inner(e, v)) is None else not _truth(x))
        return self._comparison()

    def _comparison(self) -> _Node:
        node = self._primary()
        if self._mark("="):
            return _equals(_value(node), _value(self._primary()))
        if self._word("IS"):
            negated = self._word("NOT")
            self._expect_word("NULL")
            inner = _value(node).evaluate
            if negated:
                return _Node("value", lambda e, v: inner(e, v) is not None)
            return _Node("value", lambda e, v: inner(e, v) is None)
        if self._word("LIKE"):
            pattern = self._literal()
            self._expect_word("ESCAPE")
            if self._literal() != "\\":
                raise Unsupported("an escape other than \\")
            return _like(_value(node), pattern)
        return node

    def _primary(self) -> _Node:
        kind, text = self._peek()
        if kind == "text":
            literal = self._literal()
            return _Node("value", lambda e, v: literal)
        if self._mark("("):
            node = self.expression()
            self._expect_mark(")")
            return node
        if kind != "word":
            raise Unsupported(text)
        word = text.upper()
        if word in ("TRUE", "FALSE", "NULL"):
            self.at += 1
            constant = {"TRUE": True, "FALSE": False, "NULL": None}[word]
            return _Node("value", lambda e, v: constant)
        if word == "CASE":
            self.at += 1
            return self._case()
        if self._peek(1) == ("mark", "("):
            self.at += 2
            node = self._call(text.lower())
            self._expect_mark(")")
            return node
        return self._read()

    def _case(self) -> _Node:
        branches: list[tuple[Evaluator, Evaluator]] = []
        while self._word("WHEN"):
            condition = _value(self.expression()).evaluate
            self._expect_word("THEN")
            branches.append((condition, _value(self.expression()).evaluate))
        if not branches:
            raise Unsupported("CASE without WHEN")
        otherwise = _value(self.expression()).evaluate if self._word("ELSE") else (lambda e, v: None)
        self._expect_word("END")

        def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
            for condition, result in branches:
                holds = condition(event, variables)
                if holds is not None and _truth(holds):
                    return result(event, variables)
            return otherwise(event, variables)

        return _Node("value", evaluate)

    def _arguments(self) -> list[_Node]:
        arguments = [self.expression()]
        while self._mark(","):
            arguments.append(self.expression())
        return arguments

    def _call(self, function: str) -> _Node:
        if function == "list_transform":
            return self._list_transform()
        if function == "regexp_matches":
            return self._regexp_matches()
        if function == "json_extract_string":
            document = self.expression()
            self._expect_mark(",")
            return _json_extract(document, self._literal())
        arguments = self._arguments()
        if function == "coalesce":
            return _coalesce([_value(argument) for argument in arguments])
        if function == "lower" and len(arguments) == 1:
            inner = _value(arguments[0]).evaluate
            return _Node("value", lambda e, v: _text_or_none(inner(e, v), str.lower, keeps_opaque=True))
        if function in _TEXT_TESTS and len(arguments) == 2:
            return _text_test(_TEXT_TESTS[function], _value(arguments[0]), _value(arguments[1]))
        if function == "list_bool_or" and len(arguments) == 1 and arguments[0].kind == "list":
            return _any(arguments[0])
        raise Unsupported(function)

    def _regexp_matches(self) -> _Node:
        inner = _value(self.expression()).evaluate
        self._expect_mark(",")
        search = re.compile(python_regex(self._literal())).search

        def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
            text = inner(event, variables)
            if text is None:
                return None
            if not isinstance(text, str) or "\n" in text:
                raise Unsure  # `$` before a final newline: Python matches there, RE2 does not
            return search(text) is not None

        return _Node("value", evaluate)

    def _list_transform(self) -> _Node:
        source = self.expression()
        if source.kind not in ("list", "structs"):
            raise Unsupported("list_transform over something other than a list")
        self._expect_mark(",")
        self._expect_word("LAMBDA")
        kind, name = self._peek()
        if kind != "word" or name in self.variables:
            raise Unsupported("lambda variable")
        self.at += 1
        self._expect_mark(":")
        self.variables[name] = source.structure if source.kind == "structs" else "VARCHAR"
        body = _value(self.expression()).evaluate
        del self.variables[name]
        items = source.evaluate

        def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
            found = items(event, variables)
            if found is None:
                return None
            return [body(event, {**variables, name: item}) for item in found]

        return _Node("list", evaluate)

    def _read(self) -> _Node:
        """`event."a"."b"`, `raw`, or a lambda variable (`x1`, `x1."a"`)."""
        _, root = self._peek()
        self.at += 1
        keys: list[str] = []
        while self._peek() == ("mark", ".") and self._peek(1)[0] == "name":
            keys.append(self._peek(1)[1][1:-1].replace('""', '"'))
            self.at += 2
        if root == "raw" and not keys:
            return _Node("json", lambda e, v: e, structure=_RAW)
        if root == "event" and keys:
            return _struct_read(self.structure, keys, lambda e, v: e)
        if root in self.variables:
            element = self.variables[root]
            if element == "VARCHAR" and not keys:
                return _Node("value", lambda e, v: v[root])
            if isinstance(element, dict) and keys:
                return _struct_read(element, keys, lambda e, v: v[root])
        raise Unsupported(root)


# ---------------------------------------------------------------- building blocks


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Unsure  # text where SQL wants a boolean: DuckDB would cast it; not our SQL
    return value


def _value(node: _Node) -> _Node:
    """The node as a value: a JSON leaf read whole is its JSON text (`_json_text`); `raw` is the line
    as the sender spelt it, which Python does not keep, so it is refused."""
    if node.kind == "json" and node.structure is not _RAW:
        document = node.evaluate
        return _Node("value", lambda e, v: None if (found := document(e, v)) is None else _json_text(found))
    if node.kind != "value":
        raise Unsupported(f"a {node.kind} where a value is needed")
    return node


def _or(left: _Node, right: _Node) -> _Node:
    first, second = left.evaluate, right.evaluate

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        a = first(event, variables)
        if a is not None and _truth(a):
            return True
        b = second(event, variables)
        if b is not None and _truth(b):
            return True
        return None if a is None or b is None else False

    return _Node("value", evaluate)


def _and(left: _Node, right: _Node) -> _Node:
    first, second = left.evaluate, right.evaluate

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        a = first(event, variables)
        if a is not None and not _truth(a):
            return False
        b = second(event, variables)
        if b is not None and not _truth(b):
            return False
        return None if a is None or b is None else True

    return _Node("value", evaluate)


def _coalesce(arguments: list[_Node]) -> _Node:
    evaluators = [argument.evaluate for argument in arguments]

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        for argument in evaluators:
            found = argument(event, variables)
            if found is not None:
                return found
        return None

    return _Node("value", evaluate)


def _text_or_none(value: Any, operation: Callable[[str], Any], *, keeps_opaque: bool = False) -> Any:
    if value is None or (keeps_opaque and value is OPAQUE):
        return value
    if not isinstance(value, str):
        raise Unsure
    return operation(value)


def _equals(left: _Node, right: _Node) -> _Node:
    first, second = left.evaluate, right.evaluate

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        a, b = first(event, variables), second(event, variables)
        if a is None or b is None:
            return None
        if type(a) is not type(b) or a is OPAQUE:
            raise Unsure  # DuckDB would cast one side; or text whose spelling is DuckDB's own
        return a == b

    return _Node("value", evaluate)


_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda text, part: part in text,
    "starts_with": str.startswith,
    "ends_with": str.endswith,
}


def _text_test(test: Callable[[str, str], bool], left: _Node, right: _Node) -> _Node:
    first, second = left.evaluate, right.evaluate

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        a, b = first(event, variables), second(event, variables)
        if a is None or b is None:
            return None
        if not isinstance(a, str) or not isinstance(b, str):
            raise Unsure
        return test(a, b)

    return _Node("value", evaluate)


def _like(left: _Node, pattern: str) -> _Node:
    """SQL LIKE with `\\` as escape: `%` any text, `_` one character, the rest literal; whole text."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    if escaped:
        raise Unsupported("a pattern ending in its escape")  # DuckDB refuses it
    matcher = re.compile("".join(parts), re.DOTALL).fullmatch
    inner = left.evaluate
    if pattern and set(pattern) == {"%"}:  # any text at all: whatever DuckDB's spelling of it
        return _Node("value", lambda e, v: None if inner(e, v) is None else True)
    return _Node("value", lambda e, v: _text_or_none(inner(e, v), lambda text: matcher(text) is not None))


def _any(items: _Node) -> _Node:
    """list_bool_or: true if an element is; NULL for no element or only NULLs and falses with a NULL."""
    inner = items.evaluate

    def evaluate(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        found = inner(event, variables)
        if found is None:
            return None
        values = [item for item in found if item is not None]
        if any(_truth(item) for item in values):
            return True
        return False if values else None

    return _Node("value", evaluate)


def _struct_read(structure: dict[str, Any], keys: list[str], base: Evaluator) -> _Node:
    """A read of a struct's field, typed by the structure: DuckDB's `json_transform` of the event."""
    node: Any = structure
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise Unsupported(f"field {key!r} is not in the structure")  # DuckDB would refuse to bind it
        node = node[key]

    walk = _walker(base, keys)
    if node == "VARCHAR":
        return _Node("value", lambda e, v: None if (found := walk(e, v)) is None else _read_text(found))
    if node == "JSON":
        return _Node("json", walk)
    if isinstance(node, list) and len(node) == 1 and isinstance(node[0], dict):
        return _Node("structs", lambda e, v: _structs(walk(e, v)), structure=node[0])
    raise Unsupported(f"a read of {'.'.join(keys)} as a whole")


def _walker(base: Evaluator, keys: list[str]) -> Evaluator:
    """The value at `keys` below `base`'s object: NULL for a missing key, a JSON null or a non-object
    on the way (as DuckDB's struct reads and JSON paths without wildcards give)."""

    def walk(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        found: Any = base(event, variables)
        for key in keys:
            found = found.get(key) if isinstance(found, dict) else None
            if found is None:
                return None
        return found

    return walk


def _structs(found: Any) -> list[dict[str, Any] | None] | None:
    if found is None:
        return None
    if not isinstance(found, list) or any(item is not None and not isinstance(item, dict) for item in found):
        raise Unsure  # DuckDB makes a NULL list, or structs of NULLs: kept out of our reckoning
    return found


def _json_extract(document: _Node, path: str) -> _Node:
    """json_extract_string(document, path): the text at the path; with `[*]`, a list of texts."""
    if document.kind != "json":
        raise Unsupported("json_extract_string of something other than a JSON document")
    if not path.startswith("$"):
        raise Unsupported(path)
    steps: list[str | None] = []
    at = 1
    while at < len(path):
        found = _PATH_STEP.match(path, at)
        if found is None:
            raise Unsupported(path)
        steps.append(found.group(1))  # None for [*]
        at = found.end()
    inner = document.evaluate
    if _EACH not in steps:
        walk = _walker(inner, [step for step in steps if step is not None])
        return _Node("value", lambda e, v: None if (found := walk(e, v)) is None else _read_text(found))

    def every(event: dict[str, Any], variables: dict[str, Any]) -> Any:
        found = inner(event, variables)
        if found is None:
            return None
        reached: list[Any] = [found]
        for step in steps:
            following: list[Any] = []
            for item in reached:
                if step is None:
                    if isinstance(item, list):
                        following.extend(item)
                elif isinstance(item, dict) and step in item:
                    following.append(item[step])
            reached = following
        return [None if item is None else _read_text(item) for item in reached]

    return _Node("list", every)

"""Where a query page starts: the key of the last item of the previous page, checked in full.

A page's `next_key` travels through clients (the API's `next` cursor), so a start key that comes
back is input like any other: both backends take it only if it is exactly a key this very query
could have returned - the table key plus the index key, each value of the attribute's type, the
hash value the query asks for, within its range condition. Anything else is `InvalidCursor`, never
a backend error (DynamoDB refuses such an ExclusiveStartKey, SQLite would compare the wrong thing).
"""

from __future__ import annotations

from typing import Any

from mantissa_log.errors import InvalidCursor
from mantissa_log.state.backend import Key, KeyType, TableSpec

# DynamoDB's limit for a sort key (a partition key may hold 2048 bytes; none of ours come close).
MAX_KEY_BYTES = 1024
_INT64 = 1 << 63


def key_types(table: TableSpec, index: str | None) -> dict[str, KeyType]:
    """Every attribute of a start key for a query of `table` (through `index`), with its type."""
    types: dict[str, KeyType] = {table.hash_key: "S"}
    if table.range_key:
        types[table.range_key] = table.range_key_type
    if index is not None:
        spec = table.index(index)
        types.setdefault(spec.hash_key, "S")
        if spec.range_key:
            types.setdefault(spec.range_key, "S")
    return types


def position_key(table: TableSpec, index: str | None, item: dict[str, Any]) -> Key:
    """The start key that continues a query after `item`: its table key plus its index key."""
    return {name: item[name] for name in key_types(table, index)}


def checked_start_key(
    table: TableSpec,
    start_key: object,
    *,
    index: str | None,
    hash_value: Any,
    range_value: Any = None,
    range_from: Any = None,
) -> Key:
    """`start_key` if this query could have returned it as `next_key`, else InvalidCursor."""
    if not isinstance(start_key, dict):
        raise InvalidCursor()
    types = key_types(table, index)
    if set(start_key) != set(types):
        raise InvalidCursor()
    for name, kind in types.items():
        _check_value(start_key[name], kind)
    if index is None:
        hash_name, range_name = table.hash_key, table.range_key
    else:
        spec = table.index(index)
        hash_name, range_name = spec.hash_key, spec.range_key
    if start_key[hash_name] != hash_value:
        raise InvalidCursor()
    if range_value is not None and (range_name is None or start_key[range_name] != range_value):
        raise InvalidCursor()
    if range_from is not None and range_name is not None:
        value = start_key[range_name]
        if type(value) is not type(range_from) or value < range_from:
            raise InvalidCursor()
    return start_key


def _check_value(value: object, kind: KeyType) -> None:
    if kind == "N":
        # bool is an int to Python, not to DynamoDB; SQLite integers are 64-bit.
        if type(value) is not int or not -_INT64 <= value < _INT64:
            raise InvalidCursor()
        return
    if not isinstance(value, str) or not value:
        raise InvalidCursor()
    try:
        size = len(value.encode("utf-8"))  # lone surrogates (`"\ud800"` in JSON) cannot be stored
    except UnicodeEncodeError:
        raise InvalidCursor() from None
    if size > MAX_KEY_BYTES:
        raise InvalidCursor()

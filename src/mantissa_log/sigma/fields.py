"""Where a dotted Sigma field lives in a stored event: dialect-neutral access plans.

Events are stored as `raw` (the JSON text) and `event` (`json_transform(raw, structure)`). A field
the structure knows through objects is a struct leaf; through a list of structs it is a list of
leaves. Anything else (under a `JSON` node, unknown to the structure, or an object rather than a
leaf) is read from JSON text. JSON carries no schema, so every step whose shape we cannot know may
be an array: each such step is tried both as a value and as every element of an array, and the
field matches when any of the resulting values matches (Sigma's rule for list-valued fields).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

# A JSON path step: a key, or EACH for "every element of the array here" (`[*]`).
EACH = None
Step = str | None

# Optional array positions tried per field; each doubles the number of paths read.
MAX_UNKNOWN_ARRAY_STEPS = 6


class FieldPathError(ValueError):
    """The field cannot be expressed as a path (bad characters, too deep to expand)."""


@dataclass(frozen=True)
class StructLeaf:
    """A scalar VARCHAR leaf of `event`: `event.a.b`."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class StructListLeaf:
    """A leaf inside a list of structs: `[x.inner for x in event.list_path]`."""

    list_path: tuple[str, ...]
    inner: tuple[str, ...]


@dataclass(frozen=True)
class JsonValue:
    """A JSON path read as text from `raw` (root is None) or from a JSON node of `event`.

    Without EACH steps this is one value (an object or array reads as its JSON text); with EACH
    steps it is a list of values.
    """

    root: tuple[str, ...] | None
    steps: tuple[Step, ...]

    @property
    def is_list(self) -> bool:
        return EACH in self.steps


Access = StructLeaf | StructListLeaf | JsonValue


def split_field(name: str) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    if any(not part for part in parts):
        raise FieldPathError(f"field '{name}' has an empty path segment")
    if any('"' in part or "'" in part for part in parts):
        raise FieldPathError(f"field '{name}' contains a quote character")
    # JSON paths read `\` as an escape (DuckDB then refuses the whole query at every run), and no
    # log producer names a key with a backslash or a control character.
    if any("\\" in part for part in parts):
        raise FieldPathError(f"field '{name}' contains a backslash")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise FieldPathError(f"field '{name}' contains a control character")
    return parts


def _lookup(node: dict[str, Any], key: str) -> str | None:
    """The structure's own spelling of `key`: SQL struct access is case-insensitive, so is this."""
    if key in node:
        return key
    folded = [name for name in node if name.lower() == key.lower()]
    return folded[0] if len(folded) == 1 else None


def _expand(prefix: tuple[Step, ...], optional: list[bool], keys: tuple[str, ...]) -> list[tuple[Step, ...]]:
    """Every path through `keys` where each flagged position may or may not be an array.

    `optional[i]` says whether an EACH may follow position i (position 0 is before the first key,
    i.e. the starting node itself; position i > 0 follows keys[i - 1]).
    """
    slots = sum(optional)
    if slots > MAX_UNKNOWN_ARRAY_STEPS:
        raise FieldPathError(
            f"field path '{'.'.join(keys)}' has {slots} steps of unknown shape (at most {MAX_UNKNOWN_ARRAY_STEPS})"
        )
    paths: list[tuple[Step, ...]] = []
    for choice in itertools.product((False, True), repeat=slots):
        picks = iter(choice)
        steps: list[Step] = list(prefix)
        for position in range(len(keys) + 1):
            if optional[position] and next(picks):
                steps.append(EACH)
            if position < len(keys):
                steps.append(keys[position])
        paths.append(tuple(steps))
    return paths


def _json_paths(
    root: tuple[str, ...] | None, known: tuple[Step, ...], unknown: tuple[str, ...], *, start_may_be_array: bool
) -> list[Access]:
    """JSON reads: `known` steps (shape known from the structure), then `unknown` keys.

    `start_may_be_array` says whether the value reached by `known` (a JSON node) may be an array.
    """
    optional = [start_may_be_array] + [True] * len(unknown)
    return [JsonValue(root, steps) for steps in _expand(known, optional, unknown)]


def resolve(structure: dict[str, Any], field: str) -> list[Access]:
    """How to read `field` from an event of this structure: one or more alternatives (any may match)."""
    keys = split_field(field)
    node: Any = structure
    struct_path: list[str] = []
    # The same path as JSON steps, for the fallback to `raw`: lists of structs are known arrays.
    json_known: list[Step] = []
    list_at: int | None = None  # index in struct_path after which we are inside a list of structs
    for index, key in enumerate(keys):
        spelled = _lookup(node, key) if isinstance(node, dict) else None
        if spelled is None:
            # Unknown to the structure (or below a leaf): read the raw JSON text.
            return _json_paths(None, tuple(json_known), keys[index:], start_may_be_array=False)
        child = node[spelled]
        struct_path.append(spelled)
        json_known.append(spelled)
        rest = keys[index + 1 :]
        if child == "JSON":
            if list_at is None:
                return _json_paths(tuple(struct_path), (), rest, start_may_be_array=True)
            # A JSON node inside a list of structs: read it from raw through the list.
            return _json_paths(None, tuple(json_known), rest, start_may_be_array=True)
        if isinstance(child, list):
            if list_at is not None or not child or not isinstance(child[0], dict):
                # A list inside a list (or of scalars): raw JSON handles any nesting.
                json_known.append(EACH)
                if not rest:
                    return [JsonValue(None, tuple(json_known[:-1])), JsonValue(None, tuple(json_known))]
                return _json_paths(None, tuple(json_known), rest, start_may_be_array=False)
            list_at = len(struct_path)
            json_known.append(EACH)
            if not rest:
                # The list itself: its JSON text, and each element's.
                return [JsonValue(None, tuple(json_known[:-1])), JsonValue(None, tuple(json_known))]
            node = child[0]
            continue
        if isinstance(child, dict):
            if not rest:
                # An object field: compared as its JSON text.
                return [JsonValue(None, tuple(json_known))]
            node = child
            continue
        # A scalar leaf; a rule reading below it knows better than the structure: read raw.
        if rest:
            return _json_paths(None, tuple(json_known), rest, start_may_be_array=True)
        if list_at is None:
            return [StructLeaf(tuple(struct_path))]
        return [StructListLeaf(tuple(struct_path[:list_at]), tuple(struct_path[list_at:]))]
    raise FieldPathError(f"field '{field}' is empty")  # pragma: no cover - split_field rejects it

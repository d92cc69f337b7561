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
import re
from dataclasses import dataclass
from typing import Any

# A JSON path step: a key, EACH for "every element of the array here" (`[*]`), or a Where.
EACH = None


@dataclass(frozen=True)
class Where:
    """Keep the elements (objects, after an EACH) whose `key` equals `value`, case-insensitively.

    Written `list[key=value]` in a field path: `events.parameters[name=SETTING_NAME].value` reads
    the value of the parameter named SETTING_NAME (lists of name/value pairs are common in audit
    logs: Google Workspace parameters, Entra ID additionalDetails and modifiedProperties).
    """

    key: str
    value: str


Step = str | Where | None

# A mapping's name for the whole event as JSON text (SigmaHQ's Microsoft 365 `Payload`).
WHOLE_EVENT = "$"

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


@dataclass(frozen=True)
class Part:
    """One segment of a field path: a key, optionally selecting elements (`key[k=v]`)."""

    key: str
    where: Where | None = None


_SELECTOR = re.compile(r"([^.\[\]]+)(?:\[([^=\[\]]+)=([^\[\]]*)\])?(?:\.|$)")


def parse_field(name: str) -> tuple[Part, ...]:
    """A field path; a selector's value may hold dots (`modifiedProperties[displayName=A.B]`)."""
    if '"' in name or "'" in name:
        raise FieldPathError(f"field '{name}' contains a quote character")
    # JSON paths read `\` as an escape (DuckDB then refuses the whole query at every run), and no
    # log producer names a key with a backslash or a control character.
    if "\\" in name:
        raise FieldPathError(f"field '{name}' contains a backslash")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise FieldPathError(f"field '{name}' contains a control character")
    parts: list[Part] = []
    pos = 0
    while pos < len(name):
        match = _SELECTOR.match(name, pos)
        if match is None or match.end() == pos:
            raise FieldPathError(f"field '{name}' has an empty or malformed path segment")
        key, where_key, where_value = match.groups()
        parts.append(Part(key, None if where_key is None else Where(where_key, where_value)))
        pos = match.end()
    if not parts or name.endswith("."):
        raise FieldPathError(f"field '{name}' has an empty path segment")
    return tuple(parts)


def split_field(name: str) -> tuple[str, ...]:
    parts = parse_field(name)
    if any(part.where is not None for part in parts):
        raise FieldPathError(f"field '{name}' selects list elements where a plain path is needed")
    return tuple(part.key for part in parts)


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


def _respell(node: Any, keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` in the structure's own spelling as far as it knows them (JSON reads are case-sensitive)."""
    spelled: list[str] = []
    for key in keys:
        found = _lookup(node, key) if isinstance(node, dict) else None
        spelled.append(found or key)
        node = node[found] if found else None
        if isinstance(node, list):
            node = node[0] if node else None
    return tuple(spelled)


_MAYBE_EACH = "<maybe an array>"  # template marker, never a real step


def _selected(structure: dict[str, Any], parts: tuple[Part, ...]) -> list[Access]:
    """A path with selectors, read from the raw JSON, each key spelled as the structure spells it.

    Where the structure does not say that a value is an object, it may be an array: both readings
    are tried (as for any JSON read). A selector's list is known to be one.
    """
    template: list[Step] = []
    node: Any = structure
    for part in parts:
        found = _lookup(node, part.key) if isinstance(node, dict) else None
        child = node[found] if found else None
        template.append(found or part.key)
        if isinstance(child, list) or part.where is not None:
            template.append(EACH)
            if part.where is not None:
                template.append(part.where)
            node = child[0] if isinstance(child, list) and child and isinstance(child[0], dict) else None
        elif isinstance(child, dict):
            node = child
        else:
            template.append(_MAYBE_EACH)
            node = None
    slots = template.count(_MAYBE_EACH)
    if slots > MAX_UNKNOWN_ARRAY_STEPS:
        raise FieldPathError(f"field path has {slots} steps of unknown shape (at most {MAX_UNKNOWN_ARRAY_STEPS})")
    paths: list[Access] = []
    for choice in itertools.product((False, True), repeat=slots):
        picks = iter(choice)
        steps = [EACH if step == _MAYBE_EACH else step for step in template if step != _MAYBE_EACH or next(picks)]
        paths.append(JsonValue(None, tuple(steps)))
    return paths


def _dotted_keys(structure: dict[str, Any], parts: tuple[Part, ...]) -> tuple[Part, ...]:
    """Parts rejoined where the structure has a key with dots in it (Graph's `@odata.type`)."""
    merged: list[Part] = []
    node: Any = structure
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, dict):
            for key in (name for name in node if "." in name):
                count = key.count(".") + 1
                window = parts[i : i + count]
                plain = all(piece.where is None for piece in window[:-1])
                if len(window) == count and plain and ".".join(p.key for p in window).lower() == key.lower():
                    part = Part(key, window[-1].where)
                    i += count - 1
                    break
        merged.append(part)
        i += 1
        found = _lookup(node, part.key) if isinstance(node, dict) else None
        node = node[found] if found else None
        if isinstance(node, list):
            node = node[0] if node and isinstance(node[0], dict) else None
    return tuple(merged)


def resolve(structure: dict[str, Any], field: str) -> list[Access]:
    """How to read `field` from an event of this structure: one or more alternatives (any may match)."""
    if field == WHOLE_EVENT:
        return [JsonValue(None, ())]
    parts = _dotted_keys(structure, parse_field(field))
    if any(part.where is not None for part in parts):
        return _selected(structure, parts)
    keys = tuple(part.key for part in parts)
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
                inner = child[0] if child and isinstance(child[0], dict) else None
                return _json_paths(None, tuple(json_known), _respell(inner, rest), start_may_be_array=False)
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

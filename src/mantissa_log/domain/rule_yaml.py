"""Reading rule YAML safely: its shape is checked on the event stream before any node is built.

A rule body is at most 256 KB, but YAML can make it mean far more: an alias names an anchored
node, and nine aliases per level expand 433 bytes into millions of nodes (the "billion laughs").
Anything that walks the composed tree (line indexing, pySigma, our own checks) then pays for
every expansion. So before composing, one pass over the parser's events (libyaml when present,
flat and iterative) refuses:

- anchors and aliases (a rule never needs them; refusing beats bounding an expansion count),
- nesting deeper than MAX_DEPTH (Python's constructors recurse per level),
- more than MAX_NODES nodes (a bound on every later linear pass).

Only then is the text composed and constructed, once, with the same (C) loader. A value the
constructor cannot build (an integer of 5,000 digits, an impossible date) is a clear error too,
never a ValueError escaping as a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from mantissa_log.errors import ValidationFailed

MAX_DEPTH = 64
MAX_NODES = 20_000

# libyaml's loader is about ten times faster than the pure-Python one; same documents, same marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENERS = frozenset({yaml.MappingStartEvent, yaml.SequenceStartEvent})
_CLOSERS = frozenset({yaml.MappingEndEvent, yaml.SequenceEndEvent})


@dataclass
class LoadedYaml:
    nodes: list[yaml.Node]  # one per non-empty document, for line lookups
    documents: list[Any]  # the constructed values, in the same order


def _line(mark: Any) -> int | None:
    return int(mark.line) + 1 if mark is not None else None


def _yaml_error(exc: yaml.YAMLError, field: str) -> ValidationFailed:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return ValidationFailed(f"YAML: {problem}", field=field, line=_line(mark))


def check_shape(text: str, *, field: str = "body") -> None:
    """Refuse anchors, aliases, deep nesting and too many nodes, reading only parser events."""
    depth = 0
    nodes = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            kind = type(event)
            if kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
                raise ValidationFailed(
                    "YAML anchors and aliases (&name, *name) are not allowed in rule bodies: write the value out",
                    field=field,
                    line=_line(event.start_mark),
                )
            if kind is yaml.ScalarEvent or kind in _OPENERS:
                nodes += 1
                if nodes > MAX_NODES:
                    raise ValidationFailed(
                        f"the YAML holds more than {MAX_NODES} values", field=field, line=_line(event.start_mark)
                    )
                if kind in _OPENERS:
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise ValidationFailed(
                            f"the YAML nests deeper than {MAX_DEPTH} levels", field=field, line=_line(event.start_mark)
                        )
            elif kind in _CLOSERS:
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, field) from None


def load_documents(text: str, *, field: str = "body") -> LoadedYaml:
    """Every non-empty document of `text`, composed and constructed once, after `check_shape`."""
    check_shape(text, field=field)
    loaded = LoadedYaml([], [])
    loader = _LOADER(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            value = loader.construct_document(node)
            if value is None:
                continue
            loaded.nodes.append(node)
            loaded.documents.append(value)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, field) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # int('9' * 5000) refuses past 4,300 digits; dates out of range; anything else unbuildable.
        reason = "a number has too many digits" if "digits" in str(exc) else "a value cannot be read"
        raise ValidationFailed(f"YAML: {reason}", field=field) from None
    finally:
        loader.dispose()
    return loaded

"""Declarative record checks: what makes a JSON object an event of a source.

Declarative (rather than arbitrary functions) so that the native ingest (`lake.native_checks`) can
run exactly the same test in SQL and send only the records that fail it to Python for the reason.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mantissa_log.lake.reader import type_name


class Require(NamedTuple):
    """Top-level keys that must hold a non-empty string (`strings`), an object (`objects`) or an
    array (`lists`); `values` pins keys to a few strings, compared ASCII case-insensitively
    (Azure's `category`, EventBridge's `source`). `what` names the kind of record in the reasons
    of an `AnyOf`.
    """

    strings: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    what: str = ""

    def __call__(self, record: dict[str, Any]) -> str | None:
        for key in self.strings:
            value = record.get(key)
            if value is None:
                return f"missing {key}"
            if not isinstance(value, str) or not value:
                return f"{key} is {type_name(value) if value != '' else 'empty'}, not a non-empty string"
        for keys, kind, name in ((self.objects, dict, "a JSON object"), (self.lists, list, "a JSON array")):
            for key in keys:
                value = record.get(key)
                if value is None:
                    return f"missing {key}"
                if not isinstance(value, kind):
                    return f"{key} is {type_name(value)}, not {name}"
        for key, allowed in self.values:
            value = record.get(key)
            if value is None:
                return f"missing {key}"
            if not isinstance(value, str) or not value.isascii() or value.lower() not in folded(allowed):
                return f"{key} is not {' or '.join(allowed)}"
        return None

    def read_keys(self) -> tuple[str, ...]:
        """Every key the check reads, in order."""
        return (*self.strings, *self.objects, *self.lists, *(key for key, _ in self.values))


def folded(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(value.lower() for value in values)


class AnyOf(NamedTuple):
    """A record passes when one of the alternatives passes (a source with two native shapes)."""

    options: tuple[Require, ...]

    def __call__(self, record: dict[str, Any]) -> str | None:
        reasons = []
        for option in self.options:
            reason = option(record)
            if reason is None:
                return None
            reasons.append(f"as {option.what}: {reason}" if option.what else reason)
        return "; ".join(reasons)

    def read_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for option in self.options for key in option.read_keys()))


Check = Require | AnyOf


def require_strings(*keys: str) -> Require:
    """A check that each key is present with a non-empty string value."""
    return Require(strings=keys)

"""What a source's mapping is made of, and helpers shared by the tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.processing.pipeline import ProcessingItem

from mantissa_log.sigma.transformations import FieldNames, MappedFieldNames, Target


@dataclass(frozen=True)
class SourceFields:
    """Field names, plus value rewrites that run on SigmaHQ's names before the names change."""

    names: FieldNames
    # Fresh processing items per pipeline (pySigma items hold state), applied before the renaming.
    before: Callable[[], list[ProcessingItem]] = field(default=lambda: [])

    def items(self, source: str) -> list[ProcessingItem]:
        rename = ProcessingItem(
            identifier=f"mantissa_{source}_field_names", transformation=MappedFieldNames(names=self.names)
        )
        return [*self.before(), rename]


def lower_first(name: str) -> str:
    """`AuthenticationRequirement` -> `authenticationRequirement` (Log Analytics -> Graph names)."""
    return name[:1].lower() + name[1:]


def top_level(structure: dict[str, Any]) -> frozenset[str]:
    return frozenset(key.lower() for key in structure)


def under(prefix: str, keep: frozenset[str], *, also_bare: bool = False) -> Callable[[str], Target]:
    """A fallback for names of a property bag: a name whose first segment is not one of `keep`
    (case-insensitive) is read under `prefix` (first letter lowered); `also_bare` reads it at the
    top level too (a source with two shapes)."""

    def fallback(name: str) -> Target:
        if name.split(".", 1)[0].lower() in keep:
            return None
        nested = f"{prefix}.{lower_first(name)}"
        return (nested, lower_first(name)) if also_bare else nested

    return fallback

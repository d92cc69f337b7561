"""pySigma transformations the per-source field mappings need beyond pySigma's own.

- `MappedFieldNames`: field names through a `FieldNames` table (exact names, prefixes and a
  fallback function; case-insensitive where the source's native names allow it).
- `RewriteValues`: values of some fields rewritten (a prefix the native value carries, a suffix it
  lacks, another spelling of the same thing), before the field is renamed.
- `FieldByValue`: a field whose meaning depends on its value (Entra's `Status: Success` is
  `properties.status.errorCode: 0`), for plain values only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sigma.processing.transformations.base import DetectionItemTransformation, FieldMappingTransformationBase
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaString

# A field's new name(s): None keeps the name, a tuple means "any of these" (OR).
Target = str | tuple[str, ...] | None


@dataclass(frozen=True)
class FieldNames:
    """A source's names for what SigmaHQ's rules call a field.

    `exact` and `prefixes` compare case-insensitively unless `case_sensitive` (a source whose
    native names differ from SigmaHQ's only by case, like Microsoft 365's `Status` and `status`).
    `fallback` decides for every other name (None: keep it).
    """

    exact: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)
    fallback: Callable[[str], Target] | None = None
    case_sensitive: bool = False

    def lookup(self, name: str) -> Target:
        fold = (lambda text: text) if self.case_sensitive else str.lower
        folded = fold(name)
        for key, target in self.exact.items():
            if fold(key) == folded:
                return target
        for prefix, replacement in self.prefixes.items():
            if folded.startswith(fold(prefix)):
                return replacement + name[len(prefix) :]
        return self.fallback(name) if self.fallback else None

    def first(self, name: str) -> str:
        """One name for a field (a correlation's group-by needs a single value)."""
        target = self.lookup(name)
        if target is None:
            return name
        return target if isinstance(target, str) else target[0]


@dataclass
class MappedFieldNames(FieldMappingTransformationBase):
    names: FieldNames = field(default_factory=FieldNames)

    def apply_field_name(self, field: str | None) -> str | list[str] | None:
        if field is None:
            return None
        target = self.names.lookup(field)
        if target is None or target == field:
            return None
        return target if isinstance(target, str) else list(target)


def _matches(item: SigmaDetectionItem, fields: frozenset[str], *, case_sensitive: bool = False) -> bool:
    if item.field is None:
        return False
    return (item.field if case_sensitive else item.field.lower()) in fields


@dataclass
class RewriteValues(DetectionItemTransformation):
    """String values of the named fields through `rewrite` (None keeps a value). `fields` are
    lower-cased names compared case-insensitively, unless `case_sensitive`."""

    fields: frozenset[str] = frozenset()
    rewrite: Callable[[SigmaString], SigmaString | list[SigmaString] | None] = lambda value: None
    case_sensitive: bool = False

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        if not _matches(detection_item, self.fields, case_sensitive=self.case_sensitive):
            return None
        changed = False
        values: list[object] = []
        for value in detection_item.value:
            new = self.rewrite(value) if isinstance(value, SigmaString) else None
            if new is None:
                values.append(value)
                continue
            changed = True
            values.extend(new if isinstance(new, list) else [new])
        if not changed:
            return None
        detection_item.value = values  # type: ignore[assignment]
        return detection_item


@dataclass
class FieldByValue(DetectionItemTransformation):
    """`field: value` becomes `target_field: target_value` when every value is a plain string the
    table knows (lower-cased keys); otherwise the item is left to the field mapping."""

    field_name: str = ""
    table: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetection | SigmaDetectionItem | None:
        if not _matches(detection_item, frozenset({self.field_name.lower()})):
            return None
        targets = []
        for value in detection_item.value:
            if not isinstance(value, SigmaString) or value.contains_special():
                return None
            target = self.table.get(str(value).lower())
            if target is None:
                return None
            targets.append(target)
        fields = {name for name, _ in targets}
        if len(fields) != 1:
            return None
        detection_item.field = fields.pop()
        detection_item.value = [SigmaString.from_str(value) for _, value in targets]
        return detection_item


def plain_suffix_removed(suffix: str) -> Callable[[SigmaString], SigmaString | None]:
    """A rewrite dropping a case-insensitive literal suffix (`login.googleapis.com` -> `login`)."""

    def rewrite(value: SigmaString) -> SigmaString | None:
        parts = list(value.s)
        if not parts or not isinstance(parts[-1], str) or not parts[-1].lower().endswith(suffix.lower()):
            return None
        head = parts[-1][: -len(suffix)]
        new = SigmaString()
        new.s = [*parts[:-1], head] if head else parts[:-1]
        return new if new.s else None

    return rewrite


Rewrite = Callable[[SigmaString], SigmaString | list[SigmaString] | None]


def plain_values(table: Mapping[str, str | list[str]]) -> Rewrite:
    """A rewrite of whole plain values, compared case-insensitively (`success` -> `Succeeded`, ...)."""
    folded = {key.lower(): value for key, value in table.items()}

    def rewrite(value: SigmaString) -> SigmaString | list[SigmaString] | None:
        if value.contains_special():
            return None
        found = folded.get(str(value).lower())
        if found is None:
            return None
        return SigmaString.from_str(found) if isinstance(found, str) else [SigmaString.from_str(v) for v in found]

    return rewrite

"""Where a pySigma validation issue is, and how to say it: the line of its key, and one message.

The place is found from what the issue names (a tag, a reference, a detection item, a value, a
detection, a field) rather than from its class, so issues of validators added later are placed too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sigma.modifiers import reverse_modifier_mapping
from sigma.rule import SigmaDetectionItem, SigmaLogSource, SigmaRuleTag
from sigma.types import SigmaString
from sigma.validators.base import SigmaValidationIssue
from sigma.validators.core.condition import (
    AllOfThemConditionIssue,
    DanglingConditionIssue,
    ThemConditionWithSingleDetectionIssue,
)
from sigma.validators.core.logsources import FieldnameLogsourceIssue
from sigma.validators.core.metadata import DuplicateReferencesIssue
from sigma.validators.core.tags import DuplicateTagIssue

from mantissa_log.sigma.yaml_lines import DocumentLines

# Issues about a repeated entry point at its repetition, the line to delete.
REPEATS = (DuplicateTagIssue, DuplicateReferencesIssue)
CONDITION_ISSUES = (AllOfThemConditionIssue, ThemConditionWithSingleDetectionIssue, DanglingConditionIssue)


def _pick(lines: list[int], issue: SigmaValidationIssue) -> int | None:
    if not lines:
        return None
    return lines[-1] if isinstance(issue, REPEATS) and len(lines) > 1 else lines[0]


def _item_key(item: SigmaDetectionItem) -> str:
    names = [reverse_modifier_mapping.get(m.__name__, m.__name__) for m in item.modifiers]
    return "|".join([item.field or "", *names])


def _detection_item_line(item: SigmaDetectionItem, doc: DocumentLines) -> int | None:
    if item.field is None:  # a keyword: there is no key, only its values
        values = {str(v.original) for v in item.original_value or [] if isinstance(v, SigmaString)}
        return next((line for _, line, text in doc.scalars_under("detection") if text in values), None)
    exact = _item_key(item)
    same_field: list[int] = []
    for path, line in doc.keys.items():
        if path[:1] != ("detection",) or path[-1].isdigit():
            continue
        if path[-1] == exact:
            return line
        if path[-1].split("|")[0] == item.field:
            same_field.append(line)
    return min(same_field, default=None)


def _value_line(value: SigmaString, doc: DocumentLines) -> int | None:
    return next((line for _, line, text in doc.scalars_under("detection") if text == value.original), None)


def issue_line(issue: SigmaValidationIssue, doc: DocumentLines) -> int | None:
    """The line in `doc` of what the issue is about, or None when it names nothing found there."""
    fields = {f.name: getattr(issue, f.name) for f in dataclasses.fields(issue) if f.name != "rules"}
    tag, reference = fields.get("tag"), fields.get("reference")
    item, string = fields.get("detection_item"), fields.get("string")
    if isinstance(tag, SigmaRuleTag):
        return _pick(doc.items_equal("tags", str(tag)), issue)
    if isinstance(reference, str):
        return _pick(doc.items_equal("references", reference), issue)
    if isinstance(item, SigmaDetectionItem):
        return _detection_item_line(item, doc)
    if isinstance(string, SigmaString):
        return _value_line(string, doc)
    if isinstance(issue, CONDITION_ISSUES):
        return doc.line_of("detection", "condition")
    if "detection_name" in fields:
        return doc.line_of("detection", str(fields["detection_name"]))
    if "fieldname" in fields:
        under = ("logsource",) if isinstance(issue, FieldnameLogsourceIssue) else ()
        return doc.line_of(*under, str(fields["fieldname"]))
    if "filename" in fields:
        return doc.first_line  # about the file itself, not a key in it
    if "identifier" in fields:
        return doc.line_of("id")
    if "logsource" in fields:
        return doc.line_of("logsource")
    return doc.line_of("title")  # the rule as a whole (e.g. it has no id): where it is named


def _render(value: Any) -> str:
    if isinstance(value, SigmaDetectionItem):
        return _item_key(value) if value.field is not None else "keyword"
    if isinstance(value, SigmaString):
        return repr(value.original)  # repr shows the control characters some issues are about
    if isinstance(value, SigmaLogSource):
        parts = {"category": value.category, "product": value.product, "service": value.service}
        return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)
    if isinstance(value, set | frozenset | list | tuple):
        names = sorted(reverse_modifier_mapping.get(getattr(v, "__name__", ""), str(v)) for v in value)
        return ", ".join(names)
    if isinstance(value, str):
        return repr(value)
    return str(value)


def issue_message(issue: SigmaValidationIssue) -> str:
    """pySigma's description of the issue, then what it is about (the tag, the title, ...)."""
    details = [_render(getattr(issue, f.name)) for f in dataclasses.fields(issue) if f.name != "rules"]
    return f"{issue.description}: {'; '.join(details)}" if details else issue.description

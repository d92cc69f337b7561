"""The rule format: a Sigma document plus Mantissa's own fields, with errors that name the line.

```yaml
title: Console login without MFA          # ... any Sigma rule (or a correlation + its base rules,
logsource: {product: aws, service: cloudtrail}   #     as several YAML documents)
detection: {...}
level: high
# Mantissa fields (all optional):
schedule: rate(5 minutes)                  # EventBridge rate(...) / cron(...)
threshold: 1                               # matching events in the window needed to alert
severity: high                             # default: Sigma `level` (informational -> info)
enabled: true
alert_destinations: [slack, pagerduty]
lookback: 1h                               # window counted for threshold (default: the schedule period)
suppression: 1h                            # repeats of the same alert within this are folded
source: cloudtrail                         # override the log source chosen from `logsource`
tests:
  - {name: root login, match: true,  event: {...}}
  - {name: with MFA,   match: false, event: {...}}
```
The Sigma part is parsed by pySigma (in `sigma/`); this module only splits, types and locates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import Field

from mantissa_log.domain.common import IntegrationType, Severity, StrictModel
from mantissa_log.domain.log_sources import SourceName
from mantissa_log.domain.rule_yaml import load_documents
from mantissa_log.domain.validation import parse_model
from mantissa_log.errors import ValidationFailed

MANTISSA_KEYS = frozenset(
    {"schedule", "threshold", "severity", "enabled", "alert_destinations", "lookback", "suppression", "source", "tests"}
)
LEVEL_TO_SEVERITY: dict[str, Severity] = {
    "informational": "info",
    "info": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
MAX_RULE_BYTES = 256 * 1024


class RuleTestCase(StrictModel):
    name: str | None = None
    match: bool
    event: dict[str, Any]


class MantissaFields(StrictModel):
    schedule: str | None = None
    threshold: int | None = Field(default=None, ge=1, le=1_000_000)
    severity: Severity | None = None
    enabled: bool | None = None
    alert_destinations: list[IntegrationType] | None = None
    lookback: str | None = None
    suppression: str | None = None
    source: SourceName | None = None
    tests: list[RuleTestCase] = Field(default_factory=list)


@dataclass
class RuleDocument:
    text: str
    documents: list[dict[str, Any]]
    mantissa: MantissaFields
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def main(self) -> dict[str, Any]:
        """The document that carries the title: the correlation when there is one, else the rule."""
        for doc in self.documents:
            if "correlation" in doc:
                return doc
        return self.documents[0]

    @property
    def title(self) -> str:
        return str(self.main.get("title") or "untitled rule")

    @property
    def rule_id(self) -> str | None:
        value = self.main.get("id")
        return str(value) if value else None

    @property
    def severity(self) -> Severity:
        if self.mantissa.severity:
            return self.mantissa.severity
        level = str(self.main.get("level") or "").lower()
        return LEVEL_TO_SEVERITY.get(level, "medium")

    def line_of(self, path: str) -> int | None:
        """Line (1-based) of a dotted key path, or of its nearest located parent."""
        parts = path.split(".")
        while parts:
            found = self.lines.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None


def _index_lines(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            out.setdefault(key, key_node.start_mark.line + 1)
            _index_lines(value_node, key + ".", out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = f"{prefix}{i}"
            out.setdefault(key, item.start_mark.line + 1)
            _index_lines(item, key + ".", out)


def parse_rule_document(text: str) -> RuleDocument:
    """Split and type a rule body. Errors carry the field and the YAML line."""
    if len(text.encode()) > MAX_RULE_BYTES:
        raise ValidationFailed(f"rule body over {MAX_RULE_BYTES} bytes", field="body")
    loaded = load_documents(text)
    nodes, documents = loaded.nodes, loaded.documents
    if not documents:
        raise ValidationFailed("empty rule body", field="body", line=1)
    for number, doc in enumerate(documents):
        if not isinstance(doc, dict):
            line = nodes[number].start_mark.line + 1 if number < len(nodes) else None
            raise ValidationFailed("a rule document must be a YAML mapping", field="body", line=line)
    lines: dict[str, int] = {}
    for node in nodes:
        _index_lines(node, "", lines)
    own: dict[str, Any] = {}
    for doc in documents:
        for key in MANTISSA_KEYS & doc.keys():
            own[key] = doc.pop(key)
    document = RuleDocument(text=text, documents=documents, mantissa=MantissaFields(), lines=lines)
    try:
        document.mantissa = parse_model(MantissaFields, own)
    except ValidationFailed as exc:
        exc.line = document.line_of(exc.field or "")
        raise
    return document

"""The prompt for drafting a rule: the rule format, the log sources and their fields."""

from __future__ import annotations

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.query_schema import table_fields


def _source_line(name: str, with_fields: bool) -> str:
    pairs = SOURCES[name].sigma_logsources
    if pairs:
        product, service = pairs[0]
        logsource = f"logsource: {{product: {product}" + (f", service: {service}" if service else "") + "}"
    else:
        logsource = f"logsource: {{product: {name}}} and the Mantissa field `source: {name}`"
    line = f"- {name}: {logsource}"
    if with_fields:
        paths = [f.path.removeprefix("event.") for f in table_fields(name) if f.path.startswith("event.")]
        if paths:
            line += "\n  fields: " + ", ".join(p.replace('"', "") for p in paths)
    return line


def draft_system_prompt(sources_with_data: list[str]) -> str:
    described = [_source_line(name, name in sources_with_data) for name in SOURCES]
    return "\n\n".join(
        [
            "You write detection rules for Mantissa Log, a SIEM that runs Sigma rules over stored log events.",
            "ANSWER FORMAT: exactly one fenced code block tagged yaml holding one Sigma rule, then one or two "
            "sentences saying what it detects. No other code blocks.",
            "THE RULE: title, id (a new UUID), status: experimental, description, logsource, detection (named "
            "selections and a condition), falsepositives, level (informational, low, medium, high or critical). "
            "Field names are the event's own keys as dotted paths (userIdentity.type), exactly as listed for the "
            "source; values match case-insensitively; use modifiers such as |contains, |startswith, |endswith, "
            "|re, |cidr where needed. Do not add schedule, threshold, enabled or alert_destinations.",
            "TESTS: end the rule with a `tests:` list of exactly two entries, each with a name, `match:` and an "
            "`event:` holding a complete example event of that source as a YAML mapping: the first "
            "(match: true) must be caught by the rule, the second (match: false) must not. They are run.",
            "LOG SOURCES (the logsource that selects each; fields are listed for sources that hold data):",
            "\n".join(described),
        ]
    )


def fix_message(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"The rule did not pass validation:\n{listed}\nAnswer again with one corrected ```yaml block holding the "
        "whole rule with its two tests, and a short explanation."
    )

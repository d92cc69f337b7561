"""The SQL half of the native ingest's decision: which JSON paths a line is read at, and the check.

`lake.native.classify_sql` extracts every value the decision needs with one `json_extract` per
row. The keys come in two kinds, read the way the Python path reads them:
- check and envelope keys are top-level keys, as `Require` reads them (`record.get(key)`), even
  when they contain a dot (`@odata.type`);
- time and id fields are read as `fields.lookup` reads them: the top-level key if present (even
  holding null), else the dotted path into nested objects (`properties.id`).
A key's SQL is the JSON text of its value (NULL when absent); `k<n>`/`v<n>` columns derived from it
hold its kind (first character) and its text (a string's value, decoded).
"""

from __future__ import annotations

from mantissa_log.lake import sql
from mantissa_log.lake.parsers.checks import AnyOf, Require, folded


class Extraction:
    """The JSON paths one row is read at, and each key's expression over them (`x[i]`)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.slots: dict[str, int] = {}  # expression -> slot number (columns k<n>, v<n>)

    def _path(self, path: str) -> str:
        if path not in self.paths:
            self.paths.append(path)
        return f"x[{self.paths.index(path) + 1}]"

    def literal(self, key: str) -> int:
        """The slot of a top-level key."""
        return self._slot(self._path(f'$."{key}"'))

    def lookup(self, key: str) -> int:
        """The slot of a time or id field: the top-level key if present, else the nested path."""
        if "." not in key:
            return self.literal(key)
        top = self._path(f'$."{key}"')
        nested = self._path("$" + "".join(f'."{part}"' for part in key.split(".")))
        return self._slot(f"coalesce({top}, {nested})")

    def _slot(self, expression: str) -> int:
        return self.slots.setdefault(expression, len(self.slots) + 1)

    def path_list(self) -> str:
        return ", ".join(sql.quote_literal(path) for path in self.paths or ['$.""'])


def check_keys(extraction: Extraction, check: Require | AnyOf | None) -> None:
    """Register every key the check reads (so that slots exist before the SQL is written)."""
    for key in check.read_keys() if check is not None else ():
        extraction.literal(key)


def check_sql(extraction: Extraction, check: Require | AnyOf | None) -> str:
    """True exactly when the Python check returns None (the row's keys are already extracted)."""
    options = _options(check)
    alternatives = [_require_sql(extraction, option) for option in options]
    return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"


def _options(check: Require | AnyOf | None) -> tuple[Require, ...]:
    if isinstance(check, AnyOf):
        return check.options
    return (check if isinstance(check, Require) else Require(),)


def _require_sql(extraction: Extraction, check: Require) -> str:
    passes = []
    for key in check.strings:
        i = extraction.literal(key)
        passes.append(f"(k{i} = '\"' AND v{i} <> '')")
    passes += [f"k{extraction.literal(key)} = '{{'" for key in check.objects]
    passes += [f"k{extraction.literal(key)} = '['" for key in check.lists]
    for key, allowed in check.values:
        i = extraction.literal(key)
        choices = ", ".join(sql.quote_literal(value) for value in sorted(folded(allowed)))
        # strlen (bytes) = length (characters): ASCII only, as the Python check demands.
        passes.append(f"(k{i} = '\"' AND strlen(v{i}) = length(v{i}) AND lower(v{i}) IN ({choices}))")
    return "(" + " AND ".join(passes) + ")" if passes else "true"

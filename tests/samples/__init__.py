"""Sample events per cloud source (see README.md): loaded as the records they hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent

# Key of the list a sample file wraps its records in (an API page), if any.
WRAPPERS = {"azure_pim": "value", "google_workspace": "items", "kubernetes": "items"}


def sample_path(source: str) -> Path:
    return SAMPLES / f"{source}.json"


def sample_records(source: str) -> list[dict[str, Any]]:
    value = json.loads(sample_path(source).read_text(encoding="utf-8"))
    records = value[WRAPPERS[source]] if source in WRAPPERS else value
    assert isinstance(records, list)
    return records


def compact(record: Any) -> str:
    """One JSON line as the parsers store it (so hash ids agree both ways)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)

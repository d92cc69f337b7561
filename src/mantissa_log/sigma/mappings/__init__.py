"""Field names per log source added in issue 13: what SigmaHQ's rules call a field -> our event path.

Events keep their native shape; these tables (and a few value rewrites) carry SigmaHQ's names, most
of them Log Analytics column names for Azure and ECS-like names for Microsoft 365, to the native
paths. docs/SOURCES.md explains every choice; `SOURCE_FIELDS` is what `sigma.pipelines` applies.
"""

from __future__ import annotations

from mantissa_log.sigma.mappings.azure import AZURE_FIELDS
from mantissa_log.sigma.mappings.base import SourceFields
from mantissa_log.sigma.mappings.others import OTHER_FIELDS

SOURCE_FIELDS: dict[str, SourceFields] = {**AZURE_FIELDS, **OTHER_FIELDS}

__all__ = ["SOURCE_FIELDS", "SourceFields"]

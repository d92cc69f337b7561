"""What a question leaves in the audit log, the same from the API and from the web UI."""

from __future__ import annotations

import hashlib

from mantissa_log.errors import MantissaError, QueryRefused
from mantissa_log.services.query.service import QueryAnswer

# Enough SQL to see what ran; the hash names it whole.
AUDITED_SQL_CHARS = 2000


def answer_detail(answer: QueryAnswer) -> dict[str, str]:
    return {
        "conversation_id": answer.conversation_id or "",
        "outcome": "answered",
        "cached": str(answer.cached).lower(),
        "rows": str(answer.row_count),
        "sql": answer.sql[:AUDITED_SQL_CHARS],
        "sql_sha256": hashlib.sha256(answer.sql.encode()).hexdigest(),
    }


def failure_detail(exc: MantissaError) -> dict[str, str]:
    detail = {"outcome": exc.code, "reason": exc.message[:300]}
    if isinstance(exc, QueryRefused):
        detail |= {"conversation_id": exc.conversation_id or ""}
        if exc.sql:
            detail |= {"sql": exc.sql[:AUDITED_SQL_CHARS]}
    return detail

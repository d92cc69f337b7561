"""Ingest events over HTTP, and describe the log tables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mantissa_log.api.deps import CurrentUser, ServicesDep
from mantissa_log.services.detection.ingest import check_source, ingest_bytes

router = APIRouter(prefix="/api/v1", tags=["logs"])


@router.post("/ingest/{source}", openapi_extra={"requestBody": {"content": {"application/x-ndjson": {}}}})
async def ingest(source: str, request: Request, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """JSON lines, a JSON array, or a source's native file (CloudTrail `{"Records": [...]}`, VPC flow text)."""
    from starlette.concurrency import run_in_threadpool

    check_source(source)
    data = await request.body()
    report = await run_in_threadpool(ingest_bytes, services.lake, source, data)
    services.audit.record(
        actor=user.user_id,
        action="logs.ingest",
        target=source,
        client=user.client,
        detail={"accepted": str(report.accepted), "rejected": str(report.rejected)},
    )
    return report.public()


@router.get("/sources")
def sources(_: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    out = []
    for info in services.lake.sources():
        out.append(
            {
                "name": info.name,
                "columns": [{"name": c.name, "type": c.type} for c in info.columns],
                "rows": info.rows,
                "files": info.files,
                "bytes": info.bytes,
                "event_time": {"min": _iso(info.min_event_time), "max": _iso(info.max_event_time)},
                "ingest_time": {"min": _iso(info.min_ingest_time), "max": _iso(info.max_ingest_time)},
            }
        )
    return {"items": out}


def _iso(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")

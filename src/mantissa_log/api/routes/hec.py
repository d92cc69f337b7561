"""The Splunk HTTP Event Collector endpoints, for log shippers (docs/COLLECTORS.md).

`Authorization: Splunk <ingest token>` (or Bearer). Answers are HEC's own: `{"text": "Success",
"code": 0}`, and on refusal Splunk's status, code and text (`invalid-event-number` for a bad
object). Authentication refusals are made HEC-shaped by the edge (`api/edge.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mantissa_log.api.audit import note_detail, note_outcome
from mantissa_log.api.deps import AnyCaller, ServicesDep
from mantissa_log.api.schemas.misc import HecAnswer
from mantissa_log.errors import StorageFull, StoreError
from mantissa_log.services.hec import HecRefusal, HecResult

router = APIRouter(prefix="/services/collector", tags=["hec"])

INVALID_TOKEN = HecRefusal(403, 4, "Invalid token")
BUSY = HecRefusal(503, 9, "Server is busy")
SOURCETYPE = Query(default=None, max_length=256, description="sourcetype for events that name none (raw: all)")


def hec_answer(refusal: HecRefusal) -> JSONResponse:
    return JSONResponse(refusal.body(), status_code=refusal.status)


async def _receive(
    request: Request, caller_role: str, services: ServicesDep, raw: bool, sourcetype: str | None
) -> JSONResponse:
    if caller_role != "ingest":
        note_outcome(request, "failure")
        return hec_answer(INVALID_TOKEN)
    encoding = request.headers.get("content-encoding")
    with services.logs.upload() as upload:
        async for chunk in request.stream():
            upload.write(chunk)
        data = upload.finish()
    handle = services.hec.raw if raw else services.hec.events
    try:
        result: HecResult = await run_in_threadpool(handle, data, encoding=encoding, sourcetype=sourcetype)
    except HecRefusal as refusal:
        note_outcome(request, "failure")
        return hec_answer(refusal)
    except (StorageFull, StoreError):
        note_outcome(request, "failure")
        return hec_answer(BUSY)
    note_detail(request, events=str(result.events), accepted=str(result.accepted), rejected=str(result.rejected))
    return JSONResponse({"text": "Success", "code": 0})


@router.post("/event", name="hec.event", response_model=HecAnswer)
@router.post("/event/1.0", name="hec.event", response_model=HecAnswer, include_in_schema=False)
@router.post("", name="hec.event", response_model=HecAnswer, include_in_schema=False)
async def hec_event(
    request: Request, caller: AnyCaller, services: ServicesDep, sourcetype: str | None = SOURCETYPE
) -> JSONResponse:
    """Concatenated JSON objects `{"event", "time", "sourcetype", "source", "host"}`; gzip bodies welcome."""
    return await _receive(request, caller.role, services, False, sourcetype)


@router.post("/raw", name="hec.raw", response_model=HecAnswer)
@router.post("/raw/1.0", name="hec.raw", response_model=HecAnswer, include_in_schema=False)
async def hec_raw(
    request: Request, caller: AnyCaller, services: ServicesDep, sourcetype: str | None = SOURCETYPE
) -> JSONResponse:
    """The source's own payload (JSON lines, an array, a CloudTrail file); `?sourcetype=` picks the parser."""
    return await _receive(request, caller.role, services, True, sourcetype)


@router.get("/health", name="hec.health", response_model=HecAnswer)
@router.get("/health/1.0", name="hec.health", response_model=HecAnswer, include_in_schema=False)
def hec_health(caller: AnyCaller) -> JSONResponse:
    """Shippers' health check (Vector's `healthcheck`): `{"text": "HEC is healthy", "code": 17}`."""
    if caller.role != "ingest":
        return hec_answer(INVALID_TOKEN)
    return JSONResponse({"text": "HEC is healthy", "code": 17})

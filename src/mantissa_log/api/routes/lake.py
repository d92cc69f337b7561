"""Ingest events over HTTP (ingest tokens only), and describe the log tables."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mantissa_log.api.audit import note_detail
from mantissa_log.api.deps import CurrentUser, IngestCaller, ServicesDep
from mantissa_log.api.schemas.logs import IngestReportPublic, SourceList, SourcePublic

router = APIRouter(prefix="/api/v1", tags=["logs"])


@router.post(
    "/ingest/{source}",
    name="logs.ingest",
    openapi_extra={"requestBody": {"content": {"application/x-ndjson": {}}}},
)
async def ingest(source: str, request: Request, _: IngestCaller, services: ServicesDep) -> IngestReportPublic:
    """JSON lines, a JSON array, or a source's native file: CloudTrail `{"Records": [...]}`, VPC flow text,
    Azure diagnostic settings `{"records": [...]}`, Graph / Reports API pages, Kubernetes `EventList`.

    `source`: cloudtrail, okta, github, gcp_audit, vpcflow, azure_signin, azure_audit, azure_activity,
    azure_riskdetection, azure_pim, m365, google_workspace, kubernetes, guardduty or json (docs/SOURCES.md).
    Needs a token with the `ingest` role. The body (up to 256 MB) is streamed to a private file as
    it arrives, so a body cut off at the limit never sat in memory.
    """
    services.logs.check_source(source)
    with services.logs.upload() as upload:
        async for chunk in request.stream():
            upload.write(chunk)
        # Parsing and writing block: off the event loop.
        report = await run_in_threadpool(services.logs.ingest_upload, source, upload)
    note_detail(request, accepted=str(report.accepted), rejected=str(report.rejected))
    return IngestReportPublic.of(report)


@router.get("/sources", name="logs.sources")
def sources(_: CurrentUser, services: ServicesDep) -> SourceList:
    return SourceList(items=[SourcePublic.of(info) for info in services.logs.sources()])

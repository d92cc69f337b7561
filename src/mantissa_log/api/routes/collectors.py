"""Collectors (admin only): configure, test, run now, and read their status."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mantissa_log.api.audit import note_detail, note_outcome
from mantissa_log.api.deps import AdminUser, ServicesDep
from mantissa_log.api.schemas.collectors import (
    CollectorBody,
    CollectorCreate,
    CollectorPublic,
    CollectorRunPublic,
    CollectorTestResult,
)
from mantissa_log.api.schemas.common import Page

router = APIRouter(prefix="/api/v1/admin/collectors", tags=["collectors"])


@router.get("", name="collector.list", response_model_exclude_none=True)
def list_collectors(_: AdminUser, services: ServicesDep) -> Page[CollectorPublic]:
    """Every collector with its status (a handful per installation: one page)."""
    return Page[CollectorPublic](items=[CollectorPublic.of(v) for v in services.collectors.all()])


@router.post("", status_code=201, name="collector.create", response_model_exclude_none=True)
def create_collector(admin: AdminUser, services: ServicesDep, body: CollectorCreate) -> CollectorPublic:
    return CollectorPublic.of(services.collectors.create(admin, body.collector_id, body.write()))


@router.get("/{collector_id}", name="collector.read", response_model_exclude_none=True)
def read_collector(collector_id: str, _: AdminUser, services: ServicesDep) -> CollectorPublic:
    return CollectorPublic.of(services.collectors.view(collector_id))


@router.put("/{collector_id}", name="collector.replace", response_model_exclude_none=True)
def replace_collector(
    collector_id: str, admin: AdminUser, services: ServicesDep, body: CollectorBody
) -> CollectorPublic:
    return CollectorPublic.of(services.collectors.update(admin, collector_id, body.write()))


@router.delete("/{collector_id}", status_code=204, name="collector.delete")
def delete_collector(collector_id: str, _: AdminUser, services: ServicesDep) -> Response:
    services.collectors.delete(collector_id)
    return Response(status_code=204)


@router.post("/{collector_id}/test", name="collector.test")
async def probe_collector(
    collector_id: str, request: Request, _: AdminUser, services: ServicesDep
) -> CollectorTestResult:
    """One cheap read with the stored configuration and credential (a listing, one page)."""
    ok, message = await run_in_threadpool(services.collectors.test, collector_id)
    if not ok:
        note_outcome(request, "failure")
    return CollectorTestResult(ok=ok, message=message)


@router.post("/{collector_id}/run", name="collector.run", response_model_exclude_none=True)
async def run_collector(collector_id: str, request: Request, _: AdminUser, services: ServicesDep) -> CollectorRunPublic:
    """Run now (up to the per-run caps); a collector a worker is running answers `ran: false`."""
    report = await run_in_threadpool(services.collectors.run, collector_id)
    note_detail(request, accepted=str(report.accepted), duplicates=str(report.duplicates))
    if report.error:
        note_outcome(request, "failure")
    return CollectorRunPublic.of(report)

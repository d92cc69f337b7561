"""`/`: the overview for the signed-in user and their default time range (or `?range=`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from mantissa_log.web.charts import meter, sparkline, stacked_bars
from mantissa_log.web.context import CurrentView
from mantissa_log.web.overview import RANGE_LABELS, gather
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/", name="web.overview")
def overview(view: CurrentView, range: Literal["24h", "7d", "30d"] | None = None) -> Response:
    key = range or view.prefs.default_time_range
    data = gather(view.services, view.who, key, view.now)
    caption = f"Alerts per {'hour' if data.bucket_hours == 1 else f'{int(data.bucket_hours)} hours'}, " + ", ".join(
        f"{n} {s}" for s, n in data.by_severity.items() if n
    )
    return view.render(
        "overview.html",
        o=data,
        ranges=RANGE_LABELS,
        bars=stacked_bars(data.buckets, label_every=data.label_every, caption=caption),
        meter=meter,
        spark=sparkline,
    )

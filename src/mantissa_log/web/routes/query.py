"""`/query`: the place of the natural-language query page (built with the LLM work)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mantissa_log.web.context import CurrentView
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/query", name="web.query")
def query_page(view: CurrentView) -> Response:
    return view.render("query.html")

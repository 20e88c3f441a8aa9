"""The documents list with its filters (type, status, dates, search, client for staff)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import actor_of, cabinet_of, errors_by_field, page, render, run
from cabinet_web.query import document_query

FILTERS = ("client_id", "doc_type", "status", "search", "date_from", "date_to", "currency")
PAGE_SIZE = 25


@page()
async def documents_page(request: Request) -> Response:
    """Documents the user may see, filtered by the query string."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    params = {
        key: value for key, value in request.query_params.items() if key in (*FILTERS, "offset")
    }
    context: dict[str, Any] = {
        "filters": {key: params.get(key, "") for key in FILTERS},
        "doc_types": cabinet.document_types,
        "clients": [] if actor.client_id is not None else await run(cabinet.clients.list, actor),
        "errors": {},
        "documents": (),
        "total": 0,
        "prev_url": None,
        "next_url": None,
    }
    status = 200
    try:
        query = document_query(params, known_types=cabinet.document_types, page_size=PAGE_SIZE)
    except ValidationError as exc:
        context["errors"] = errors_by_field(request, exc.errors)
        status = 422
    else:
        result = await run(cabinet.documents.list, actor, query)
        context["documents"] = result.items
        context["total"] = result.total
        base = {key: value for key, value in context["filters"].items() if value}
        if result.offset > 0:
            prev_offset = max(result.offset - PAGE_SIZE, 0)
            context["prev_url"] = "/documents?" + urlencode({**base, "offset": prev_offset})
        if result.offset + len(result.items) < result.total:
            next_offset = result.offset + PAGE_SIZE
            context["next_url"] = "/documents?" + urlencode({**base, "offset": next_offset})
    return render(request, "documents.html", context, status_code=status)


ROUTES = [Route("/documents", documents_page, methods=["GET"], name="documents")]

"""``/api/v1/audit``: the audit log, filtered and paged, and its CSV export (the same service
calls as the audit log page; admins see everything, a manager their own clients' entries).
There is no write endpoint: the audit log cannot be changed through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cabinet_core.audit import entity_label
from cabinet_core.services.audit import AuditRecord
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cabinet_web.api._endpoint import PAGING, Param, actor, paging
from cabinet_web.api.v1 import BINARY, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.pages.audit import FILTER_PARAMS, FIRM_TIME_ZONE, csv_rows, describe_action
from cabinet_web.pages.documents import content_disposition
from cabinet_web.query import audit_filter

_DESCRIPTIONS = {
    "actor_id": ("integer", "Only what this user did"),
    "client_id": ("integer", "Only entries about this client"),
    "entity": ("string", "Only entries about this kind of thing (document, client, user, …)"),
    "entity_id": ("integer", "Only entries about the thing with this id"),
    "action": ("string", "Only this action (its key, e.g. document.transition)"),
    "since": ("string", "From this day (YYYY-MM-DD, Polish time), inclusive"),
    "until": ("string", "Until this day (YYYY-MM-DD, Polish time), inclusive"),
    "q": ("string", "Text found in the action, details, address, browser or the user's name"),
}
FILTERS = tuple(
    Param(
        name=name,
        where="query",
        schema={"type": _DESCRIPTIONS[name][0]}
        | ({"format": "date"} if name in ("since", "until") else {}),
        description=_DESCRIPTIONS[name][1],
    )
    for name in FILTER_PARAMS
)
_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_TEXT = {"type": ["string", "null"]}
ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "actor_id": _NULLABLE_INT,
        "actor_name": {"type": "string", "description": "Empty for the system (CLI, worker)"},
        "actor_email": {"type": "string"},
        "client_id": _NULLABLE_INT,
        "client_name": {"type": "string"},
        "action": {"type": "string", "description": "The action's key"},
        "action_label": {"type": "string", "description": "The action in words"},
        "entity": {"type": "string"},
        "entity_label": {"type": "string"},
        "entity_id": _NULLABLE_INT,
        "ip": _NULLABLE_TEXT,
        "user_agent": _NULLABLE_TEXT,
        "detail": {"type": "object"},
    },
}
PAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": ENTRY_SCHEMA},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}


def _entry(request: Request, record: AuditRecord) -> dict[str, Any]:
    entry = record.entry
    gettext = request.state.gettext
    return {
        "id": entry.id,
        "at": entry.at.isoformat() if entry.at else None,
        "actor_id": entry.actor_id,
        "actor_name": record.actor_name,
        "actor_email": record.actor_email,
        "client_id": entry.client_id,
        "client_name": record.client_name,
        "action": entry.action,
        "action_label": describe_action(gettext, entry.action, entry.entity),
        "entity": entry.entity,
        "entity_label": gettext(entity_label(entry.entity)),
        "entity_id": entry.entity_id,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "detail": dict(entry.detail),
    }


@endpoint(
    "/audit",
    "GET",
    "The audit log: who did what, when and from where, newest first",
    params=(*FILTERS, *PAGING),
    response=PAGE_SCHEMA,
)
async def list_audit(request: Request) -> Any:
    """Admins search every entry; a manager only the entries of their own clients (another
    client's ``client_id`` is a 404); other roles get 403. Labels are in the request's
    language."""
    limit, offset = paging(request)
    params = {name: request.query_params.get(name, "") for name in FILTER_PARAMS}
    result = await run(
        cabinet_of(request).audit.search,
        actor(request),
        audit_filter(params),
        offset=offset,
        limit=limit,
    )
    return {
        "items": [_entry(request, record) for record in result.records],
        "total": result.total,
        "limit": result.limit,
        "offset": result.offset,
    }


@endpoint(
    "/audit/export",
    "GET",
    "The audit log entries matching the filters as CSV (all of them, streamed)",
    params=FILTERS,
    response={"text/csv": BINARY},
)
async def export_audit(request: Request) -> Response:
    """The same columns as the page's "Export as CSV"."""
    params = {name: request.query_params.get(name, "") for name in FILTER_PARAMS}
    records = await run(cabinet_of(request).audit.export, actor(request), audit_filter(params))
    stamp = datetime.now(FIRM_TIME_ZONE).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        csv_rows(request.state.gettext, records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("attachment", f"audit-{stamp}.csv")},
    )

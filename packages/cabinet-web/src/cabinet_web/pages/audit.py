"""The audit log page: who did what to which client, user, document or setting, when and from
where; filtered, paged and exported as CSV (exactly the filtered entries, streamed).

Only GET routes: nothing on the web changes or deletes an audit entry.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from cabinet_core.audit import ACTION_LABELS, ENTITY_LABELS, FIRM_TIME_ZONE, action_label
from cabinet_core.audit import entity_label as entity_msgid
from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.audit import AuditRecord
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from cabinet_web.pages._common import actor_of, cabinet_of, errors_by_field, page, render, run
from cabinet_web.pages.documents import content_disposition
from cabinet_web.query import audit_filter

__all__ = ["AUDIT_PAGE", "FILTER_PARAMS", "FIRM_TIME_ZONE", "ROUTES", "csv_rows", "describe_action"]

AUDIT_PAGE = "/audit"
PAGE_SIZE = 50
#: The query parameters the filters use (kept in the pager's and the export's links).
FILTER_PARAMS = ("actor_id", "client_id", "entity", "entity_id", "action", "since", "until", "q")
AUDITORS = (Role.ADMIN, Role.MANAGER)


def describe_action(gettext: Callable[[str], str], action: str, entity: str) -> str:
    """``action`` done to ``entity`` in the reader's language."""
    first, second = action_label(action, entity)
    return f"{gettext(first)} — {gettext(second)}" if second else gettext(first)


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in FILTER_PARAMS}


@page(roles=AUDITORS)
async def audit_page(request: Request) -> Response:
    """The filter form, one page of entries and the CSV link."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    _ = request.state.gettext
    values = _filters(request)
    errors: dict[str, str] = {}
    offset = max(0, _offset(request))
    result = None
    status = 200
    try:
        result = await run(
            cabinet.audit.search, actor, audit_filter(values), offset=offset, limit=PAGE_SIZE
        )
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        status = 422
    choices = await run(cabinet.audit.choices, actor)
    kept = {k: v for k, v in values.items() if v}
    rows = [
        {"record": record, "action": describe_action(_, record.entry.action, record.entry.entity)}
        for record in (result.records if result is not None else ())
    ]
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "rows": rows,
        "result": result,
        "clients": [(str(c.id), c.name) for c in choices.clients],
        "users": [(str(u.id), f"{u.name or u.email} <{u.email}>") for u in choices.users],
        "entities": sorted(
            ((key, _(label)) for key, label in ENTITY_LABELS.items()), key=lambda kv: kv[1]
        ),
        "actions": sorted(
            ((key, _(label)) for key, label in ACTION_LABELS.items()), key=lambda kv: kv[1]
        ),
        "entity_label": lambda key: _(entity_msgid(key)),
        "query": urlencode(kept),
        "previous_offset": max(0, offset - PAGE_SIZE) if offset else None,
        "next_offset": (
            offset + PAGE_SIZE if result is not None and result.total > offset + PAGE_SIZE else None
        ),
    }
    return render(request, "audit.html", context, status_code=status)


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


#: The CSV's columns (translated headers).
CSV_HEADERS = (
    "ID",
    "When",
    "Who",
    "E-mail",
    "Client",
    "What",
    "Action key",
    "Entity",
    "Entity ID",
    "IP address",
    "Browser",
    "Details",
)


def csv_rows(gettext: Callable[[str], str], records: Iterator[AuditRecord]) -> Iterator[bytes]:
    """The CSV (UTF-8 with a BOM, so spreadsheets read Polish letters), a line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([gettext(h) for h in CSV_HEADERS])
    yield buffer.getvalue().encode()
    for record in records:
        entry = record.entry
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                entry.id,
                _local(entry.at),
                record.actor_name,
                record.actor_email,
                record.client_name,
                describe_action(gettext, entry.action, entry.entity),
                entry.action,
                gettext(entity_msgid(entry.entity)),
                "" if entry.entity_id is None else entry.entity_id,
                entry.ip or "",
                entry.user_agent or "",
                json.dumps(entry.detail, ensure_ascii=False, sort_keys=True, default=str),
            ]
        )
        yield buffer.getvalue().encode()


def _local(at: datetime | None) -> str:
    return at.astimezone(FIRM_TIME_ZONE).isoformat(timespec="seconds") if at else ""


@page(roles=AUDITORS)
async def audit_csv(request: Request) -> Response:
    """The filtered entries as CSV, streamed (access and filters checked before the first
    byte: a bad filter is a 422, not a broken download)."""
    cabinet = cabinet_of(request)
    records = await run(cabinet.audit.export, actor_of(request), audit_filter(_filters(request)))
    stamp = datetime.now(FIRM_TIME_ZONE).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        csv_rows(request.state.gettext, records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("attachment", f"audit-{stamp}.csv")},
    )


ROUTES = [
    Route(AUDIT_PAGE, audit_page, methods=["GET"], name="audit"),
    Route("/audit.csv", audit_csv, methods=["GET"], name="audit_csv"),
]

"""``/api/v1/cash-desks``, ``/api/v1/cash-reports`` and ``/api/v1/cash-slips``: the cash desks,
their cash reports (raport kasowy) and KP/KW slips, through ``cabinet.cash`` like the pages.

A report's entries are its slips: ``GET /cash-reports/{id}`` returns the report with its entries
and running balance; ``POST /cash-reports/{id}/entries`` writes a KP or KW into it. Errors are
RFC 9457 problem documents; a refused entry names the field (``amount`` when the balance would
go below zero, with the entry where it would).
"""

from __future__ import annotations

from typing import Any

import attrs
from cabinet_core.cashdesk import CashDesk, CashDeskReport, CashSlip, ReportView, SlipKind
from cabinet_core.converter import to_json_dict
from cabinet_core.doctypes.cash_report import CASH_REPORT_WORKFLOW
from cabinet_core.errors import N_, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import Param, actor, json_body, text, transition_body
from cabinet_web.api.v1 import BINARY, _client_for, _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import MAX_INT
from cabinet_web.pages.cash import read_period, read_slip
from cabinet_web.pages.documents import content_disposition

DESK_BODY = {
    "type": "object",
    "properties": {
        "client_id": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_INT,
            "description": "Required for staff (a client user's own client when absent or null)",
        },
        "name": text(max_length=100, non_blank=True, stripped=True),
        "symbol": text(
            max_length=20, non_blank=True, stripped=True, description="Ends every number"
        ),
        "currency": {"type": "string", "enum": ["PLN", "EUR", "USD"]},
    },
    "required": ["name", "symbol"],
    "additionalProperties": False,
}
REPORT_BODY = {
    "type": "object",
    "properties": {
        "period_from": {"type": "string", "format": "date"},
        "period_to": {"type": "string", "format": "date"},
        "initial_balance": {
            "type": ["string", "number", "null"],
            "description": "The desk's first report only: the cash at its start",
        },
    },
    "required": ["period_from", "period_to"],
    "additionalProperties": False,
}
SLIP_PROPERTIES: dict[str, Any] = {
    "date": {"type": "string", "format": "date"},
    "party_name": {"type": "string", "description": "Payer (KP) or recipient (KW)"},
    "counterparty_id": {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": MAX_INT,
        "description": "Fills party_name when it is blank",
    },
    "title": text(non_blank=True),
    "amount": text(non_blank=True, description="Above zero, in the desk's currency"),
    "document_id": {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": MAX_INT,
        "description": "The invoice this slip pays",
    },
}
ENTRY_BODY = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": ["KP", "KW"]}, **SLIP_PROPERTIES},
    "required": ["kind", "date", "title", "amount"],
    "additionalProperties": False,
}
SLIP_BODY = {
    "type": "object",
    "properties": SLIP_PROPERTIES,
    "required": ["date", "title", "amount"],
    "additionalProperties": False,
}
MOVE_BODY = transition_body(CASH_REPORT_WORKFLOW.transitions)
REPORT_WITH_ENTRIES = {
    "type": "object",
    "properties": {
        "report": {"$ref": "#/components/schemas/CashDeskReport"},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "slip": {"$ref": "#/components/schemas/CashSlip"},
                    "receipt": {"type": "string"},
                    "payment": {"type": "string"},
                    "balance": {"type": "string", "description": "After this entry"},
                },
            },
        },
        "opening": {"type": "string"},
        "receipts": {"type": "string"},
        "payments": {"type": "string"},
        "closing": {"type": "string"},
    },
}
_DESK = _id("desk_id", "The cash desk's id")
_REPORT = _id("report_id", "The cash report's id")
_SLIP = _id("slip_id", "The slip's id")
_LANGUAGE = Param(name="language", where="query", schema={"type": "string", "enum": ["pl", "en"]})


def _only(data: dict[str, Any], allowed: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(allowed["properties"]))
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )


def _text(data: dict[str, Any], field: str, default: str = "") -> str:
    value = data.get(field, default)
    if not isinstance(value, str):
        raise ValidationError.single(field, "type", N_("This value has the wrong type or format."))
    return value


def _report_json(view: ReportView) -> dict[str, Any]:
    balance = view.balance
    return {
        "report": to_json_dict(view.report),
        "entries": [
            {
                "slip": to_json_dict(line.slip),
                "receipt": str(line.receipt),
                "payment": str(line.payment),
                "balance": str(line.balance),
            }
            for line in view.lines
        ],
        "opening": str(balance.opening),
        "receipts": str(balance.receipts),
        "payments": str(balance.payments),
        "closing": str(balance.closing),
    }


def _language(request: Request) -> str:
    language = request.query_params.get("language") or request.state.language
    if language not in ("pl", "en"):
        raise ValidationError.single("language", "choice", N_("Choose pl or en."))
    return str(language)


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


# -- desks
@endpoint(
    "/cash-desks",
    "GET",
    "The cash desks the user may see",
    params=(Param(name="client_id", where="query", schema={"type": "integer"}),),
    response=("list", CashDesk),
)
async def list_cash_desks(request: Request) -> list[CashDesk]:
    """Every visible desk, or one client's (``client_id``)."""
    client_id = request.query_params.get("client_id")
    wanted = _client_for(request) if client_id else None
    return list(await run(cabinet_of(request).cash.list_desks, actor(request), wanted))


@endpoint("/cash-desks", "POST", "Add a cash desk", body=DESK_BODY, response=CashDesk, status=201)
async def create_cash_desk(request: Request) -> CashDesk:
    """A new desk of the client (a client's user: its own) in a currency."""
    data = await json_body(request)
    _only(data, DESK_BODY)
    desk: CashDesk = await run(
        cabinet_of(request).cash.add_desk,
        actor(request),
        _client_for(request, data),
        name=_text(data, "name"),
        symbol=_text(data, "symbol"),
        currency=_text(data, "currency", "PLN"),
    )
    return desk


@endpoint("/cash-desks/{desk_id:int}", "GET", "One cash desk", params=(_DESK,), response=CashDesk)
async def get_cash_desk(request: Request) -> CashDesk:
    """One desk the user may see."""
    desk: CashDesk = await run(
        cabinet_of(request).cash.get_desk, actor(request), _path_int(request, "desk_id")
    )
    return desk


@endpoint(
    "/cash-desks/{desk_id:int}/reports",
    "GET",
    "A cash desk's reports, oldest first",
    params=(_DESK,),
    response=("list", CashDeskReport),
)
async def list_cash_reports(request: Request) -> list[CashDeskReport]:
    """The desk's reports."""
    return list(
        await run(
            cabinet_of(request).cash.list_reports, actor(request), _path_int(request, "desk_id")
        )
    )


@endpoint(
    "/cash-desks/{desk_id:int}/reports",
    "POST",
    "Open the desk's next cash report (no gap, no overlap)",
    params=(_DESK,),
    body=REPORT_BODY,
    response=CashDeskReport,
    status=201,
)
async def create_cash_report(request: Request) -> CashDeskReport:
    """A report from the day after the previous one; only the first takes an opening balance."""
    data = await json_body(request)
    _only(data, REPORT_BODY)
    start, end, initial = read_period(data)
    report: CashDeskReport = await run(
        cabinet_of(request).cash.open_report,
        actor(request),
        _path_int(request, "desk_id"),
        period_from=start,
        period_to=end,
        initial_balance=initial,
    )
    return report


@endpoint(
    "/cash-desks/{desk_id:int}/slips",
    "GET",
    "A cash desk's KP and KW slips in the book's order",
    params=(
        _DESK,
        Param(name="kind", where="query", schema={"type": "string", "enum": ["KP", "KW"]}),
    ),
    response=("list", CashSlip),
)
async def list_cash_slips(request: Request) -> list[CashSlip]:
    """The desk's slips (of one ``kind``)."""
    raw = request.query_params.get("kind")
    kind = None
    if raw:
        try:
            kind = SlipKind(raw.upper())
        except ValueError:
            raise ValidationError.single("kind", "invalid", N_("Choose KP or KW.")) from None
    return list(
        await run(
            cabinet_of(request).cash.list_slips,
            actor(request),
            _path_int(request, "desk_id"),
            kind=kind,
        )
    )


# -- reports
@endpoint(
    "/cash-reports/{report_id:int}",
    "GET",
    "A cash report with its entries and running balance",
    params=(_REPORT,),
    response=REPORT_WITH_ENTRIES,
)
async def get_cash_report(request: Request) -> dict[str, Any]:
    """The report, its entries with the balance after each, and its sums."""
    view = await run(
        cabinet_of(request).cash.report_view, actor(request), _path_int(request, "report_id")
    )
    return _report_json(view)


@endpoint(
    "/cash-reports/{report_id:int}/entries",
    "POST",
    "Write a KP or KW into an open cash report",
    params=(_REPORT,),
    body=ENTRY_BODY,
    response=CashSlip,
    status=201,
)
async def create_cash_entry(request: Request) -> CashSlip:
    """A new slip dated inside the report's period; the balance may not go below zero."""
    cabinet, who = cabinet_of(request), actor(request)
    report = await run(cabinet.cash.get_report, who, _path_int(request, "report_id"))
    data = await json_body(request)
    _only(data, ENTRY_BODY)
    slip = read_slip(data, desk_id=report.desk_id, kind=None)
    stored: CashSlip = await run(cabinet.cash.add_slip, who, slip, report_id=report.id)
    return stored


@endpoint(
    "/cash-reports/{report_id:int}/transitions",
    "POST",
    "Close, approve or return a cash report",
    params=(_REPORT,),
    body=MOVE_BODY,
    response=CashDeskReport,
)
async def move_cash_report(request: Request) -> CashDeskReport:
    """One workflow move (``reopen`` needs a ``comment``)."""
    data = await json_body(request)
    _only(data, MOVE_BODY)
    report: CashDeskReport = await run(
        cabinet_of(request).cash.move_report,
        actor(request),
        _path_int(request, "report_id"),
        _text(data, "transition"),
        comment=_text(data, "comment"),
    )
    return report


@endpoint(
    "/cash-reports/{report_id:int}/pdf",
    "GET",
    "The cash report as PDF",
    params=(_REPORT, _LANGUAGE),
    response={"application/pdf": BINARY},
)
async def cash_report_pdf(request: Request) -> Response:
    """The printed report (entries with the running balance, signatures)."""
    rendered = await run(
        cabinet_of(request).cash.print_report,
        actor(request),
        _path_int(request, "report_id"),
        language=_language(request),
    )
    return _pdf(rendered.content, rendered.filename)


# -- slips
@endpoint("/cash-slips/{slip_id:int}", "GET", "One KP or KW", params=(_SLIP,), response=CashSlip)
async def get_cash_slip(request: Request) -> CashSlip:
    """One slip the user may see."""
    slip: CashSlip = await run(
        cabinet_of(request).cash.get_slip, actor(request), _path_int(request, "slip_id")
    )
    return slip


@endpoint(
    "/cash-slips/{slip_id:int}",
    "PUT",
    "Change a KP or KW of an open report (number and kind stay)",
    params=(_SLIP,),
    body=SLIP_BODY,
    response=CashSlip,
)
async def update_cash_slip(request: Request) -> CashSlip:
    """Replace what may change; a change that takes a later entry below zero is refused."""
    cabinet, who = cabinet_of(request), actor(request)
    slip_id = _path_int(request, "slip_id")
    current: CashSlip = await run(cabinet.cash.get_slip, who, slip_id)
    data = await json_body(request)
    _only(data, SLIP_BODY)
    slip = read_slip(data, desk_id=current.desk_id, kind=current.kind, slip_id=slip_id)
    stored: CashSlip = await run(cabinet.cash.update_slip, who, attrs.evolve(slip))
    return stored


@endpoint(
    "/cash-slips/{slip_id:int}",
    "DELETE",
    "Remove the last KP or KW of its series from an open report",
    params=(_SLIP,),
    response={"type": "null"},
    status=204,
)
async def delete_cash_slip(request: Request) -> Response:
    """Numbers stay gapless: only the last of a kind and year can go."""
    await run(cabinet_of(request).cash.remove_slip, actor(request), _path_int(request, "slip_id"))
    return Response(status_code=204)


@endpoint(
    "/cash-slips/{slip_id:int}/pdf",
    "GET",
    "A KP or KW as PDF",
    params=(_SLIP, _LANGUAGE),
    response={"application/pdf": BINARY},
)
async def cash_slip_pdf(request: Request) -> Response:
    """The printed slip: amount in words and signature lines."""
    rendered = await run(
        cabinet_of(request).cash.print_slip,
        actor(request),
        _path_int(request, "slip_id"),
        language=_language(request),
    )
    return _pdf(rendered.content, rendered.filename)

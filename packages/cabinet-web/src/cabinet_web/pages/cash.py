"""Cash desks (``/cash``): a client's desks, each desk's reports and KP/KW slips, and the cash
report page where the entries are added, changed and removed inline while the report is open.
Every action is one call of ``cabinet.cash``; the JSON API (``/api/v1/cash-…``) calls the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from cabinet_core import access
from cabinet_core.cashdesk import CashDesk, CashSlip, SlipKind
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.storage import DocumentQuery
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import MAX_ID, parse_client_id, parse_id, whole_number
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)
from cabinet_web.pages._forms import parse_decimal
from cabinet_web.pages.documents import content_disposition

#: The invoices offered to link a slip to (the newest of the desk's client and currency).
LINKABLE_DOCUMENTS = 100


# -- reading input (the form's strings, or the API's JSON values) -------------------------------
def read_date(value: object, field: str, errors: list[FieldError]) -> date | None:
    """A date from ``YYYY-MM-DD`` text; otherwise a field error."""
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    elif value is None or value == "":
        errors.append(
            FieldError(field=field, code="required", message=N_("This field is required."))
        )
        return None
    errors.append(
        FieldError(field=field, code="invalid", message=N_("Enter a date as YYYY-MM-DD."))
    )
    return None


def read_amount(value: object, field: str, errors: list[FieldError]) -> Decimal | None:
    """An amount typed ``1 234,56`` or sent as a JSON number or string; else a field error."""
    if value is None or value == "":
        errors.append(
            FieldError(field=field, code="required", message=N_("This field is required."))
        )
        return None
    if isinstance(value, str):
        try:
            return parse_decimal(value)
        except ValueError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    errors.append(FieldError(field=field, code="number", message=N_("Enter an amount.")))
    return None


def read_id(value: object, field: str, errors: list[FieldError]) -> int | None:
    """An optional id (blank: none)."""
    if value is None or value == "":
        return None
    try:
        # A JSON 5.0 is the integer 5 (JSON Schema says so).
        number = whole_number(str(value))
    except ValueError:
        number = 0
    if isinstance(value, bool) or not 0 < number <= MAX_ID:
        errors.append(FieldError(field=field, code="choice", message=N_("Not found")))
        return None
    return number


def read_kind(value: object, errors: list[FieldError]) -> SlipKind | None:
    """KP or KW."""
    try:
        return SlipKind(str(value).strip().upper())
    except ValueError:
        errors.append(FieldError(field="kind", code="invalid", message=N_("Choose KP or KW.")))
        return None


def read_slip(
    data: Mapping[str, Any], *, desk_id: int, kind: SlipKind | None, slip_id: int | None = None
) -> CashSlip:
    """A slip from a form or a JSON body; unreadable values are field errors together."""
    errors: list[FieldError] = []
    if kind is None:
        kind = read_kind(data.get("kind"), errors)
    on = read_date(data.get("date"), "date", errors)
    amount = read_amount(data.get("amount"), "amount", errors)
    counterparty_id = read_id(data.get("counterparty_id"), "counterparty_id", errors)
    document_id = read_id(data.get("document_id"), "document_id", errors)
    texts = {}
    for field in ("party_name", "title"):
        value = data.get(field, "")
        if not isinstance(value, str):
            errors.append(
                FieldError(
                    field=field, code="type", message=N_("This value has the wrong type or format.")
                )
            )
            value = ""
        texts[field] = value
    if errors:
        raise ValidationError(errors)
    assert kind is not None and on is not None and amount is not None
    return CashSlip(
        id=slip_id,
        desk_id=desk_id,
        kind=kind,
        on=on,
        amount=amount,
        party_name=texts["party_name"],
        title=texts["title"],
        counterparty_id=counterparty_id,
        document_id=document_id,
    )


def read_period(data: Mapping[str, Any]) -> tuple[date | None, date | None, Decimal | None]:
    """A new report's period and (first report only) opening balance."""
    errors: list[FieldError] = []
    start = read_date(data.get("period_from"), "period_from", errors)
    end = read_date(data.get("period_to"), "period_to", errors)
    initial = data.get("initial_balance")
    balance = None if initial in (None, "") else read_amount(initial, "initial_balance", errors)
    if errors:
        raise ValidationError(errors)
    return start, end, balance


# -- pages ---------------------------------------------------------------------------------------
def _writable_clients(request: Request) -> list[tuple[str, str]]:
    actor = actor_of(request)
    clients = cabinet_of(request).clients.list(actor)
    return [(str(c.id), c.name) for c in clients if access.can_edit_client_data(actor, c)]


async def _desks_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The desks the user may see and, for those who may, the form to add one."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    found = await run(cabinet.cash.list_desks, actor)
    clients = {c.id: c.name for c in await run(cabinet.clients.list, actor)}
    writable = await run(_writable_clients, request)
    context = {
        "desks": found,
        "client_names": clients,
        "writable_clients": writable,
        "values": values or {"currency": "PLN"},
        "errors": errors or {},
        "flashes": pop_flashes(request),
    }
    return render(request, "cash_desks.html", context, status_code=status)


@page()
async def desks(request: Request) -> Response:
    """The desks the user may see and, for those who may, the form to add one."""
    return await _desks_page(request)


@page()
async def add_desk(request: Request) -> Response:
    """Add a desk (a client's user for its own client; staff choose the client)."""
    form = await read_form(request)
    actor = actor_of(request)
    try:
        client_id = parse_client_id(form.get("client_id", ""), own=request.state.user.client_id)
        desk: CashDesk = await run(
            cabinet_of(request).cash.add_desk,
            actor,
            client_id,
            name=form.get("name", ""),
            symbol=form.get("symbol", ""),
            currency=form.get("currency", "PLN"),
        )
    except ValidationError as exc:
        return await _desks_page(
            request, values=form, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The cash desk is added."))
    return redirect(f"/cash/desks/{desk.id}")


async def _desk_page(
    request: Request,
    desk_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet, actor = cabinet_of(request), actor_of(request)
    desk = await run(cabinet.cash.get_desk, actor, desk_id)
    reports = await run(cabinet.cash.list_reports, actor, desk_id)
    slips = await run(cabinet.cash.list_slips, actor, desk_id)
    if values is None and reports:
        values = _next_period(reports[-1].period_to)
    context = {
        "desk": desk,
        "client": await run(cabinet.cash.client_of, actor, desk),
        "reports": reports,
        "slips": slips,
        "may_write": await run(cabinet.cash.may_write, actor, desk),
        "values": values or {},
        "errors": errors or {},
        "flashes": pop_flashes(request),
        "states": {s.key: s.label for s in cabinet.cash.workflow.states},
    }
    return render(request, "cash_desk.html", context, status_code=status)


def _next_period(last_day: date) -> dict[str, str]:
    """The form's suggestion: from the day after the previous report to that month's end."""
    start = last_day + timedelta(days=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    end = following - timedelta(days=1)
    return {"period_from": start.isoformat(), "period_to": end.isoformat()}


@page()
async def desk(request: Request) -> Response:
    """One desk: its reports (and the form to open the next) and its slips."""
    return await _desk_page(request, parse_id(request.path_params["desk_id"]))


@page()
async def open_report(request: Request) -> Response:
    """Open the desk's next report; a gap, an overlap or a second opening balance are errors."""
    desk_id = parse_id(request.path_params["desk_id"])
    form = await read_form(request)
    try:
        start, end, initial = read_period(form)
        report = await run(
            cabinet_of(request).cash.open_report,
            actor_of(request),
            desk_id,
            period_from=start,
            period_to=end,
            initial_balance=initial,
        )
    except ValidationError as exc:
        return await _desk_page(
            request, desk_id, values=form, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The cash report is opened."))
    return redirect(f"/cash/reports/{report.id}")


def _counterparties(request: Request, actor: Actor, desk: CashDesk) -> list[tuple[str, str]]:
    page = cabinet_of(request).counterparties.list(actor, desk.client_id, limit=LINKABLE_DOCUMENTS)
    return [(str(c.id), c.name) for c in page.items]


def _linkable(
    request: Request, actor: Actor, desk: CashDesk, linked: set[int]
) -> list[tuple[str, str]]:
    """The newest numbered documents of the desk's client and currency, and those the
    report's rows already pay (so saving a row keeps its link)."""
    documents = cabinet_of(request).documents
    query = DocumentQuery(
        client_ids=(desk.client_id,),
        currency=desk.currency,
        limit=LINKABLE_DOCUMENTS,
        summary=True,
    )
    found = [d for d in documents.list(actor, query).items if d.number is not None]
    missing = linked - {d.id for d in found if d.id is not None}
    found += [documents.get(actor, doc_id) for doc_id in sorted(missing)]
    return [
        (str(d.id), f"{d.number} ({d.totals.gross if d.totals else ''} {d.currency})")
        for d in found
    ]


async def _report_page(
    request: Request,
    report_id: int,
    *,
    row_values: dict[str, dict[str, str]] | None = None,
    row_errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    cabinet, actor = cabinet_of(request), actor_of(request)
    view = await run(cabinet.cash.report_view, actor, report_id)
    may_write = await run(cabinet.cash.may_write, actor, view.desk)
    editable = may_write and view.report.status == "open"
    linked = {line.slip.document_id for line in view.lines if line.slip.document_id is not None}
    context = {
        "view": view,
        "desk": view.desk,
        "report": view.report,
        "editable": editable,
        "transitions": cabinet.cash.transitions(actor, view.report),
        "documents": (await run(_linkable, request, actor, view.desk, linked) if editable else []),
        "counterparties": (
            await run(_counterparties, request, actor, view.desk) if editable else []
        ),
        "row_values": row_values or {},
        "row_errors": row_errors or {},
        "states": {s.key: s.label for s in cabinet.cash.workflow.states},
        "flashes": pop_flashes(request),
    }
    return render(request, "cash_report.html", context, status_code=status)


@page()
async def report(request: Request) -> Response:
    """The cash report: entries with the running balance, editable inline while open."""
    return await _report_page(request, parse_id(request.path_params["report_id"]))


async def _row_failed(
    request: Request, report_id: int, row: str, form: dict[str, str], exc: ValidationError
) -> Response:
    errors = errors_by_field(request, exc.errors)
    return await _report_page(
        request, report_id, row_values={row: form}, row_errors={row: errors}, status=422
    )


@page()
async def add_entry(request: Request) -> Response:
    """Add a KP or KW to the open report (the new row of the table)."""
    report_id = parse_id(request.path_params["report_id"])
    cabinet, actor = cabinet_of(request), actor_of(request)
    found = await run(cabinet.cash.get_report, actor, report_id)
    form = await read_form(request)
    try:
        slip = read_slip(form, desk_id=found.desk_id, kind=None)
        stored = await run(cabinet.cash.add_slip, actor, slip, report_id=report_id)
    except ValidationError as exc:
        return await _row_failed(request, report_id, "new", form, exc)
    flash(request, request.state.gettext("%(number)s is saved.") % {"number": stored.number})
    return redirect(f"/cash/reports/{report_id}")


async def _entry(request: Request) -> tuple[int, int, CashSlip]:
    """The report and the slip a row's URL names, both visible to the user and of one desk:
    a slip reached through another desk's report (another client's) is not found."""
    report_id = parse_id(request.path_params["report_id"])
    slip_id = parse_id(request.path_params["slip_id"])
    cabinet, actor = cabinet_of(request), actor_of(request)
    report = await run(cabinet.cash.get_report, actor, report_id)
    slip = await run(cabinet.cash.get_slip, actor, slip_id)
    if slip.desk_id != report.desk_id:
        raise NotFound(N_("Not found"), entity="cash_slip", id=slip_id)
    return report_id, slip_id, slip


@page()
async def edit_entry(request: Request) -> Response:
    """Change an entry of the open report (its row of the table)."""
    report_id, slip_id, current = await _entry(request)
    cabinet, actor = cabinet_of(request), actor_of(request)
    form = await read_form(request)
    try:
        slip = read_slip(form, desk_id=current.desk_id, kind=current.kind, slip_id=slip_id)
        stored = await run(cabinet.cash.update_slip, actor, slip)
    except ValidationError as exc:
        return await _row_failed(request, report_id, str(slip_id), form, exc)
    flash(request, request.state.gettext("%(number)s is saved.") % {"number": stored.number})
    return redirect(f"/cash/reports/{report_id}")


@page()
async def remove_entry(request: Request) -> Response:
    """Remove the last KP or KW of its series from the open report."""
    report_id, slip_id, current = await _entry(request)
    cabinet, actor = cabinet_of(request), actor_of(request)
    try:
        await run(cabinet.cash.remove_slip, actor, slip_id)
    except ValidationError as exc:
        return await _row_failed(request, report_id, str(slip_id), {}, exc)
    flash(request, request.state.gettext("%(number)s is removed.") % {"number": current.number})
    return redirect(f"/cash/reports/{report_id}")


@page()
async def move_report(request: Request) -> Response:
    """Close, approve or return the report."""
    report_id = parse_id(request.path_params["report_id"])
    form = await read_form(request)
    try:
        await run(
            cabinet_of(request).cash.move_report,
            actor_of(request),
            report_id,
            form.get("transition", ""),
            comment=form.get("comment", ""),
        )
    except ValidationError as exc:
        return await _row_failed(request, report_id, "move", form, exc)
    except Conflict as exc:
        # Shown in the workflow card (closing out of order, reopening under a closed report).
        refused = FieldError(field="transition", code="conflict", message=exc.message)
        return await _row_failed(request, report_id, "move", form, ValidationError([refused]))
    flash(request, request.state.gettext("The cash report is saved."))
    return redirect(f"/cash/reports/{report_id}")


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


@page()
async def report_pdf(request: Request) -> Response:
    """The report as PDF in the page's language."""
    rendered = await run(
        cabinet_of(request).cash.print_report,
        actor_of(request),
        parse_id(request.path_params["report_id"]),
        language=request.state.language,
    )
    return _pdf(rendered.content, rendered.filename)


@page()
async def slip_pdf(request: Request) -> Response:
    """A KP or KW as PDF in the page's language."""
    rendered = await run(
        cabinet_of(request).cash.print_slip,
        actor_of(request),
        parse_id(request.path_params["slip_id"]),
        language=request.state.language,
    )
    return _pdf(rendered.content, rendered.filename)


ROUTES = [
    Route("/cash", desks, methods=["GET"], name="cash"),
    Route("/cash", add_desk, methods=["POST"], name="cash_add_desk"),
    Route("/cash/desks/{desk_id}", desk, methods=["GET"], name="cash_desk"),
    Route("/cash/desks/{desk_id}/reports", open_report, methods=["POST"], name="cash_open"),
    Route("/cash/reports/{report_id}", report, methods=["GET"], name="cash_report_page"),
    Route("/cash/reports/{report_id}/pdf", report_pdf, methods=["GET"], name="cash_report_pdf"),
    Route("/cash/reports/{report_id}/entries", add_entry, methods=["POST"], name="cash_add"),
    Route(
        "/cash/reports/{report_id}/entries/{slip_id}",
        edit_entry,
        methods=["POST"],
        name="cash_edit",
    ),
    Route(
        "/cash/reports/{report_id}/entries/{slip_id}/delete",
        remove_entry,
        methods=["POST"],
        name="cash_remove",
    ),
    Route("/cash/reports/{report_id}/move", move_report, methods=["POST"], name="cash_move"),
    Route("/cash/slips/{slip_id}/pdf", slip_pdf, methods=["GET"], name="cash_slip_pdf"),
]

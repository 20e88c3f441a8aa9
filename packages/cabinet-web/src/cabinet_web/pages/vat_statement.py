"""The VAT statement page (Zestawienie VAT): a client's sales and purchase VAT registers for a
month or a quarter with their totals and the declaration, the downloads (PDF, CSV, JPK_V7M(3)
XML) and, for accountants, the marks on each row (not deductible, markers).

Every read and write is one call to ``cabinet.vat_statements``; the JSON API
(:mod:`cabinet_web.api.v1_vat`) calls the same service.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import IO, Any
from urllib.parse import urlencode

from cabinet_core import access
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Client
from cabinet_core.errors import N_, ValidationError
from cabinet_core.vat_statement import (
    KSEF_MARKERS,
    PURCHASE_DOCUMENT_KINDS,
    PURCHASE_MARKERS,
    SALES_DOCUMENT_KINDS,
    SALES_MARKERS,
    Period,
)
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from cabinet_web.limits import parse_id
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
from cabinet_web.pages.documents import content_disposition

#: JPK files larger than this go to a temporary file on disk instead of memory.
SPOOL_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024
#: The downloads the page offers, by the name in the URL.
FORMATS = {"pdf": "application/pdf", "csv": "text/csv"}


def default_period(today: date) -> Period:
    """The month before ``today``: the one a JPK is due for (by the 25th)."""
    return Period.month_of(today.replace(day=1) - timedelta(days=1))


def parse_period(values: Mapping[str, str], today: date) -> Period:
    """The period a request asks for: ``period`` (``2026-11``, ``2026-Q4``), or the picker's
    ``kind`` with ``month`` or ``quarter``; the previous month when none is given."""
    text = values.get("period", "").strip()
    if not text:
        kind = values.get("kind", "month")
        text = values.get("quarter" if kind == "quarter" else "month", "").strip()
    if not text:
        return default_period(today)
    try:
        return Period.parse(text)
    except ValueError:
        raise ValidationError.single(
            "period", "invalid", N_("Choose a month (2026-11) or a quarter (2026-Q4).")
        ) from None


def chosen_client(values: Mapping[str, str], actor: Actor) -> int | None:
    """The client asked for, or a client user's own; ``None`` when staff has not chosen yet."""
    raw = values.get("client_id", "").strip()
    if raw:
        return parse_id(raw)
    return actor.client_id


def _quarters(today: date) -> list[str]:
    current = Period(year=today.year, number=(today.month - 1) // 3 + 1, quarter=True)
    found = []
    year, number = current.year, current.number
    for _ in range(8):
        found.append(str(Period(year=year, number=number, quarter=True)))
        number -= 1
        if number == 0:
            year, number = year - 1, 4
    return found


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError.single(name, "integer", N_("Enter a whole number.")) from None


def jpk_file(
    cabinet: Cabinet, actor: Actor, client_id: int, period: Period, options: Mapping[str, str]
) -> tuple[IO[bytes], str]:
    """The JPK_V7M(3) file written to a spooled temporary file (rewound) and its name."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by the response
    try:
        cabinet.vat_statements.write_jpk(
            actor,
            client_id,
            period,
            spool,  # type: ignore[arg-type]
            tax_office=options.get("tax_office", ""),
            purpose=_int(options, "purpose", 1),
            surplus_from_previous=_int(options, "surplus_from_previous", 0),
            with_declaration=options.get("declaration", "1") not in ("0", "false", "no"),
        )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, f"JPK_V7M-{client_id}-{period}.xml"


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(_CHUNK):
        yield chunk


def jpk_response(file: IO[bytes], filename: str) -> Response:
    """Stream the file out in chunks and close it afterwards."""
    return StreamingResponse(
        _chunks(file),
        media_type="application/xml",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
        background=BackgroundTask(file.close),
    )


def _clients(cabinet: Cabinet, actor: Actor) -> list[Client]:
    if actor.role.is_staff:
        return cabinet.clients.list(actor)
    return []


async def _render(
    request: Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    today = cabinet.store.clock().date()
    errors = dict(errors or {})
    statement = None
    period = default_period(today)
    try:
        period = parse_period(values, today)
    except ValidationError as exc:
        errors.update(errors_by_field(request, exc.errors))
        status = 422
    client_id = chosen_client(values, actor)
    if client_id is not None and "period" not in errors:
        statement = await run(cabinet.vat_statements.statement, actor, client_id, period)
    context: dict[str, Any] = {
        "statement": statement,
        "period": period,
        "kind": "quarter" if period.quarter else "month",
        "month_value": "" if period.quarter else str(period),
        "quarter_value": str(period) if period.quarter else "",
        "quarters": _quarters(today),
        "clients": await run(_clients, cabinet, actor),
        "client_id": client_id,
        "can_mark": access.can_mark_vat_registers(actor),
        "values": values,
        "errors": errors,
        "flashes": pop_flashes(request),
        "sales_markers": SALES_MARKERS,
        "purchase_markers": PURCHASE_MARKERS,
        "sales_kinds": SALES_DOCUMENT_KINDS,
        "purchase_kinds": PURCHASE_DOCUMENT_KINDS,
        "ksef_markers": KSEF_MARKERS[1:],
    }
    return render(request, "vat_statement.html", context, status_code=status)


@page()
async def statement_page(request: Request) -> Response:
    """The statement of the chosen client and period (staff first choose a client)."""
    return await _render(request, values=dict(request.query_params))


@page()
async def statement_download(request: Request) -> Response:
    """The statement as PDF or CSV, in the page's language."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    media_type = FORMATS.get(request.path_params["format"])
    values = dict(request.query_params)
    client_id = chosen_client(values, actor)
    if media_type is None or client_id is None:
        return await _render(request, values=values, status=404)
    period = parse_period(values, cabinet.store.clock().date())
    rendered = await run(
        cabinet.vat_statements.render,
        actor,
        client_id,
        period,
        media_type,
        language=request.state.language,
    )
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": content_disposition("attachment", rendered.filename)},
    )


@page()
async def statement_jpk(request: Request) -> Response:
    """The JPK_V7M(3) file of the chosen month; problems are shown at the JPK form's fields."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    values = dict(request.query_params)
    client_id = chosen_client(values, actor)
    if client_id is None:
        return await _render(request, values=values, status=404)
    try:
        period = parse_period(values, cabinet.store.clock().date())
        file, filename = await run(jpk_file, cabinet, actor, client_id, period, values)
    except ValidationError as exc:
        return await _render(
            request, values=values, errors=errors_by_field(request, exc.errors), status=422
        )
    return jpk_response(file, filename)


@page()
async def mark_document(request: Request) -> Response:
    """The accountant's marks on one row (not deductible, markers), back to the statement."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    document_id = parse_id(form.get("document_id", ""))
    markers = [part for part in form.get("markers", "").replace(",", " ").split() if part]
    query = {
        "client_id": str(parse_id(form.get("client_id", ""))),
        "period": form.get("period", ""),
    }
    back = f"/vat-statement?{urlencode(query)}"
    try:
        await run(
            cabinet.vat_statements.mark,
            actor_of(request),
            document_id,
            non_deductible=form.get("non_deductible") == "1",
            fixed_asset=form.get("fixed_asset") == "1",
            markers=markers,
            document_kind=form.get("document_kind") or None,
            ksef_marker=form.get("ksef_marker") or None,
        )
    except ValidationError as exc:
        messages = errors_by_field(request, exc.errors)
        flash(request, "; ".join(messages.values()))
        return redirect(back)
    flash(request, request.state.gettext("The VAT marks were saved."))
    return redirect(back)


ROUTES = [
    Route("/vat-statement", statement_page, methods=["GET"], name="vat_statement"),
    Route("/vat-statement/jpk", statement_jpk, methods=["GET"], name="vat_statement_jpk"),
    Route(
        "/vat-statement/download/{format}",
        statement_download,
        methods=["GET"],
        name="vat_statement_download",
    ),
    Route("/vat-statement/mark", mark_document, methods=["POST"], name="vat_statement_mark"),
]

"""The reports page: the filter form, the table with its totals, the chart beside it, and the
CSV/XLSX exports (a short one downloads at once, a long one becomes a background job with its
own page that refreshes until the file is ready).

Everything is ``cabinet.reports``'s: the page reads the query string with the same parser the
JSON API uses and shows what the service returns.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, ValidationError
from cabinet_core.reports import (
    DIRECT_ROWS,
    FORMATS,
    Grouping,
    Ledger,
    Report,
    ReportKind,
    ReportQuery,
    bar_chart,
)
from cabinet_core.reports.query import PARAMS
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    page,
    read_form,
    redirect,
    render,
    run,
)
from cabinet_web.pages._forms import PAYMENT_METHODS, PAYMENT_STATUSES, translated
from cabinet_web.pages.documents import content_disposition

KIND_CHOICES = (
    (ReportKind.ACCOUNTS, N_("Accounts: documents and amounts")),
    (ReportKind.PAYMENTS, N_("Payments: paid, unpaid, overdue")),
)
GROUP_CHOICES = (
    (Grouping.MONTH, N_("Month")),
    (Grouping.COUNTERPARTY, N_("Counterparty")),
    (Grouping.PRODUCT, N_("Product or service")),
    (Grouping.VAT_RATE, N_("VAT rate")),
    (Grouping.CLIENT, N_("Client")),
    (Grouping.DOCUMENT, N_("Document list")),
)
LEDGER_CHOICES = (
    (Ledger.SALES, N_("Sales (issued)")),
    (Ledger.PURCHASES, N_("Purchases (received)")),
    (Ledger.OTHER, N_("Other documents")),
    (Ledger.ALL, N_("All documents")),
)


def amount_formatter(language: str) -> Callable[[Decimal | None], str]:
    """Amounts as the page's language writes them, always with two decimals."""

    def amount(value: Decimal | None) -> str:
        return "" if value is None else format_decimal(value, format="#,##0.00", locale=language)

    return amount


def _params(request: Request, source: dict[str, str] | None = None) -> dict[str, str]:
    values = source if source is not None else dict(request.query_params)
    return {key: value for key, value in values.items() if key in PARAMS}


def chart_svg(request: Request, report: Report) -> Markup:
    """The report's chart; every text in it is escaped by :func:`bar_chart`."""
    _ = request.state.gettext
    amount = amount_formatter(request.state.language)
    if report.query.kind is ReportKind.PAYMENTS:
        title = _("Unpaid amounts in PLN")
    else:
        title = _("Gross amounts in PLN")
    per = (
        _("per month")
        if report.query.group_by in (Grouping.MONTH, Grouping.DOCUMENT)
        else _("per group")
    )
    svg = bar_chart(
        report.chart,
        title=f"{title} {per}",
        description=_("The table beside the chart holds the same figures."),
        number=lambda value: amount(value),
        more=lambda count: _("%(count)s more in the table") % {"count": count},
    )
    return Markup(svg)  # noqa: S704 - built from escaped parts by bar_chart


@page()
async def reports_page(request: Request) -> Response:
    """The report the query string asks for (by default: this user's sales per month)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    gettext = request.state.gettext
    params = _params(request)
    context: dict[str, Any] = {
        "filters": {key: params.get(key, "") for key in PARAMS},
        "errors": {},
        "report": None,
        "chart": None,
        "export_params": {},
        "amount": amount_formatter(request.state.language),
        "doc_types": cabinet.document_types,
        "kinds": [(value.value, gettext(label)) for value, label in KIND_CHOICES],
        "groupings": [(value.value, gettext(label)) for value, label in GROUP_CHOICES],
        "ledgers": [(value.value, gettext(label)) for value, label in LEDGER_CHOICES],
        "payment_methods": translated(request, PAYMENT_METHODS),
        "payment_statuses": translated(request, PAYMENT_STATUSES),
        "clients": (
            []
            if actor.client_id is not None
            else [(str(c.id), c.name) for c in await run(cabinet.clients.list, actor)]
        ),
        "type_choices": [
            (key, known.label.get(request.state.language, key))
            for key, known in cabinet.document_types.items()
        ],
        "direct_rows": DIRECT_ROWS,
    }
    status = 200
    try:
        query: ReportQuery = await run(cabinet.reports.parse, params)
    except ValidationError as exc:
        context["errors"] = errors_by_field(request, exc.errors)
        status = 422
    else:
        report = await run(cabinet.reports.run, actor, query, gettext=gettext)
        context["report"] = report
        context["chart"] = chart_svg(request, report)
        context["export_params"] = query.params()
    return render(request, "reports.html", context, status_code=status)


@page()
async def export_report(request: Request) -> Response:
    """Export the report the form describes: at once when it is short, else as a job."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    gettext = request.state.gettext
    form = await read_form(request)
    fmt = form.get("format", "")
    params = _params(request, form)
    try:
        query: ReportQuery = await run(cabinet.reports.parse, params)
        if fmt not in FORMATS:
            raise ValidationError.single("format", "choice", N_("Export as csv or xlsx."))
    except ValidationError:
        return redirect("/reports?" + urlencode(params))
    rows = await run(cabinet.reports.count, actor, query)
    if rows > DIRECT_ROWS:
        job = await run(cabinet.reports.start_export, actor, query, fmt, gettext=gettext)
        return redirect(f"/reports/exports/{job.id}")
    return await direct_export(request, query, fmt)


async def direct_export(request: Request, query: ReportQuery, fmt: str) -> Response:
    """The export as a download in this response (short reports)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    gettext = request.state.gettext
    content_type, _ext = FORMATS[fmt]
    headers = {
        "Content-Disposition": content_disposition(
            "attachment", cabinet.reports.filename(query, fmt)
        )
    }
    # Written in the thread pool before the response starts, so no database transaction stays
    # open while a slow client reads; a direct export is at most DIRECT_ROWS rows.
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115
    if fmt == "csv":
        await run(_write_csv, cabinet, actor, query, spool, gettext)
    else:
        await run(cabinet.reports.write_xlsx, actor, query, spool, gettext=gettext)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := spool.read(64 * 1024):
                yield chunk
        finally:
            spool.close()

    return StreamingResponse(chunks(), media_type=content_type, headers=headers)


def _write_csv(
    cabinet: Cabinet,
    actor: Actor,
    query: ReportQuery,
    target: IO[bytes],
    gettext: Callable[[str], str],
) -> None:
    for line in cabinet.reports.csv(actor, query, gettext=gettext):
        target.write(line.encode("utf-8"))


@page()
async def export_job_page(request: Request) -> Response:
    """A background export's progress; the page refreshes itself until the file is ready."""
    cabinet = cabinet_of(request)
    job = await run(
        cabinet.reports.export_job, actor_of(request), parse_id(request.path_params["job_id"])
    )
    return render(request, "report_export.html", {"job": job})


@page()
async def export_job_file(request: Request) -> Response:
    """The finished export's file (its owner only)."""
    cabinet = cabinet_of(request)
    job_id = parse_id(request.path_params["job_id"])
    path, job = await run(cabinet.reports.export_file, actor_of(request), job_id)
    return FileResponse(
        path,
        media_type=FORMATS[job.format][0],
        headers={"Content-Disposition": content_disposition("attachment", job.filename)},
    )


ROUTES = [
    Route("/reports", reports_page, methods=["GET"], name="reports"),
    Route("/reports/export", export_report, methods=["POST"], name="report_export"),
    Route(
        "/reports/exports/{job_id:int}", export_job_page, methods=["GET"], name="report_export_job"
    ),
    Route(
        "/reports/exports/{job_id:int}/file",
        export_job_file,
        methods=["GET"],
        name="report_export_file",
    ),
]

"""``/api/v1/reports``: the reports page as JSON, its CSV/XLSX exports, and background export
jobs. The query parameters are the page's (``cabinet_core.reports.query.PARAMS``); a bad one is
an RFC 9457 problem naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from cabinet_core.errors import N_, NotFound, ValidationError
from cabinet_core.reports import DIRECT_ROWS, FORMATS, ExportJob, Report, ReportKind, ReportQuery
from cabinet_core.reports.query import PARAMS
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from cabinet_web.api._endpoint import Param, actor, json_body
from cabinet_web.api.v1 import _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.pages.documents import content_disposition
from cabinet_web.pages.reports import direct_export

_DESCRIPTIONS = {
    "group_by": "month, counterparty, product, vat_rate, client or document",
    "ledger": "sales (default), purchases, other or all: as each document type declares",
    "client_id": "Only this client (staff; a client's user sees its own anyway)",
    "date_from": "Issued on or after (YYYY-MM-DD)",
    "date_to": "Issued on or before (YYYY-MM-DD)",
    "product": "Lines whose name contains this text",
    "product_id": "Lines of this catalogue product",
    "counterparty_id": "Documents with this counterparty",
    "counterparty": "Documents whose counterparty's name contains this text",
    "doc_type": "Document type keys, comma-separated",
    "status": "Workflow states, comma-separated",
    "currency": "PLN, EUR or USD",
    "payment_method": "An FA(3) payment method code",
    "payment_status": "unpaid, partially_paid or paid",
    "overdue": "1: only documents past their due date and not paid",
    "drafts": "1: count documents without a number yet (drafts) too",
}
FILTER_PARAMS = tuple(
    Param(name=name, where="query", description=_DESCRIPTIONS[name])
    for name in PARAMS
    if name in _DESCRIPTIONS
)
KIND_PARAM = Param(
    name="kind",
    where="path",
    description="accounts (documents and amounts) or payments (paid, unpaid, overdue)",
    required=True,
)
FORMAT_PARAM = Param(
    name="format", where="query", description="json (default), csv or xlsx (a file download)"
)
JOB_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "format": {"type": "string"},
        "rows_done": {"type": "integer"},
        "rows_total": {"type": ["integer", "null"]},
        "percent": {"type": "integer"},
        "filename": {"type": "string"},
        "error": {"type": ["string", "null"]},
        "download": {"type": ["string", "null"]},
    },
}
EXPORT_BODY = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["accounts", "payments"]},
        "format": {"type": "string", "enum": ["csv", "xlsx"]},
        "params": {
            "type": ["object", "null"],
            "description": "The report's query parameters, as for GET /reports/{kind}",
            "additionalProperties": {"type": "string"},
        },
    },
    "required": ["kind", "format"],
    "additionalProperties": False,
}


def _query(request: Request, kind: str, params: Mapping[str, str]) -> ReportQuery:
    try:
        ReportKind(kind)
    except ValueError:
        raise NotFound(N_("No such report.")) from None
    values = {key: value for key, value in params.items() if key in PARAMS}
    values["kind"] = kind
    query: ReportQuery = cabinet_of(request).reports.parse(values)
    return query


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def report_json(report: Report) -> dict[str, Any]:
    """The report as the page shows it: columns, rows and totals keyed by column."""

    def row(item: Any) -> dict[str, Any]:
        return {column.key: _json(column.value(item)) for column in report.columns}

    return {
        "query": report.query.params(),
        "columns": [
            {"key": column.key, "label": column.label, "kind": column.kind}
            for column in report.columns
        ],
        "rows": [row(item) for item in report.rows],
        "truncated": report.truncated,
        "totals": [row(item) for item in report.totals],
        "total_pln": row(report.total_pln),
        "unconverted": report.unconverted,
        "chart": [{"label": label, "value": str(value)} for label, value in report.chart],
    }


@endpoint(
    "/reports/{kind}",
    "GET",
    "A report (accounts or payments) as JSON, or its CSV/XLSX export",
    params=(KIND_PARAM, FORMAT_PARAM, *FILTER_PARAMS),
    response={"type": "object"},
)
async def get_report(request: Request) -> Any:
    """The report over the documents the user may see; ``format=csv|xlsx`` downloads it
    (up to the direct-export limit; longer ones: ``POST /reports/exports``)."""
    cabinet = cabinet_of(request)
    query = _query(request, request.path_params["kind"], request.query_params)
    fmt = request.query_params.get("format", "json")
    if fmt == "json":
        report = await run(cabinet.reports.run, actor(request), query)
        return report_json(report)
    if fmt not in FORMATS:
        raise ValidationError.single("format", "choice", N_("Export as csv or xlsx."))
    rows = await run(cabinet.reports.count, actor(request), query)
    if rows > DIRECT_ROWS:
        raise ValidationError.single(
            "format",
            "too_long",
            N_("This report has %(rows)s rows; start a background export."),
            rows=rows,
        )
    response: Response = await direct_export(request, query, fmt)
    return response


def job_json(job: ExportJob) -> dict[str, Any]:
    """An export job for the API."""
    return {
        "id": job.id,
        "status": job.status.value,
        "format": job.format,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "filename": job.filename,
        "error": job.error,
        "download": f"/api/v1/reports/exports/{job.id}/file" if job.status == "done" else None,
    }


@endpoint(
    "/reports/exports",
    "POST",
    "Start a background export of a report",
    body=EXPORT_BODY,
    response=JOB_SCHEMA,
    status=202,
)
async def start_export(request: Request) -> Any:
    """Queue the export; poll ``GET /reports/exports/{id}`` until it is done."""
    cabinet = cabinet_of(request)
    data = await json_body(request)
    unknown = sorted(set(data) - {"kind", "format", "params"})
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )
    params = data.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(isinstance(value, str) for value in params.values()):
        raise ValidationError.single(
            "params", "type", N_("This value has the wrong type or format.")
        )
    kind, fmt = data.get("kind"), data.get("format")
    if not isinstance(kind, str) or kind not in tuple(ReportKind):
        raise ValidationError.single("kind", "choice", N_("Unknown report."))
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValidationError.single("format", "choice", N_("Export as csv or xlsx."))
    query = _query(request, kind, params)
    job = await run(
        cabinet.reports.start_export, actor(request), query, fmt, gettext=request.state.gettext
    )
    return job_json(job)


@endpoint(
    "/reports/exports/{job_id}",
    "GET",
    "A background export's progress",
    params=(Param(name="job_id", where="path", schema={"type": "integer"}, required=True),),
    response=JOB_SCHEMA,
)
async def get_export(request: Request) -> Any:
    """The job (only its owner's)."""
    job = await run(
        cabinet_of(request).reports.export_job, actor(request), _path_int(request, "job_id")
    )
    return job_json(job)


@endpoint(
    "/reports/exports/{job_id}/file",
    "GET",
    "A finished background export's file",
    params=(Param(name="job_id", where="path", schema={"type": "integer"}, required=True),),
    response={"type": "string", "format": "binary"},
)
async def get_export_file(request: Request) -> Any:
    """The CSV or XLSX file, once the job is done."""
    path, job = await run(
        cabinet_of(request).reports.export_file, actor(request), _path_int(request, "job_id")
    )
    return FileResponse(
        path,
        media_type=FORMATS[job.format][0],
        headers={"Content-Disposition": content_disposition("attachment", job.filename)},
    )

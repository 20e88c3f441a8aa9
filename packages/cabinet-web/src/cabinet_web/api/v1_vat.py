"""``/api/v1/clients/{client_id}/vat-statement…`` and ``/api/v1/documents/{doc_id}/vat-mark``:
the VAT statement as JSON, its PDF/CSV downloads, the JPK_V7M(3) file and the accountant's marks
(the same service calls as the VAT statement page)."""

from __future__ import annotations

from typing import Any

from cabinet_core.converter import to_json_dict
from cabinet_core.errors import N_, NotFound, ValidationError
from cabinet_core.vat_statement import VatMark
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import Param, actor, json_body
from cabinet_web.api.v1 import BINARY, _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.pages.documents import content_disposition
from cabinet_web.pages.vat_statement import FORMATS, jpk_file, jpk_response, parse_period

PERIOD = Param(
    name="period",
    where="query",
    description="A month (2026-11) or a quarter (2026-Q4); the previous month when absent",
)
CLIENT = _id("client_id", "The client's id")
MARK_BODY = {
    "type": "object",
    "properties": {
        "non_deductible": {"type": "boolean"},
        "fixed_asset": {"type": "boolean"},
        "markers": {"type": "array", "items": {"type": "string"}},
        "document_kind": {"type": ["string", "null"]},
        "ksef_marker": {"type": ["string", "null"], "enum": ["OFF", "BFK", "DI", None]},
    },
}


def _period(request: Request) -> Any:
    cabinet = cabinet_of(request)
    return parse_period(dict(request.query_params), cabinet.store.clock().date())


@endpoint(
    "/clients/{client_id:int}/vat-statement",
    "GET",
    "The VAT statement (sales and purchase VAT registers, totals, declaration) of a period",
    params=(CLIENT, PERIOD),
    response={"type": "object"},
)
async def vat_statement(request: Request) -> Any:
    """Every row with its per-rate amounts in PLN and its JPK ``K_`` fields; the totals per
    rate; for a month the VAT-7 declaration's positions."""
    cabinet = cabinet_of(request)
    statement = await run(
        cabinet.vat_statements.statement,
        actor(request),
        _path_int(request, "client_id"),
        _period(request),
    )
    data = to_json_dict(statement)
    data["period"] = str(statement.period)
    return data


@endpoint(
    "/clients/{client_id:int}/vat-statement/jpk",
    "GET",
    "The JPK_V7M(3) XML of a month (register and VAT-7 declaration)",
    params=(
        CLIENT,
        PERIOD,
        Param(name="tax_office", where="query", required=True, description="KodUrzedu"),
        Param(
            name="purpose",
            where="query",
            # Written as the server reads it: the digit itself (2.0 is not a purpose).
            schema={"type": "string", "enum": ["1", "2"]},
            description="1 a filing (default), 2 a correction",
        ),
        Param(
            name="surplus_from_previous",
            where="query",
            schema={"type": "integer"},
            description="P_39, whole złoty",
        ),
        Param(name="declaration", where="query", description="0: the register alone"),
    ),
    response={"application/xml": BINARY},
)
async def vat_statement_jpk(request: Request) -> Response:
    """Streamed; every problem (a quarter, an unknown tax office …) is a 422 problem first."""
    cabinet = cabinet_of(request)
    file, filename = await run(
        jpk_file,
        cabinet,
        actor(request),
        _path_int(request, "client_id"),
        _period(request),
        dict(request.query_params),
    )
    return jpk_response(file, filename)


@endpoint(
    "/clients/{client_id:int}/vat-statement/{format}",
    "GET",
    "The VAT statement as PDF or CSV",
    params=(
        CLIENT,
        Param(name="format", where="path", required=True, description="pdf or csv"),
        PERIOD,
        Param(name="language", where="query", description="pl (default) or en"),
    ),
    response={"application/pdf": BINARY, "text/csv": BINARY},
)
async def vat_statement_file(request: Request) -> Response:
    """The statement rendered by the renderer registered for the format."""
    cabinet = cabinet_of(request)
    media_type = FORMATS.get(request.path_params["format"])
    if media_type is None:
        raise NotFound(N_("Not found"))
    language = request.query_params.get("language", "pl")
    rendered = await run(
        cabinet.vat_statements.render,
        actor(request),
        _path_int(request, "client_id"),
        _period(request),
        media_type,
        language="en" if language == "en" else "pl",
    )
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": content_disposition("attachment", rendered.filename)},
    )


@endpoint(
    "/documents/{doc_id:int}/vat-mark",
    "PUT",
    "Mark a document for the VAT registers (accountants and admins)",
    params=(_id("doc_id", "The document's id"),),
    body=MARK_BODY,
    response=VatMark,
)
async def put_vat_mark(request: Request) -> VatMark:
    """Replace the document's marks: not deductible, fixed asset, markers, kind, KSeF marker."""
    cabinet = cabinet_of(request)
    body = await json_body(request)
    markers = body.get("markers", [])
    if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
        raise ValidationError.single("markers", "invalid", N_("Send the markers as a list."))
    flags = {}
    for name in ("non_deductible", "fixed_asset"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise ValidationError.single(name, "invalid", N_("Choose yes or no."))
        flags[name] = value
    texts = {}
    for name in ("document_kind", "ksef_marker"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise ValidationError.single(name, "invalid", N_("Choose one of the options."))
        texts[name] = value
    mark: VatMark = await run(
        cabinet.vat_statements.mark,
        actor(request),
        _path_int(request, "doc_id"),
        markers=markers,
        **flags,
        **texts,
    )
    return mark

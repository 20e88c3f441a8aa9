"""``/api/v1`` KSeF endpoints: a document's KSeF state and UPO, the KSeF number of an invoice
uploaded by hand, and the list of invoices KSeF rejected or still holds. Thin adapters over
``cabinet.ksef``; no KSeF call happens here (the KSeF plugin talks to KSeF from the worker)."""

from __future__ import annotations

from typing import Any

from cabinet_core.errors import N_, ValidationError
from cabinet_core.ksef.submission import KsefListItem, KsefSubmission
from cabinet_core.services.ksef_submissions import KsefOverview
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import PAGING, Param, actor, int_param, paging, text
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.api.v1_invoicing import _body, _text
from cabinet_web.kit import cabinet_of, run
from cabinet_web.pages.documents import content_disposition

DOC_ID = _id("doc_id", "The document's id")
STATE_PARAM = Param(
    name="state",
    where="query",
    schema={
        "type": "string",
        "enum": ["queued", "sent", "accepted", "rejected", "offline"],
    },
    description="Only these KSeF states (repeat the parameter for several); default: rejected, "
    "queued, sent and offline",
)
CLIENT_PARAM = Param(
    name="client_id", where="query", schema={"type": "integer"}, description="Only this client"
)
NUMBER_SCHEMA = {
    "type": "object",
    "properties": {
        "ksef_number": text(
            non_blank=True,
            description="The number KSeF gave the invoice, e.g. "
            "5265877635-20250626-010080DD2B5E-26",
        )
    },
    "required": ["ksef_number"],
    "additionalProperties": False,
}


@endpoint(
    "/ksef/submissions",
    "GET",
    "Invoices KSeF rejected or still holds, across the clients the user may see",
    params=(STATE_PARAM, CLIENT_PARAM, *PAGING),
    response=("page", KsefListItem),
)
async def list_ksef_submissions(request: Request) -> Any:
    """Most recently changed first; filter with ``state`` (repeatable) and ``client_id``."""
    cabinet = cabinet_of(request)
    limit, offset = paging(request)
    states = [s for s in request.query_params.getlist("state") if s.strip()]
    return await run(
        cabinet.ksef.listing,
        actor(request),
        states=states,
        client_id=int_param(request, "client_id"),
        limit=limit,
        offset=offset,
    )


@endpoint(
    "/documents/{doc_id:int}/ksef",
    "GET",
    "Where the document stands in KSeF",
    params=(DOC_ID,),
    response=KsefOverview,
)
async def document_ksef(request: Request) -> KsefOverview:
    """``applies``: the document goes to KSeF; with ``submission`` ``null`` it was never sent
    there (a client without KSeF: the invoice is not in KSeF)."""
    overview: KsefOverview = await run(
        cabinet_of(request).ksef.overview, actor(request), _path_int(request, "doc_id")
    )
    return overview


@endpoint(
    "/documents/{doc_id:int}/ksef/upo",
    "GET",
    "The UPO (KSeF's official receipt) of an accepted invoice",
    params=(DOC_ID,),
    response={"application/xml": {"type": "string", "format": "binary"}},
)
async def document_upo(request: Request) -> Response:
    """404 when no UPO is stored."""
    doc_id = _path_int(request, "doc_id")
    content = await run(cabinet_of(request).ksef.upo, actor(request), doc_id)
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": content_disposition("attachment", f"UPO-{doc_id}.xml")},
    )


@endpoint(
    "/documents/{doc_id:int}/ksef-number",
    "POST",
    "Record the KSeF number of an invoice uploaded to KSeF by hand",
    params=(DOC_ID,),
    body=NUMBER_SCHEMA,
    response=KsefSubmission,
)
async def record_ksef_number(request: Request) -> KsefSubmission:
    """The number is checked against the official format and its check digits (422)."""
    body = await _body(request, ("ksef_number",))
    number = _text(body, "ksef_number")
    if not number.strip():
        raise ValidationError.single("ksef_number", "required", N_("This field is required."))
    stored: KsefSubmission = await run(
        cabinet_of(request).ksef.record_number,
        actor(request),
        _path_int(request, "doc_id"),
        number,
    )
    return stored

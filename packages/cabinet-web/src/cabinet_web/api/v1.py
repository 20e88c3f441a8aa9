"""``/api/v1``: the endpoints. Each one is a thin adapter over a service call; the services do
the access checks and validation, so the API and the pages obey exactly the same rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from cabinet_core.converter import to_json_dict
from cabinet_core.entities import (
    Attachment,
    Client,
    Counterparty,
    Document,
    ExchangeRate,
    NewsItem,
    PaymentMethod,
    PaymentStatus,
    Product,
    RateTotal,
    User,
)
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.limits import NON_BLANK_PATTERN, text_limits
from cabinet_core.money import SUPPORTED_CURRENCIES
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import (
    DOCUMENT_SERVER_FIELDS,
    DOCUMENT_TYPES_MARKER,
    PAGING,
    SERVER_FIELDS,
    ApiEndpoint,
    Param,
    actor,
    api_routes,
    choice_pattern,
    int_param,
    json_body,
    json_whole,
    paging,
    structure,
)
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import parse_id
from cabinet_web.pages.documents import (
    MAX_UPLOAD_BYTES,
    attachment_headers,
    content_disposition,
    render_fa3,
    render_pdf,
)
from cabinet_web.query import ORDERS, document_query

PREFIX = "/api/v1"
ENDPOINTS: list[ApiEndpoint] = []

# What the server decides; a body that sends these has them ignored.


H = TypeVar("H", bound=Callable[[Request], Awaitable[Any]])


def endpoint(path: str, method: str, summary: str, **kwargs: Any) -> Callable[[H], H]:
    """Declare an API endpoint (collected in :data:`ENDPOINTS`)."""

    def decorate(handler: H) -> H:
        ENDPOINTS.append(
            ApiEndpoint(
                path=PREFIX + path,
                method=method,
                handler=handler,
                summary=summary,
                operation_id=handler.__name__,
                **kwargs,
            )
        )
        return handler

    return decorate


def _id(name: str, description: str) -> Param:
    return Param(
        name=name, where="path", schema={"type": "integer"}, description=description, required=True
    )


def _path_int(request: Request, name: str) -> int:
    return parse_id(request.path_params[name])


def _without(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in fields}


def _client_for(request: Request, data: dict[str, Any] | None = None) -> int:
    """The client a list or a new entity belongs to: given, or the client user's own."""
    given = json_whole(data.get("client_id")) if data is not None else None
    if given is None:
        given = int_param(request, "client_id")
    if given is None:
        given = request.state.user.client_id
    if given is None:
        raise ValidationError.single("client_id", "required", N_("Say which client (client_id)."))
    if not isinstance(given, int) or isinstance(given, bool):
        raise ValidationError.single("client_id", "integer", N_("Enter a whole number."))
    return given


# -- me ------------------------------------------------------------------------------------------
@endpoint("/me", "GET", "The authenticated user", response=User)
async def get_me(request: Request) -> User:
    """The authenticated user (never the password hash)."""
    user: User = request.state.user
    return user


# -- clients -------------------------------------------------------------------------------------
@endpoint(
    "/clients",
    "GET",
    "Clients the user may see",
    params=(Param(name="search", where="query"),),
    response=("list", Client),
)
async def list_clients(request: Request) -> list[Client]:
    """A manager's own clients; every client for accountants and admins; a client user's own."""
    cabinet = cabinet_of(request)
    search = request.query_params.get("search") or None
    return list(await run(cabinet.clients.list, actor(request), search=search))


@endpoint(
    "/clients/{client_id:int}",
    "GET",
    "One client",
    params=(_id("client_id", "The client's id"),),
    response=Client,
)
async def get_client(request: Request) -> Client:
    """One client, if the user may see it."""
    cabinet = cabinet_of(request)
    client: Client = await run(cabinet.clients.get, actor(request), _path_int(request, "client_id"))
    return client


@endpoint(
    "/clients/{client_id:int}",
    "PATCH",
    "Change a client's data (only the fields sent)",
    params=(_id("client_id", "The client's id"),),
    body=Client,
    response=Client,
)
async def patch_client(request: Request) -> Client:
    """Merge the sent fields into the client and save it through the service."""
    cabinet = cabinet_of(request)
    body = await json_body(request)
    who = actor(request)
    current: Client = await run(cabinet.clients.get, who, _path_int(request, "client_id"))
    merged = to_json_dict(current)
    for key, value in _without(body, SERVER_FIELDS).items():
        if key == "address" and isinstance(value, dict):
            merged["address"] = {**merged["address"], **value}
        else:
            merged[key] = value
    updated = structure(merged, Client)
    result: Client = await run(cabinet.clients.update, who, attrs.evolve(updated, id=current.id))
    return result


# -- counterparties and products ------------------------------------------------------------------
def _owned_list(kind: str, service: str, entity: type[Any]) -> None:
    async def list_owned(request: Request) -> Any:
        """A page of the client's entities (``search`` matches names and NIPs)."""
        cabinet = cabinet_of(request)
        limit, offset = paging(request)
        search = request.query_params.get("search") or None
        client_id = _client_for(request)
        return await run(
            getattr(cabinet, service).list,
            actor(request),
            client_id,
            search=search,
            limit=limit,
            offset=offset,
        )

    async def create_owned(request: Request) -> Any:
        """Validate and save a new entity of the client."""
        cabinet = cabinet_of(request)
        body = _without(await json_body(request), SERVER_FIELDS)
        body["client_id"] = _client_for(request, body)
        return await run(getattr(cabinet, service).create, actor(request), structure(body, entity))

    list_owned.__name__ = f"list_{service}"
    create_owned.__name__ = f"create_{kind}"
    client_param = Param(
        name="client_id",
        where="query",
        schema={"type": "integer"},
        description="Required for staff; a client user gets its own",
    )
    endpoint(
        f"/{service}",
        "GET",
        f"A page of a client's {service}",
        params=(client_param, Param(name="search", where="query"), *PAGING),
        response=("page", entity),
    )(list_owned)
    endpoint(
        f"/{service}",
        "POST",
        f"Create a {kind} (client_id defaults to the client user's own)",
        body=entity,
        optional=("client_id",),
        response=entity,
        status=201,
    )(create_owned)


_owned_list("counterparty", "counterparties", Counterparty)
_owned_list("product", "products", Product)


# -- documents -----------------------------------------------------------------------------------
#: The currencies an exchange rate is asked for (the NBP's; PLN needs none).
FOREIGN_CURRENCIES = tuple(code for code in SUPPORTED_CURRENCIES if code != "PLN")
DOCUMENT_FILTERS = tuple(
    Param(name=name, where="query", schema=schema, description=description)
    for name, schema, description in (
        ("client_id", {"type": "integer"}, "Only this client's documents"),
        ("doc_type", {"type": "string", DOCUMENT_TYPES_MARKER: True}, "Comma-separated type keys"),
        ("status", {"type": "string"}, "Comma-separated workflow states"),
        ("search", {"type": "string"}, "Number, party name or NIP, or the gross amount"),
        ("date_from", {"type": "string", "format": "date"}, "Issued on or after"),
        ("date_to", {"type": "string", "format": "date"}, "Issued on or before"),
        ("currency", {"type": "string"}, "ISO 4217 code"),
        (
            "payment_status",
            {"type": "string", "enum": [str(status) for status in PaymentStatus]},
            "unpaid, partially_paid or paid",
        ),
        (
            "payment_method",
            {"type": "string", "enum": [str(method) for method in PaymentMethod]},
            "FA(3) payment form code (1-7) or other",
        ),
        ("counterparty_id", {"type": "integer"}, "Only documents with this counterparty"),
        (
            "order",
            {"type": "string", "enum": list(ORDERS)},
            "-issue_date (default), issue_date, number, -gross …",
        ),
    )
) + tuple(PAGING)


@endpoint(
    "/documents",
    "GET",
    "A page of documents the user may see",
    params=DOCUMENT_FILTERS,
    response=("page", Document),
)
async def list_documents(request: Request) -> Any:
    """Documents filtered by the query string."""
    cabinet = cabinet_of(request)
    query = document_query(dict(request.query_params), known_types=cabinet.document_types)
    return await run(cabinet.documents.list, actor(request), query)


def _document_from_body(request: Request, body: dict[str, Any]) -> Document:
    data = _without(body, DOCUMENT_SERVER_FIELDS)
    data["client_id"] = _client_for(request, data)
    document: Document = structure(data, Document)
    return document


@endpoint(
    "/documents",
    "POST",
    "Create a document (status, number and totals are the server's)",
    body=Document,
    optional=("client_id",),
    response=Document,
    status=201,
)
async def create_document(request: Request) -> Document:
    """Validate, compute the totals and store a new document in its type's first state."""
    cabinet = cabinet_of(request)
    document = attrs.evolve(_document_from_body(request, await json_body(request)), id=None)
    saved = await run(cabinet.documents.save, actor(request), document)
    created: Document = saved.document
    return created


@attrs.frozen(kw_only=True)
class TotalsPreview:
    """A document's totals before saving, with the NBP rate saving would fix (EUR, USD)."""

    currency: str
    rows: tuple[RateTotal, ...] = ()
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")
    vat_pln: Decimal | None = None
    exchange_rate: ExchangeRate | None = None


@endpoint(
    "/documents/preview-totals",
    "POST",
    "Compute a document's totals without saving it",
    body=Document,
    optional=("client_id",),
    response=TotalsPreview,
)
async def preview_totals(request: Request) -> TotalsPreview:
    """The totals the document would have (per VAT rate; for EUR and USD also the VAT in PLN at
    the NBP rate of the last business day before the tax point, with that rate's date and table).
    """
    cabinet = cabinet_of(request)
    document = _document_from_body(request, await json_body(request))
    preview = await run(cabinet.documents.preview, document)
    totals = preview.totals
    return TotalsPreview(
        currency=totals.currency,
        rows=totals.rows,
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        vat_pln=totals.vat_pln,
        exchange_rate=preview.exchange_rate,
    )


@endpoint(
    "/documents/{doc_id:int}",
    "GET",
    "One document",
    params=(_id("doc_id", "The document's id"),),
    response=Document,
)
async def get_document(request: Request) -> Document:
    """One document, if the user may see it (another client's id is simply not found)."""
    cabinet = cabinet_of(request)
    document: Document = await run(
        cabinet.documents.get, actor(request), _path_int(request, "doc_id")
    )
    return document


@endpoint(
    "/documents/{doc_id:int}",
    "PUT",
    "Replace a document's content while its state allows changes",
    params=(_id("doc_id", "The document's id"),),
    body=Document,
    # The stored document's client and type stay; the body need not repeat them.
    optional=("client_id", "doc_type"),
    response=Document,
)
async def update_document(request: Request) -> Document:
    """Save the sent document over the stored one. Send the ``version`` you read: a document
    changed meanwhile answers 409 instead of losing the other change."""
    cabinet = cabinet_of(request)
    who = actor(request)
    doc_id = _path_int(request, "doc_id")
    body = await json_body(request)
    current: Document = await run(cabinet.documents.get, who, doc_id)
    version = json_whole(body.get("version", current.version))
    data = _without(body, DOCUMENT_SERVER_FIELDS)
    data["client_id"] = current.client_id
    data["doc_type"] = current.doc_type
    document: Document = structure(data, Document)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationError.single("version", "integer", N_("Enter a whole number."))
    saved = await run(
        cabinet.documents.save, who, attrs.evolve(document, id=doc_id, version=version)
    )
    updated: Document = saved.document
    return updated


@endpoint(
    "/documents/{doc_id:int}",
    "DELETE",
    "Delete a draft",
    params=(_id("doc_id", "The document's id"),),
    response={},
    status=204,
)
async def delete_document(request: Request) -> Response:
    """Delete a draft (a numbered document stays for the record: 409)."""
    cabinet = cabinet_of(request)
    await run(cabinet.documents.delete, actor(request), _path_int(request, "doc_id"))
    return Response(status_code=204)


BINARY = {"type": "string", "format": "binary"}


@endpoint(
    "/documents/{doc_id:int}/pdf",
    "GET",
    "The document as PDF",
    params=(_id("doc_id", "The document's id"),),
    response={"application/pdf": BINARY},
)
async def document_pdf(request: Request) -> Response:
    """The PDF from the renderer registered for the type, in the document's language and
    template (a draft carries a DRAFT watermark)."""
    content, filename = await run(
        render_pdf, cabinet_of(request), actor(request), _path_int(request, "doc_id")
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


@endpoint(
    "/documents/{doc_id:int}/xml",
    "GET",
    "The FA(3) XML of an issued VAT or correcting invoice",
    params=(_id("doc_id", "The document's id"),),
    response={"application/xml": BINARY},
)
async def document_xml(request: Request) -> Response:
    """The KSeF FA(3) e-invoice; other types are 404, an unnumbered invoice a 422."""
    content, filename = await run(
        render_fa3, cabinet_of(request), actor(request), _path_int(request, "doc_id")
    )
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


# -- attachments ---------------------------------------------------------------------------------
@endpoint(
    "/documents/{doc_id:int}/attachments",
    "GET",
    "A document's attachments",
    params=(_id("doc_id", "The document's id"),),
    response=("list", Attachment),
)
async def list_attachments(request: Request) -> list[Attachment]:
    """The files attached to a document the user may see."""
    cabinet = cabinet_of(request)
    return list(await run(cabinet.attachments.list, actor(request), _path_int(request, "doc_id")))


@endpoint(
    "/documents/{doc_id:int}/attachments",
    "POST",
    "Attach a file (multipart field ``file``: PDF, JPG or PNG)",
    params=(_id("doc_id", "The document's id"),),
    body={
        "multipart/form-data": {
            "type": "object",
            "properties": {"file": BINARY},
            "required": ["file"],
        }
    },
    response=Attachment,
    status=201,
)
async def add_attachment(request: Request) -> Attachment:
    """Attach the uploaded file while the document can be edited; the type is recognised
    from the content (a text file named .pdf is refused), the size is limited."""
    cabinet = cabinet_of(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationError.single(
            "file", "media_type", N_("Send the file as multipart/form-data (field: file).")
        )
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationError.single("file", "required", N_("Choose a file to attach."))
        data = await upload.read()
        filename = upload.filename or ""
    finally:
        await form.close()
    attachment: Attachment = await run(
        cabinet.attachments.add,
        actor(request),
        _path_int(request, "doc_id"),
        filename=filename,
        data=data,
    )
    return attachment


def _attachment_params() -> tuple[Param, ...]:
    return (_id("doc_id", "The document's id"), _id("att_id", "The attachment's id"))


async def _open_attachment(request: Request) -> tuple[Attachment, bytes]:
    cabinet = cabinet_of(request)
    attachment, data = await run(
        cabinet.attachments.open, actor(request), _path_int(request, "att_id")
    )
    if attachment.document_id != _path_int(request, "doc_id"):
        # Under another document's path the attachment simply is not there.
        raise NotFound(N_("Not found"), entity="attachment", id=attachment.id)
    return attachment, data


@endpoint(
    "/documents/{doc_id:int}/attachments/{att_id:int}",
    "GET",
    "An attachment's content",
    params=_attachment_params(),
    response={"application/pdf": BINARY, "image/jpeg": BINARY, "image/png": BINARY},
)
async def get_attachment(request: Request) -> Response:
    """The file with the content type recognised at upload (``?download=1`` to save it)."""
    attachment, data = await _open_attachment(request)
    download = request.query_params.get("download") == "1"
    return Response(
        data,
        media_type=attachment.content_type,
        headers=attachment_headers(attachment.filename, download=download),
    )


@endpoint(
    "/documents/{doc_id:int}/attachments/{att_id:int}",
    "DELETE",
    "Remove an attachment",
    params=_attachment_params(),
    response={},
    status=204,
)
async def delete_attachment(request: Request) -> Response:
    """Remove an attachment while the document can be edited (else 409)."""
    cabinet = cabinet_of(request)
    attachment, _ = await _open_attachment(request)
    await run(cabinet.attachments.delete, actor(request), attachment.id)
    return Response(status_code=204)


# -- exchange rates ------------------------------------------------------------------------------
@endpoint(
    "/exchange-rates",
    "GET",
    "The NBP rate a foreign-currency document with this tax point uses",
    params=(
        Param(
            name="currency",
            where="query",
            required=True,
            schema={"type": "string", "pattern": choice_pattern(FOREIGN_CURRENCIES)},
            description="EUR or USD (in any case)",
        ),
        Param(
            name="tax_point",
            where="query",
            required=True,
            schema={"type": "string", "format": "date"},
            description="The sale date (or the issue date when earlier)",
        ),
    ),
    response=ExchangeRate,
)
async def exchange_rate(request: Request) -> ExchangeRate:
    """Table A mid rate of the last business day before the tax point (art. 31a VAT Act)."""
    cabinet = cabinet_of(request)
    currency = request.query_params.get("currency", "").strip().upper()
    errors = []
    if currency not in FOREIGN_CURRENCIES:
        errors.append(
            FieldError(field="currency", code="unsupported", message=N_("Choose EUR or USD."))
        )
    try:
        tax_point = date.fromisoformat(request.query_params.get("tax_point", "").strip())
    except ValueError:
        errors.append(
            FieldError(field="tax_point", code="date", message=N_("Enter a date as YYYY-MM-DD."))
        )
    if errors:
        raise ValidationError(errors)
    rate: ExchangeRate = await run(cabinet.rate_provider.rate_for, currency, tax_point)
    return rate


TRANSITION_SCHEMA = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "target": {"type": "string"},
        "label": {"type": "object", "additionalProperties": {"type": "string"}},
        "needs_comment": {"type": "boolean"},
        "assigns_number": {"type": "boolean"},
    },
    "required": ["key", "target", "label", "needs_comment", "assigns_number"],
}


@endpoint(
    "/documents/{doc_id:int}/transitions",
    "GET",
    "What the user may do with a document now",
    params=(_id("doc_id", "The document's id"),),
    response={"type": "array", "items": TRANSITION_SCHEMA},
)
async def list_transitions(request: Request) -> list[dict[str, Any]]:
    """The workflow transitions open to this user from the document's current state."""
    cabinet = cabinet_of(request)
    available = await run(
        cabinet.documents.transitions, actor(request), _path_int(request, "doc_id")
    )
    return [
        {
            "key": transition.key,
            "target": transition.target,
            "label": dict(transition.label),
            "needs_comment": transition.needs_comment,
            "assigns_number": transition.assigns_number,
        }
        for transition in available
    ]


@endpoint(
    "/documents/{doc_id:int}/transitions/{key}",
    "POST",
    "Move a document along its workflow (submit, approve, issue …)",
    params=(
        _id("doc_id", "The document's id"),
        Param(name="key", where="path", required=True, description="The transition's key"),
    ),
    body={
        "type": "object",
        "properties": {"comment": {"type": "string"}},
        "additionalProperties": False,
    },
    body_required=False,
    response=Document,
)
async def transition_document(request: Request) -> Document:
    """Make one workflow transition; the service checks the role and the current state."""
    cabinet = cabinet_of(request)
    body = await json_body(request) if await request.body() else {}
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise ValidationError.single(
            "comment", "type", N_("This value has the wrong type or format.")
        )
    document: Document = await run(
        cabinet.documents.transition,
        actor(request),
        _path_int(request, "doc_id"),
        request.path_params["key"],
        comment=comment,
    )
    return document


# -- news ----------------------------------------------------------------------------------------
@endpoint(
    "/news",
    "GET",
    "The firm's news, newest first",
    params=tuple(PAGING),
    response=("page", NewsItem),
)
async def list_news(request: Request) -> Any:
    """News and notices shown to every client."""
    cabinet = cabinet_of(request)
    limit, offset = paging(request, default=20)
    return await run(cabinet.news.list, actor(request), limit=limit, offset=offset)


NEWS_BODY = {
    "type": "object",
    "properties": {
        "title": {
            "type": "string",
            "pattern": NON_BLANK_PATTERN,
            "maxLength": text_limits(NewsItem)["title"],
        },
        "body": {"type": "string"},
        "important": {
            "type": "boolean",
            "description": "Shown as a notice and sent to every client user's notifications",
        },
    },
    "required": ["title"],
    "additionalProperties": False,
}


def _news_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The title, body and importance of a news request (a wrong type is a field error)."""
    unknown = [key for key in body if key not in ("title", "body", "important")]
    errors = [
        FieldError(field=key, code="unknown", message=N_("This field is not part of the request."))
        for key in unknown
    ]
    for name in ("title", "body"):
        if not isinstance(body.get(name, ""), str):
            errors.append(
                FieldError(
                    field=name, code="type", message=N_("This value has the wrong type or format.")
                )
            )
    if not isinstance(body.get("important", False), bool):
        errors.append(
            FieldError(
                field="important",
                code="type",
                message=N_("This value has the wrong type or format."),
            )
        )
    if errors:
        raise ValidationError(errors)
    return {
        "title": body.get("title", ""),
        "body": str(body.get("body", "")).strip(),
        "important": bool(body.get("important", False)),
    }


@endpoint(
    "/news",
    "POST",
    "Publish a news item now (managers and admins)",
    body=NEWS_BODY,
    response=NewsItem,
    status=201,
)
async def publish_news(request: Request) -> Any:
    """An empty title is a 422 at ``title``; an important item notifies every client user."""
    fields = _news_fields(await json_body(request))
    return await run(cabinet_of(request).news.publish, actor(request), NewsItem(**fields))


@endpoint(
    "/news/{news_id:int}",
    "GET",
    "One news item",
    params=(_id("news_id", "The news item's id"),),
    response=NewsItem,
)
async def get_news(request: Request) -> Any:
    """404 when there is no such item."""
    return await run(cabinet_of(request).news.get, actor(request), _path_int(request, "news_id"))


@endpoint(
    "/news/{news_id:int}",
    "PUT",
    "Change a news item (managers and admins)",
    params=(_id("news_id", "The news item's id"),),
    body=NEWS_BODY,
    response=NewsItem,
)
async def put_news(request: Request) -> Any:
    """Items that came from a CRM are changed there: 409."""
    cabinet = cabinet_of(request)
    who = actor(request)
    fields = _news_fields(await json_body(request))
    current: NewsItem = await run(cabinet.news.get, who, _path_int(request, "news_id"))
    if current.external_id:
        raise Conflict(N_("This news item comes from the CRM; change it there."))
    return await run(cabinet.news.update, who, attrs.evolve(current, **fields))


@endpoint(
    "/news/{news_id:int}",
    "DELETE",
    "Withdraw a news item (managers and admins)",
    params=(_id("news_id", "The news item's id"),),
    response={},
    status=204,
)
async def delete_news(request: Request) -> Response:
    """404 when there is no such item."""
    await run(cabinet_of(request).news.delete, actor(request), _path_int(request, "news_id"))
    return Response(status_code=204)


# -- the description of all of the above ------------------------------------------------------
@endpoint(
    "/openapi.json",
    "GET",
    "This API's OpenAPI 3.1 description",
    public=True,
    response={"type": "object"},
)
async def openapi_document(request: Request) -> Any:
    """The OpenAPI document, built from :data:`ENDPOINTS` and the plugins' operations."""
    from cabinet_web.api.openapi import build_openapi

    endpoints = getattr(request.app.state, "api_endpoints", ENDPOINTS)
    return build_openapi(
        endpoints,
        server_url=str(request.base_url).rstrip("/"),
        languages=cabinet_of(request).settings.languages,
        document_types=cabinet_of(request).document_types,
    )


# The modules below register their endpoints in ENDPOINTS when imported.
from cabinet_web.api import (  # noqa: E402, F401
    v1_audit,
    v1_cash,
    v1_chat,
    v1_clients,
    v1_contracts,
    v1_invoicing,
    v1_ksef,
    v1_notifications,
    v1_reports,
    v1_settings,
    v1_users,
    v1_vat,
)

ROUTES = api_routes(ENDPOINTS)

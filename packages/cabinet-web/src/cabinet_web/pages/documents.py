"""The documents list (search, filters, paging) and one document's page: its key information,
status history, attachments, workflow buttons and downloads (PDF, FA(3) XML)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from cabinet_core import access, printing
from cabinet_core.app import Cabinet
from cabinet_core.audit import action_label
from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import Actor, AuditEntry, Client, Document, Role
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.words import amount_in_words
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.i18n import format_message, translations
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
from cabinet_web.pages._forms import LANGUAGE_CHOICES, PAYMENT_METHODS, PAYMENT_STATUSES, translated
from cabinet_web.pages.ksef import ksef_panel
from cabinet_web.query import document_query

FILTERS = (
    "client_id",
    "doc_type",
    "status",
    "search",
    "date_from",
    "date_to",
    "currency",
    "payment_status",
    "payment_method",
    "counterparty_id",
    "unpaid",
    "due_before",
    "order",
)
PAGE_SIZE = 25
SORT_CHOICES = (
    ("-issue_date", N_("Newest first")),
    ("issue_date", N_("Oldest first")),
    ("-gross", N_("Largest amount first")),
    ("gross", N_("Smallest amount first")),
    ("number", N_("By number")),
)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


# -- the list --------------------------------------------------------------------------------------
@page()
async def documents_page(request: Request) -> Response:
    """Documents the user may see, filtered by the query string."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    params = {
        key: value for key, value in request.query_params.items() if key in (*FILTERS, "offset")
    }
    filters = {key: params.get(key, "") for key in FILTERS}
    gettext = request.state.gettext
    try:
        query = document_query(
            params, known_types=cabinet.document_types, page_size=PAGE_SIZE, summary=True
        )
    except ValidationError as exc:
        query, query_errors = None, exc.errors
    else:
        query_errors = ()
    clients, may_create, counterparties, result = await run(
        _list_parts, cabinet, actor, filters.get("client_id", ""), query
    )
    context: dict[str, Any] = {
        "filters": filters,
        "doc_types": cabinet.document_types,
        # The types that declare offer_new, in the order they were registered.
        "new_types": [key for key, known in cabinet.document_types.items() if known.offer_new]
        if may_create
        else [],
        # Accountants approve what clients bring; importing a received invoice is the client side's.
        "can_import": actor.role is not Role.ACCOUNTANT,
        "clients": clients,
        # Staff see several clients' documents: each row names its client.
        "client_names": {c.id: c.name for c in clients},
        "counterparties": counterparties,
        "payment_methods": translated(request, PAYMENT_METHODS),
        "payment_statuses": translated(request, PAYMENT_STATUSES),
        "sort_choices": [(value, gettext(label)) for value, label in SORT_CHOICES],
        "payment_labels": {str(value): gettext(label) for value, label in PAYMENT_STATUSES},
        "flashes": pop_flashes(request),
        "errors": {},
        "documents": (),
        "total": 0,
        "prev_url": None,
        "next_url": None,
        "page_info": None,
    }
    status = 200
    if result is None:
        context["errors"] = errors_by_field(request, query_errors)
        status = 422
    else:
        context["documents"] = result.items
        context["total"] = result.total
        base = {key: value for key, value in filters.items() if value}
        if result.offset > 0:
            prev_offset = max(result.offset - PAGE_SIZE, 0)
            context["prev_url"] = "/documents?" + urlencode({**base, "offset": prev_offset})
        if result.offset + len(result.items) < result.total:
            next_offset = result.offset + PAGE_SIZE
            context["next_url"] = "/documents?" + urlencode({**base, "offset": next_offset})
        if result.items:
            context["page_info"] = (result.offset + 1, result.offset + len(result.items))
    return render(request, "documents.html", context, status_code=status)


def _list_parts(
    cabinet: Cabinet, actor: Actor, client_id: str, query: Any
) -> tuple[list[Client], bool, list[Any], Any]:
    """What the list page reads, in one trip to a worker thread (under load each trip cost
    more than the small read it carried): the clients staff may pick, whether the user may
    create documents, the counterparty filter's choices and the page of documents (``None``
    when the filters were refused)."""
    clients = [] if actor.client_id is not None else cabinet.clients.list(actor)
    result = cabinet.documents.list(actor, query) if query is not None else None
    return (
        clients,
        _may_create(cabinet, actor, clients),
        _counterparties(cabinet, actor, client_id),
        result,
    )


def _may_create(cabinet: Cabinet, actor: Actor, clients: list[Client]) -> bool:
    """Whether the user may write documents for its own client, or for any client it serves
    (``clients``: the ones staff see)."""
    if actor.client_id is not None:
        if actor.role is Role.CLIENT:
            # A client's own user writes its own client's documents (the services still check
            # on save); no client lookup needed for the list's "new" links.
            return True
        client = cabinet.clients.get(actor, actor.client_id)
        return access.can_edit_client_data(actor, client)
    return any(access.can_edit_client_data(actor, client) for client in clients)


def _counterparties(cabinet: Cabinet, actor: Actor, client_id: str) -> list[Any]:
    """The counterparty filter's choices: the client user's own, or the chosen client's."""
    target: int | None = actor.client_id
    if target is None and client_id.strip().isdigit() and len(client_id.strip()) < 10:
        target = int(client_id)
    if target is None:
        return []
    try:
        page_ = cabinet.counterparties.list(actor, target, limit=500)
    except (NotFound, ValidationError):
        return []
    return list(page_.items)


# -- one document --------------------------------------------------------------------------------
def _doc_id(request: Request) -> int:
    return parse_id(request.path_params["doc_id"])


#: What the history says for each audited action (transitions say their own label).
HISTORY_ACTIONS = {
    "document.create": N_("Created"),
    "document.update": N_("Changed"),
    "document.crm_status": N_("Status changed in the CRM"),
    "document.crm_payment": N_("Payment status changed in the CRM"),
    "document.send": N_("Sent by e-mail"),
    "document.send_skipped": N_("Not sent automatically"),
    "document.import_fa3": N_("Imported from an FA(3) file"),
    "document.convert": N_("Made from a proforma"),
    "document.correct": N_("Made as a correction"),
    "document.request_correction": N_("Made as a correction request"),
    "ksef.queued": N_("Queued for sending to KSeF"),
    "ksef.requeued": N_("Queued again for KSeF"),
    "ksef.sent": N_("Sent to KSeF"),
    "ksef.attempt_failed": N_("Sending to KSeF failed, will retry"),
    "ksef.accepted": N_("Accepted by KSeF"),
    "ksef.rejected": N_("Rejected by KSeF"),
    "ksef.offline": N_("Issued in offline mode"),
    "ksef.offline_mode": N_("Offline mode or deadline changed"),
    "ksef.technical_correction": N_("Queued for KSeF as a technical correction"),
    "ksef.manual_number": N_("KSeF number recorded"),
    "ksef.upo_stored": N_("UPO stored"),
    "ksef.received": N_("Received from KSeF"),
}


def _history_words(gettext: Callable[[str], str], action: str) -> str:
    """``action`` in words: the history's own phrase, else the audit log's (which also reads a
    plugin's ``….create``/``….update`` keys), never the bare key."""
    if action in HISTORY_ACTIONS:
        return gettext(HISTORY_ACTIONS[action])
    first, second = action_label(action, "document")
    if second is not None:
        return f"{gettext(first)} — {gettext(second)}"
    return gettext(N_("Other change")) if first == action else gettext(first)


#: Actions whose detail ``to`` (or ``status``) is a workflow state of the document.
STATE_ACTIONS = ("document.create", "document.transition", "document.crm_status")


def history(
    cabinet: Cabinet,
    actor: Actor,
    document: Document,
    document_type: DocumentType,
    gettext: Callable[[str], str],
    language: str,
) -> list[dict[str, Any]]:
    """The document's history for people: when, who, what (translated), the state it moved to
    and the comment."""
    assert document.id is not None
    entries: list[tuple[AuditEntry, str]] = cabinet.audit.document_history(actor, document.id)
    rows = []
    for entry, who in entries:
        detail = entry.detail
        if entry.action == "document.transition":
            key = str(detail.get("transition", ""))
            try:
                what = document_type.workflow.transition(key).label.get(language, key)
            except KeyError:
                what = key
        else:
            what = _history_words(gettext, entry.action)
        if entry.action == "document.send" and detail.get("to"):
            what = f"{what}: {detail['to']}"
        elif entry.action in ("attachment.add", "attachment.delete") and detail.get("filename"):
            what = f"{what}: {detail['filename']}"
        elif entry.action == "ksef.rejected":
            what = f"{what} ({detail.get('code')}): {detail.get('description', '')}"
        elif entry.action in ("ksef.accepted", "ksef.manual_number") and detail.get("ksef_number"):
            what = f"{what}: {detail['ksef_number']}"
        state = (
            (detail.get("to") or detail.get("status")) if entry.action in STATE_ACTIONS else None
        )
        rows.append(
            {
                "at": entry.at,
                "who": who,
                "action": entry.action,
                "what": what,
                "status": state,
                "comment": detail.get("comment", ""),
            }
        )
    return rows


async def _render_document(
    request: Request,
    document: Document,
    *,
    errors: list[FieldError] | None = None,
    comment: str = "",
    status: int = 200,
    ksef_number: str = "",
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    assert document.id is not None
    document_type = cabinet.document_type(document.doc_type)
    language = request.state.language
    gettext = request.state.gettext
    breakdown = _breakdown(document_type, document)
    client, transitions, attachments, deliveries, rows, ksef, drift = await run(
        _document_parts,
        cabinet,
        actor,
        document,
        document_type,
        gettext,
        language,
        computed=breakdown is not None,
    )
    returned = [row for row in rows if row["status"] == "returned" and row["comment"]]
    state = document_type.workflow.state(document.status)
    can_write = access.can_edit_client_data(actor, client)
    template = cabinet.templates.get(document.template) if document.template else None
    context: dict[str, Any] = {
        "document": document,
        "document_type": document_type,
        "client": client,
        "deliveries": deliveries,
        "transitions": transitions,
        "attachments": attachments,
        "history": rows,
        "return_comment": returned[-1]["comment"]
        if document.status == "returned" and returned
        else "",
        # The buttons follow the services' rules (an accountant reads and approves, never edits).
        "editable": state.editable and can_write,
        "deletable": can_write
        and document.status == document_type.workflow.initial
        and not document.number,
        "has_pdf": _has_renderer(cabinet, document.doc_type),
        # "Issue bill" on a signed contract: the types made from this one, once it has a number.
        "follow_ups": [
            (key, known)
            for key, known in cabinet.document_types.items()
            if document.doc_type in known.made_from and document.number
        ]
        if can_write
        else [],
        "breakdown": breakdown,
        "drift": drift,
        "age_dates": _age_dates(breakdown),
        "net_in_words": amount_in_words(Decimal(str(breakdown["net"])), "PLN", language)
        if breakdown
        else "",
        "has_xml": document_type.ksef_kind is not None and document.number is not None,
        "template_name": template.name if template else "",
        "language_label": request.state.gettext(
            dict(LANGUAGE_CHOICES).get(document.language, document.language)
        ),
        "payment_method_label": request.state.gettext(
            dict(PAYMENT_METHODS).get(document.payment_method, str(document.payment_method))
        ),
        "payment_status_label": request.state.gettext(
            dict(PAYMENT_STATUSES).get(document.payment_status, str(document.payment_status))
        ),
        "errors": errors_by_field(request, errors or []),
        "comment": comment,
        "flashes": pop_flashes(request),
        "staff": actor.role is not Role.CLIENT,
        "ksef": ksef,
        "ksef_number": ksef_number,
    }
    return render(request, "document.html", context, status_code=status)


def _document_parts(
    cabinet: Cabinet,
    actor: Actor,
    document: Document,
    document_type: DocumentType,
    gettext: Callable[[str], str],
    language: str,
    *,
    computed: bool,
) -> tuple[Client, Any, Any, Any, list[dict[str, Any]], Any, Any]:
    """What a document's page reads beside the document, in one trip to a worker thread
    (under load each trip cost more than the small read it carried): its client, the moves
    it may make, its attachments, deliveries, history and KSeF panel, and for a ``computed``
    document (a bill's ZUS and PIT) whether the earlier documents it counted changed since."""
    assert document.id is not None
    return (
        cabinet.clients.get(actor, document.client_id),
        cabinet.documents.transitions(actor, document.id),
        cabinet.attachments.list(actor, document.id),
        cabinet.documents.deliveries(actor, document.id),
        history(cabinet, actor, document, document_type, gettext, language),
        ksef_panel(cabinet, actor, document),
        # An issued bill computed before an earlier bill of its contractor changed says so.
        cabinet.documents.drift(actor, document) if computed else None,
    )


def _breakdown(document_type: DocumentType, document: Document) -> Mapping[str, Any] | None:
    # A type that computes what a document pays (a bill's ZUS and PIT) shows it on the page.
    return document_type.breakdown(document)


def _age_dates(breakdown: Mapping[str, Any] | None) -> dict[str, date]:
    # The 26th birthday and the pay day a bill's under-26 rules were decided on, as dates.
    found: dict[str, date] = {}
    for name in ("turns_26", "pay_date"):
        value = breakdown.get(name) if breakdown else None
        if isinstance(value, str):
            found[name] = date.fromisoformat(value)
    return found


def _has_renderer(cabinet: Cabinet, doc_type: str) -> bool:
    try:
        cabinet.renderer_for(doc_type, "application/pdf")
    except NotFound:
        return False
    return True


@page()
async def document_page(request: Request) -> Response:
    """One document: what it says, where it stands, its files and what can be done with it."""
    cabinet = cabinet_of(request)
    document = await run(cabinet.documents.get, actor_of(request), _doc_id(request))
    return await _render_document(request, document)


@page()
async def transition(request: Request) -> Response:
    """Move the document along its workflow (with the comment a "return" needs)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    doc_id = _doc_id(request)
    form = await read_form(request)
    key = request.path_params["key"]
    comment = form.get("comment", "")
    try:
        moved = await run(cabinet.documents.transition, actor, doc_id, key, comment=comment)
    except ValidationError as exc:
        document = await run(cabinet.documents.get, actor, doc_id)
        # The page has a field only for the comment; what else refused the move (a correction
        # without a reason or a change) is said above it.
        catalog = translations(request.state.language)
        for error in exc.errors:
            if error.field != "comment":
                flash(request, format_message(catalog, error.message, error.params))
        return await _render_document(
            request, document, errors=list(exc.errors), comment=comment, status=422
        )
    except Conflict as exc:
        flash(request, request.state.gettext(exc.message))
        return redirect(f"/documents/{doc_id}")
    document_type = cabinet.document_type(moved.doc_type)
    label = document_type.workflow.state(moved.status).label.get(
        request.state.language, moved.status
    )
    flash(request, request.state.gettext("Status: %(status)s") % {"status": label})
    return redirect(f"/documents/{doc_id}")


# -- downloads -----------------------------------------------------------------------------------
def content_disposition(kind: str, filename: str) -> str:
    """``attachment``/``inline`` with an ASCII fallback and the exact name (RFC 6266/5987)."""
    fallback = (
        "".join(
            ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in filename
        ).strip()
        or "file"
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def render_pdf(cabinet: Cabinet, actor: Actor, doc_id: int) -> tuple[bytes, str]:
    """The document's PDF through the renderer registered for its type (and its filename)."""
    document = cabinet.documents.get(actor, doc_id)
    client = cabinet.clients.get(actor, document.client_id)
    rendered = printing.render(cabinet, document, client)
    return rendered.content, rendered.filename


def render_fa3(cabinet: Cabinet, actor: Actor, doc_id: int) -> tuple[bytes, str]:
    """The FA(3) XML of a document whose type goes to KSeF (and its filename): the file its
    PDF embeds and its e-mail attaches. Why it cannot be written → :class:`ValidationError`."""
    document = cabinet.documents.get(actor, doc_id)
    if cabinet.document_type(document.doc_type).ksef_kind is None:
        raise NotFound(N_("Only VAT and correcting invoices are sent to KSeF."))
    client = cabinet.clients.get(actor, document.client_id)
    view = printing.view_of(cabinet, document, client)
    if view.fa3 is None:
        raise ValidationError(
            list(view.fa3_errors)
            or [
                FieldError(
                    field="number",
                    code="required",
                    message=N_("Issue the invoice before creating its KSeF file."),
                )
            ]
        )
    return view.fa3.content, view.fa3.filename


@page()
async def document_pdf(request: Request) -> Response:
    """Download the document as PDF (a draft carries the DRAFT watermark)."""
    content, filename = await run(
        render_pdf, cabinet_of(request), actor_of(request), _doc_id(request)
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


@page()
async def document_xml(request: Request) -> Response:
    """Download the FA(3) XML of an issued VAT or correcting invoice."""
    content, filename = await run(
        render_fa3, cabinet_of(request), actor_of(request), _doc_id(request)
    )
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": content_disposition("attachment", filename)},
    )


# -- attachments -----------------------------------------------------------------------------------
def attachment_headers(filename: str, *, download: bool = False) -> dict[str, str]:
    """Headers for serving an uploaded file: its sniffed type only, never run as a page.

    The file may be shown in an ``<object>`` on our own document page (so frames from the same
    origin are allowed, unlike every other response), but nothing in it may load or run.
    """
    return {
        "Content-Disposition": content_disposition(
            "attachment" if download else "inline", filename
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "Cache-Control": "private, max-age=0",
    }


@page()
async def upload_attachment(request: Request) -> Response:
    """Attach the uploaded file (PDF, JPG or PNG, recognised by its content)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    doc_id = _doc_id(request)
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    try:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            data = await upload.read()
            filename = upload.filename or ""
        else:
            data, filename = b"", ""
    finally:
        await form.close()
    try:
        await run(cabinet.attachments.add, actor, doc_id, filename=filename, data=data)
    except ValidationError as exc:
        document = await run(cabinet.documents.get, actor, doc_id)
        return await _render_document(request, document, errors=list(exc.errors), status=422)
    except Conflict as exc:
        flash(request, request.state.gettext(exc.message))
        return redirect(f"/documents/{doc_id}")
    flash(request, request.state.gettext("The file is attached."))
    return redirect(f"/documents/{doc_id}#attachments")


async def _attachment_of(request: Request) -> tuple[Any, bytes]:
    cabinet = cabinet_of(request)
    attachment, data = await run(
        cabinet.attachments.open, actor_of(request), parse_id(request.path_params["att_id"])
    )
    if attachment.document_id != _doc_id(request):
        raise NotFound()
    return attachment, data


@page()
async def attachment_content(request: Request) -> Response:
    """The attached file, with the type its content was recognised as when uploaded."""
    attachment, data = await _attachment_of(request)
    download = request.query_params.get("download") == "1"
    return Response(
        data,
        media_type=attachment.content_type,
        headers=attachment_headers(attachment.filename, download=download),
    )


@page()
async def delete_attachment(request: Request) -> Response:
    """Remove an attachment while the document can still be edited."""
    cabinet = cabinet_of(request)
    attachment, _ = await _attachment_of(request)
    try:
        await run(cabinet.attachments.delete, actor_of(request), attachment.id)
    except Conflict as exc:
        flash(request, request.state.gettext(exc.message))
    else:
        flash(request, request.state.gettext("The attachment is removed."))
    return redirect(f"/documents/{attachment.document_id}#attachments")


ROUTES = [
    Route("/documents", documents_page, methods=["GET"], name="documents"),
    Route("/documents/{doc_id:int}", document_page, methods=["GET"], name="document"),
    Route(
        "/documents/{doc_id:int}/transitions/{key}",
        transition,
        methods=["POST"],
        name="document_transition",
    ),
    Route("/documents/{doc_id:int}/pdf", document_pdf, methods=["GET"], name="document_pdf"),
    Route("/documents/{doc_id:int}/xml", document_xml, methods=["GET"], name="document_xml"),
    Route(
        "/documents/{doc_id:int}/attachments",
        upload_attachment,
        methods=["POST"],
        name="document_attachment_add",
    ),
    Route(
        "/documents/{doc_id:int}/attachments/{att_id:int}",
        attachment_content,
        methods=["GET"],
        name="document_attachment",
    ),
    Route(
        "/documents/{doc_id:int}/attachments/{att_id:int}/delete",
        delete_attachment,
        methods=["POST"],
        name="document_attachment_delete",
    ),
]

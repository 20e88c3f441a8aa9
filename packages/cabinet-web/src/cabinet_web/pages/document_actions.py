"""Actions on one document: send by e-mail (and its delivery status), convert a proforma, issue a
correcting invoice, ask the seller for a correction, and import a KSeF FA(3) file.

The use cases are ``cabinet.invoicing``'s; these pages only read forms, call them and show the
outcome. The preview page (``document.html``) includes ``_document_actions.html``, which posts
here; a form that comes back with errors is shown on this module's own pages.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from cabinet_core.app import Cabinet
from cabinet_core.doctypes.invoice_effects import default_address
from cabinet_core.entities import Document, DocumentLine, OutboxMessage, Role
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from cabinet_core.storage import DocumentQuery
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.i18n import format_message, translations
from cabinet_web.limits import parse_client_id, parse_id
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
from cabinet_web.pages._forms import vat_choices

MAX_LINES = 200


# -- what the preview's partial shows -------------------------------------------------------------
def default_recipient(cabinet: Cabinet, document: Document) -> str:
    """The other party's e-mail: the buyer of a sales document, the seller when the client is
    the buyer (a correction request)."""
    client_is_buyer = cabinet.document_type(document.doc_type).client_is_buyer
    return default_address(document, client_is_buyer=client_is_buyer)


def delivery_state(message: OutboxMessage) -> str:
    """``sent``, ``failed``, ``retrying`` or ``queued``: what the status list shows."""
    if message.delivered_at is not None:
        return "sent"
    if message.failed_at is not None:
        return "failed"
    if message.attempts > 0:
        return "retrying"
    return "queued"


def related_documents(request: Request, document: Document) -> list[Document]:
    """The document this one points at and the documents pointing at it (a converted
    proforma's invoice, an invoice's corrections, a cost invoice's correction request and the
    correcting invoice received for it), as far as the user may see them."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    found: list[Document] = []
    if document.related_id is not None:
        # The other end may be invisible to this user (or gone): then there is no link.
        with contextlib.suppress(NotFound):
            found.append(cabinet.documents.get(actor, document.related_id))
    if document.id is not None:
        query = DocumentQuery(
            client_ids=(document.client_id,),
            related_id=document.id,
            summary=True,
            limit=50,
        )
        found.extend(cabinet.documents.list(actor, query).items)
    return found


def import_warnings(request: Request, document: Document) -> list[str]:
    """The warnings an FA(3) import left on the document, translated."""
    stored = document.extra.get("import_warnings") or ()
    if isinstance(stored, str):
        stored = (stored,)
    return [warning_text(request, warning) for warning in stored]


def actions_for(request: Request, document: Document) -> dict[str, Any]:
    """Everything ``_document_actions.html`` decides from: which actions the user has on
    ``document`` now, whom it is sent to, related documents and import warnings.

    The services check every action again; this only keeps buttons that would fail away.
    """
    user = request.state.user
    writes = user is not None and user.role is not Role.ACCOUNTANT
    cabinet = cabinet_of(request)
    available = cabinet.invoicing.available(document) if writes else frozenset()
    return {
        "can_send": "send" in available,
        "recipient": default_recipient(cabinet, document),
        "can_convert": "convert" in available,
        "can_correct": "correct" in available,
        "can_request_correction": "request_correction" in available,
        "related": related_documents(request, document),
        "warnings": import_warnings(request, document),
    }


# -- send -----------------------------------------------------------------------------------------
async def _document(request: Request) -> Document:
    cabinet = cabinet_of(request)
    document: Document = await run(
        cabinet.documents.get, actor_of(request), parse_id(request.path_params["doc_id"])
    )
    return document


async def _render_send(
    request: Request,
    document: Document,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    deliveries = await run(cabinet.documents.deliveries, actor_of(request), document.id)
    context = {
        "document": document,
        "document_type": cabinet.document_types.get(document.doc_type),
        "deliveries": deliveries,
        "can_resend": request.state.user.role is not Role.ACCOUNTANT
        and "send" in cabinet.invoicing.available(document),
        "values": values,
        "errors": errors,
        "flashes": pop_flashes(request),
    }
    return render(request, "document_send.html", context, status_code=status)


@page()
async def send_form(request: Request) -> Response:
    """The send form with the delivery status of every e-mail sent so far."""
    document = await _document(request)
    values = {"to": default_recipient(cabinet_of(request), document), "message": ""}
    return await _render_send(request, document, values, {})


@page()
async def send_document(request: Request) -> Response:
    """Queue the e-mail (the worker delivers it); a bad address comes back at the field."""
    cabinet = cabinet_of(request)
    document = await _document(request)
    form = await read_form(request)
    to = form.get("to", "").strip()
    message = form.get("message", "").strip()
    try:
        await run(
            cabinet.invoicing.send, actor_of(request), document.id, to=to or None, message=message
        )
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        values = {"to": to, "message": message}
        return await _render_send(request, document, values, errors, status=422)
    recipient = to or default_recipient(cabinet, document)
    flash(request, request.state.gettext("The e-mail to %(to)s is queued.") % {"to": recipient})
    return redirect(f"/documents/{document.id}")


# -- convert and correct ---------------------------------------------------------------------------
@page()
async def convert_proforma(request: Request) -> Response:
    """Make a VAT invoice draft of an issued proforma and open it in the form."""
    cabinet = cabinet_of(request)
    doc_id = parse_id(request.path_params["doc_id"])
    try:
        invoice: Document = await run(cabinet.invoicing.convert_proforma, actor_of(request), doc_id)
    except ValidationError as refused:
        # The invoice the proforma would make is not valid (an exempt line without its legal
        # basis): say why on the proforma's page, where the user can fix the proforma.
        _flash_refusal(request, request.state.gettext("The proforma cannot be converted:"), refused)
        return redirect(f"/documents/{doc_id}")
    flash(
        request,
        request.state.gettext("A VAT invoice draft was made from the proforma; check, then issue."),
    )
    return redirect(f"/documents/{invoice.id}/edit")


@page()
async def correct_invoice(request: Request) -> Response:
    """Make a correcting invoice draft (before/after rows) and open it in the form."""
    cabinet = cabinet_of(request)
    doc_id = parse_id(request.path_params["doc_id"])
    form = await read_form(request)
    try:
        correction: Document = await run(
            cabinet.invoicing.correct,
            actor_of(request),
            doc_id,
            reason=form.get("reason", "").strip(),
        )
    except ValidationError as refused:
        _flash_refusal(
            request, request.state.gettext("The correcting invoice cannot be made:"), refused
        )
        return redirect(f"/documents/{doc_id}")
    flash(
        request,
        request.state.gettext("A correcting invoice draft was made; change the rows after."),
    )
    return redirect(f"/documents/{correction.id}/edit")


def _flash_refusal(request: Request, lead: str, refused: ValidationError) -> None:
    """``lead`` and each problem of ``refused``, translated, as one message on the next page."""
    catalog = translations(request.state.language)
    problems = " ".join(
        format_message(catalog, error.message, error.params) for error in refused.errors
    )
    flash(request, f"{lead} {problems}")


# -- correction request ---------------------------------------------------------------------------
LINE_FIELDS = ("name", "quantity", "unit", "unit_price", "vat_rate")


def plain(value: Decimal, *, places: int = 0) -> str:
    """``value`` as a person types it: no exponent, no trailing zeros beyond ``places``
    (the store keeps six decimals: ``10.000000`` reads ``10``, a price ``20.00``)."""
    text = format(value, "f")
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(places, "0")
        text = f"{whole}.{fraction}" if fraction else whole
    elif places:
        text += "." + "0" * places
    return text


def line_values(lines: Sequence[DocumentLine]) -> list[dict[str, str]]:
    """Form rows for ``lines`` (the "after" rows of a correction are not the invoice's)."""
    return [
        {
            "name": line.name,
            "quantity": plain(line.quantity),
            "unit": line.unit,
            "unit_price": plain(line.unit_price, places=2),
            "vat_rate": line.vat_rate,
        }
        for line in lines
        if not line.before
    ]


def _decimal(text: str, field: str, errors: list[FieldError]) -> Decimal:
    try:
        value = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        errors.append(FieldError(field=field, code="number", message=N_("Enter a number.")))
        return Decimal("0")
    return value


def parse_lines(
    form: Mapping[str, str],
) -> tuple[list[dict[str, str]], tuple[DocumentLine, ...], list[FieldError]]:
    """The proposed lines (``lines.N.field``) as form rows, lines and their problems."""
    rows: list[dict[str, str]] = []
    for index in range(MAX_LINES):
        row = {name: form.get(f"lines.{index}.{name}", "").strip() for name in LINE_FIELDS}
        if f"lines.{index}.name" not in form:
            break
        if any(row.values()):
            rows.append(row)
    errors: list[FieldError] = []
    lines = []
    for index, row in enumerate(rows):
        prefix = f"lines.{index}."
        if not row["name"]:
            errors.append(
                FieldError(
                    field=prefix + "name", code="required", message=N_("This field is required.")
                )
            )
        lines.append(
            DocumentLine(
                name=row["name"],
                quantity=_decimal(row["quantity"] or "1", prefix + "quantity", errors),
                unit=row["unit"] or "szt.",
                unit_price=_decimal(row["unit_price"], prefix + "unit_price", errors),
                vat_rate=row["vat_rate"] or "23",
            )
        )
    return rows, tuple(lines), errors


_LINE_FIELD = re.compile(r"^lines\.(\d+)\.(.+)$")


def proposed_line_errors(invoice: Document, errors: Sequence[FieldError]) -> list[FieldError]:
    """The service's errors with line paths as the sender numbered the proposed lines.

    A request stores the invoice's lines first (as "before" rows) and the proposed ones after
    them, so the service's ``lines.5.unit_price`` is the sender's ``lines.2.unit_price`` when
    the invoice has three lines.
    """
    offset = sum(1 for line in invoice.lines if not line.before)
    mapped = []
    for error in errors:
        match = _LINE_FIELD.match(error.field)
        if match and int(match.group(1)) >= offset:
            field = f"lines.{int(match.group(1)) - offset}.{match.group(2)}"
            error = attrs.evolve(error, field=field)
        mapped.append(error)
    return mapped


async def _render_request(
    request: Request,
    document: Document,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    at_fields = {"reason", "seller_email"} | {
        f"lines.{index}.{name}" for index in range(len(values["lines"])) for name in LINE_FIELDS
    }
    rates = await run(
        vat_choices,
        cabinet,
        document.issue_date,
        request.state.language,
        [line.vat_rate for line in document.lines],
    )
    context = {
        "document": document,
        "document_type": cabinet.document_types.get(document.doc_type),
        "values": values,
        "errors": errors,
        "vat_choices": rates,
        # Whatever has no field on this form (the whole request, a line it does not show).
        "general_errors": [text for key, text in errors.items() if key not in at_fields],
        "flashes": pop_flashes(request),
    }
    return render(request, "correction_request.html", context, status_code=status)


@page(roles=[Role.CLIENT, Role.MANAGER, Role.ADMIN])
async def correction_request_form(request: Request) -> Response:
    """A request to the seller, started from the cost invoice's own data."""
    document = await _document(request)
    values = {
        "reason": "",
        "seller_email": document.seller.email if document.seller is not None else "",
        "change_lines": False,
        "lines": line_values(document.lines),
    }
    return await _render_request(request, document, values, {})


@page(roles=[Role.CLIENT, Role.MANAGER, Role.ADMIN])
async def create_correction_request(request: Request) -> Response:
    """Create the request (a draft the client then sends); problems come back at the fields."""
    cabinet = cabinet_of(request)
    document = await _document(request)
    form = await read_form(request)
    change_lines = form.get("change_lines") == "on"
    rows, lines, problems = parse_lines(form)
    values = {
        "reason": form.get("reason", "").strip(),
        "seller_email": form.get("seller_email", "").strip(),
        "change_lines": change_lines,
        "lines": rows,
    }
    try:
        if change_lines and problems:
            raise ValidationError(problems)
        created: Document = await run(
            cabinet.invoicing.request_correction,
            actor_of(request),
            document.id,
            reason=values["reason"],
            lines=lines if change_lines else None,
            seller_email=values["seller_email"],
        )
    except ValidationError as exc:
        errors = errors_by_field(request, proposed_line_errors(document, exc.errors))
        return await _render_request(request, document, values, errors, status=422)
    flash(
        request,
        request.state.gettext("The correction request is ready; send it to the seller."),
    )
    return redirect(f"/documents/{created.id}")


# -- FA(3) import ---------------------------------------------------------------------------------
async def _render_import(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    clients = [] if actor.client_id is not None else await run(cabinet.clients.list, actor)
    context = {
        "clients": clients,
        "values": values,
        "errors": errors,
        "flashes": pop_flashes(request),
    }
    return render(request, "document_import.html", context, status_code=status)


@page(roles=[Role.CLIENT, Role.MANAGER, Role.ADMIN])
async def import_form(request: Request) -> Response:
    """The upload form (staff choose the client first)."""
    return await _render_import(request, {}, {})


def warning_text(request: Request, warning: Any) -> str:
    """A warning of the import (a core message with parameters, or plain text), translated."""
    catalog = translations(request.state.language)
    message = getattr(warning, "message", None)
    if isinstance(message, str):
        return format_message(catalog, message, getattr(warning, "params", None))
    if isinstance(warning, Mapping) and isinstance(warning.get("message"), str):
        return format_message(catalog, warning["message"], warning.get("params"))
    return format_message(catalog, str(warning))


@page(roles=[Role.CLIENT, Role.MANAGER, Role.ADMIN])
async def import_document(request: Request) -> Response:
    """Read the uploaded FA(3) file into a cost-invoice draft and show it with the warnings;
    a file that is not FA(3) is a message at the field and nothing is saved."""
    cabinet = cabinet_of(request)
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        raw_client = form.get("client_id", "")
        values = {"client_id": raw_client if isinstance(raw_client, str) else ""}
        data = b""
        filename = ""
        if isinstance(upload, UploadFile):
            filename = upload.filename or ""
            data = await upload.read(MAX_FA3_BYTES + 1)
    finally:
        await form.close()
    try:
        client_id = parse_client_id(values["client_id"], own=request.state.user.client_id)
        result = await run(
            cabinet.invoicing.import_fa3, actor_of(request), client_id, data, filename=filename
        )
    except ValidationError as exc:
        return await _render_import(
            request, values, errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The invoice was imported as a draft."))
    for warning in result.warnings:
        text = warning_text(request, warning)
        flash(request, request.state.gettext("Warning: %(text)s") % {"text": text})
    return redirect(f"/documents/{result.document.id}")


ROUTES = [
    Route("/documents/import", import_form, methods=["GET"], name="document_import"),
    Route("/documents/import", import_document, methods=["POST"], name="document_import_post"),
    Route("/documents/{doc_id}/send", send_form, methods=["GET"], name="document_send"),
    Route("/documents/{doc_id}/send", send_document, methods=["POST"], name="document_send_post"),
    Route(
        "/documents/{doc_id}/convert", convert_proforma, methods=["POST"], name="document_convert"
    ),
    Route(
        "/documents/{doc_id}/correct", correct_invoice, methods=["POST"], name="document_correct"
    ),
    Route(
        "/documents/{doc_id}/correction-request",
        correction_request_form,
        methods=["GET"],
        name="document_correction_request",
    ),
    Route(
        "/documents/{doc_id}/correction-request",
        create_correction_request,
        methods=["POST"],
        name="document_correction_request_post",
    ),
]

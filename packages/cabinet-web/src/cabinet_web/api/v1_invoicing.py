"""``/api/v1`` invoicing endpoints: send by e-mail and the mail status, convert a proforma,
correct an invoice, ask a seller for a correction, import a KSeF FA(3) file, and the templates
an admin allows a client. Thin adapters over ``cabinet.invoicing`` and ``cabinet.clients``."""

from __future__ import annotations

from typing import Any

import attrs
from cabinet_core.converter import to_json_dict
from cabinet_core.entities import Client, Document, DocumentLine, OutboxMessage
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from starlette.datastructures import UploadFile
from starlette.requests import Request

from cabinet_web.api._endpoint import Param, actor, json_body, structure, text
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import parse_client_id
from cabinet_web.pages.document_actions import (
    MAX_LINES,
    delivery_state,
    proposed_line_errors,
)
from cabinet_web.problems import field_errors, request_language

DOC_ID = _id("doc_id", "The document's id")


async def _body(
    request: Request, allowed: tuple[str, ...], *, optional: bool = False
) -> dict[str, Any]:
    """The JSON body (empty when ``optional`` and nothing was sent); a key the operation does
    not take is a field error rather than silently ignored (a typo like ``"too"`` would
    otherwise send to the default address)."""
    if optional and not await request.body():
        return {}
    body = await json_body(request)
    unknown = [key for key in body if key not in allowed]
    if unknown:
        raise ValidationError(
            [
                FieldError(
                    field=key, code="unknown", message=N_("This field is not part of the request.")
                )
                for key in unknown
            ]
        )
    return body


def _text(body: dict[str, Any], name: str, *, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError.single(name, "type", N_("This value has the wrong type or format."))
    return value


# -- sending by e-mail -----------------------------------------------------------------------------
DELIVERY_SCHEMA = {
    "type": "object",
    "description": "One e-mail (or, for staff, the newest delivery to each CRM) about a document",
    "properties": {
        "id": {"type": "integer"},
        "topic": {"type": "string", "examples": ["mail.document"]},
        "subscriber": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "who receives it: mail, or a CRM backend's name",
            "examples": ["mail", "bitrix24"],
        },
        "to": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "state": {"type": "string", "enum": ["queued", "retrying", "sent", "failed"]},
        "attempts": {"type": "integer"},
        "created_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "delivered_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "failed_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "next_attempt_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "last_error": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["id", "topic", "state", "attempts"],
}


def delivery_json(message: OutboxMessage) -> dict[str, Any]:
    """An outbox row as the API shows it: its state, not its internal payload."""
    data = to_json_dict(message)
    to = message.payload.get("to") if message.topic.startswith("mail.") else None
    return {
        "id": message.id,
        "topic": message.topic,
        "subscriber": message.subscriber,
        "to": to if isinstance(to, str) else None,
        "state": delivery_state(message),
        "attempts": message.attempts,
        "created_at": data["created_at"],
        "delivered_at": data["delivered_at"],
        "failed_at": data["failed_at"],
        "next_attempt_at": data["next_attempt_at"],
        "last_error": message.last_error,
    }


@endpoint(
    "/documents/{doc_id:int}/send",
    "POST",
    "Send a document by e-mail (queued; the worker delivers it)",
    params=(DOC_ID,),
    body={
        "type": "object",
        "properties": {
            "to": {"type": "string", "format": "email", "description": "Default: the buyer's"},
            "message": {"type": "string"},
        },
        "additionalProperties": False,
    },
    body_required=False,
    response=DELIVERY_SCHEMA,
    status=202,
)
async def send_document(request: Request) -> dict[str, Any]:
    """Queue the document's e-mail with its PDF (and FA(3) XML for VAT and correcting
    invoices); sending again is allowed. The delivery's state is at ``/deliveries``."""
    cabinet = cabinet_of(request)
    body = await _body(request, ("to", "message"), optional=True)
    to = _text(body, "to").strip() or None
    message = _text(body, "message")
    queued: OutboxMessage = await run(
        cabinet.invoicing.send, actor(request), _path_int(request, "doc_id"), to=to, message=message
    )
    return delivery_json(queued)


@endpoint(
    "/documents/{doc_id:int}/deliveries",
    "GET",
    "The e-mails sent about a document and their state, newest first",
    params=(DOC_ID,),
    response={"type": "array", "items": DELIVERY_SCHEMA},
)
async def list_deliveries(request: Request) -> list[dict[str, Any]]:
    """Queued, sent, retrying (with the attempt and the error) or failed."""
    cabinet = cabinet_of(request)
    messages = await run(cabinet.documents.deliveries, actor(request), _path_int(request, "doc_id"))
    return [delivery_json(message) for message in messages]


# -- convert and correct ---------------------------------------------------------------------------
@endpoint(
    "/documents/{doc_id:int}/convert",
    "POST",
    "Make a VAT invoice draft of an issued proforma",
    params=(DOC_ID,),
    response=Document,
    status=201,
)
async def convert_proforma(request: Request) -> Document:
    """The proforma's parties, lines and terms as a VAT invoice draft (``related_id`` → the
    proforma), which moves to ``converted``; converting twice is a 409."""
    cabinet = cabinet_of(request)
    invoice: Document = await run(
        cabinet.invoicing.convert_proforma, actor(request), _path_int(request, "doc_id")
    )
    return invoice


@endpoint(
    "/documents/{doc_id:int}/correct",
    "POST",
    "Make a correcting invoice (KOR) draft of an issued VAT invoice",
    params=(DOC_ID,),
    body={
        "type": "object",
        # The reason may wait for the draft's edit (a correction needs one when it is issued):
        # empty or null here leaves it to be filled in.
        "properties": {"reason": {"type": ["string", "null"]}},
        "additionalProperties": False,
    },
    body_required=False,
    response=Document,
    status=201,
)
async def correct_invoice(request: Request) -> Document:
    """A draft with the invoice's rows as "before" (``before: true``) and as editable "after"
    rows; change the after rows with ``PATCH``/``PUT`` of the document, then issue it."""
    cabinet = cabinet_of(request)
    body = await _body(request, ("reason",), optional=True)
    correction: Document = await run(
        cabinet.invoicing.correct,
        actor(request),
        _path_int(request, "doc_id"),
        reason=_text(body, "reason").strip(),
    )
    return correction


# -- correction request ----------------------------------------------------------------------------
def _lines(body: dict[str, Any]) -> tuple[DocumentLine, ...] | None:
    raw = body.get("lines")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_LINES:
        raise ValidationError.single(
            "lines", "type", N_("This value has the wrong type or format.")
        )
    lines: list[DocumentLine] = []
    errors: list[FieldError] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append(
                FieldError(
                    field=f"lines.{index}",
                    code="type",
                    message=N_("This value has the wrong type or format."),
                )
            )
            continue
        try:
            lines.append(structure(item, DocumentLine))
        except ValidationError as exc:
            errors += [
                attrs.evolve(error, field=f"lines.{index}.{error.field}") for error in exc.errors
            ]
    if errors:
        raise ValidationError(errors)
    return tuple(lines)


@endpoint(
    "/documents/{doc_id:int}/correction-request",
    "POST",
    "Ask the seller of a cost invoice for a correcting invoice (creates the request draft)",
    params=(DOC_ID,),
    body={
        "type": "object",
        "properties": {
            "reason": text(non_blank=True),
            "seller_email": {"type": "string", "format": "email"},
            "lines": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/DocumentLine"},
                "description": "The invoice's lines as they should be (optional)",
            },
        },
        "required": ["reason", "seller_email"],
        "additionalProperties": False,
    },
    response=Document,
    status=201,
)
async def request_correction(request: Request) -> Document:
    """A ``correction_request`` draft linked to the cost invoice; send it with
    ``POST /documents/{id}/send`` (it is numbered and e-mailed to the seller)."""
    cabinet = cabinet_of(request)
    body = await _body(request, ("reason", "seller_email", "lines"))
    who = actor(request)
    doc_id = _path_int(request, "doc_id")
    try:
        created: Document = await run(
            cabinet.invoicing.request_correction,
            who,
            doc_id,
            reason=_text(body, "reason"),
            lines=_lines(body),
            seller_email=_text(body, "seller_email").strip(),
        )
    except ValidationError as exc:
        invoice = await run(cabinet.documents.get, who, doc_id)
        raise ValidationError(proposed_line_errors(invoice, exc.errors)) from None
    return created


# -- FA(3) import ----------------------------------------------------------------------------------
IMPORT_RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "document": {"$ref": "#/components/schemas/Document"},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
    "required": ["document", "warnings"],
}


#: The most fields the FA(3) upload form is read with (more is a 400 before anything is read).
FA3_FORM_FIELDS = 10


async def _fa3_upload(request: Request) -> tuple[bytes, str, str]:
    """The file's bytes, its name and the ``client_id`` text, from a multipart form or a raw
    ``application/xml`` body (``client_id`` then in the query string)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=FA3_FORM_FIELDS)
        try:
            upload = form.get("file")
            raw_client = form.get("client_id")
            client = raw_client if isinstance(raw_client, str) else ""
            if not isinstance(upload, UploadFile):
                return b"", "", client
            return await upload.read(MAX_FA3_BYTES + 1), upload.filename or "", client
        finally:
            await form.close()
    if "xml" not in content_type:
        raise ValidationError.single(
            "file",
            "media_type",
            N_("Send the FA(3) file as multipart/form-data (field file) or application/xml."),
        )
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FA3_BYTES:
            break
    return bytes(data), "", request.query_params.get("client_id", "")


@endpoint(
    "/documents/import-fa3",
    "POST",
    "Import a received KSeF FA(3) XML file as a cost invoice draft",
    params=(
        Param(
            name="client_id",
            where="query",
            schema={"type": "integer"},
            description="Staff: the client (a form field with multipart); a client user: its own",
        ),
    ),
    body={
        "application/xml": {
            "type": "string",
            "description": "The FA(3) file itself (client_id in the query string for staff)",
        },
        "multipart/form-data": {
            "type": "object",
            "properties": {
                "file": {"type": "string", "contentMediaType": "application/xml"},
                "client_id": {"type": "integer", "description": "Staff: the client"},
            },
            "required": ["file"],
            "maxProperties": FA3_FORM_FIELDS,
        },
    },
    response=IMPORT_RESULT_SCHEMA,
    status=201,
)
async def import_fa3(request: Request) -> dict[str, Any]:
    """Body: ``application/xml`` (the file itself) or ``multipart/form-data`` with ``file``
    (and ``client_id``). Totals that differ from the file's own are warnings, not errors; a
    file that is not FA(3) is a 422 on ``file`` and nothing is saved."""
    cabinet = cabinet_of(request)
    data, filename, raw_client = await _fa3_upload(request)
    client_id = parse_client_id(raw_client, own=request.state.user.client_id)
    result = await run(
        cabinet.invoicing.import_fa3, actor(request), client_id, data, filename=filename
    )
    return {
        "document": to_json_dict(result.document),
        "warnings": field_errors(request_language(request), result.warnings),
    }


# -- templates per client --------------------------------------------------------------------------
TEMPLATES_BODY = {
    "type": "object",
    "properties": {
        "templates": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Template keys the client may use (none: every template)",
        },
        "default": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "One of `templates`",
        },
    },
    "required": ["templates"],
    "additionalProperties": False,
}


@endpoint(
    "/clients/{client_id:int}/templates",
    "PUT",
    "Set the templates a client may use and its default one (admins)",
    params=(_id("client_id", "The client's id"),),
    body=TEMPLATES_BODY,
    response=Client,
)
async def put_client_templates(request: Request) -> Client:
    """Replace the client's allowed templates; unknown keys are field errors, nothing saved."""
    cabinet = cabinet_of(request)
    body = await _body(request, ("templates", "default"))
    keys = body.get("templates")
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ValidationError.single(
            "templates", "type", N_("Give the template keys as a list of strings.")
        )
    default = body.get("default")
    if default is not None and not isinstance(default, str):
        raise ValidationError.single(
            "default", "type", N_("This value has the wrong type or format.")
        )
    client: Client = await run(
        cabinet.clients.assign_templates,
        actor(request),
        _path_int(request, "client_id"),
        keys,
        default or None,
    )
    return client

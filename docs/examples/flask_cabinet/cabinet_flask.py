"""cabinet-core embedded in Flask: a client's documents, issuing an invoice, its PDF, and CRM
webhooks, with no line of cabinet-web.

The core is framework-agnostic: the app below only translates HTTP to service calls and back.
Every rule (who may see which client, what a valid invoice is, numbering, totals, the audit
entry and the outbox row written with each change) stays in the core's services, exactly as
when cabinet-web serves the same cabinet.

    GET  /clients/<id>/documents          the client's documents (JSON)
    POST /clients/<id>/invoices           issue a VAT invoice: {"buyer": {...}, "lines": [...]}
    GET  /documents/<id>.pdf              the document as PDF (from the installed renderer)
    POST /hooks/<backend>                 a CRM's call, through the core's inbound protocol

Callers authenticate with a personal API token of a cabinet user (``Authorization: Bearer
cab_…``, made by ``cabinet.tokens.create``); the services then act as that user. Run it with
``flask --app cabinet_flask run`` after setting the ``CABINET_*`` variables
(``Settings.from_env``), or build it in code with :func:`create_app` as the test does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import cattrs
from cabinet_core import Cabinet, Settings
from cabinet_core.converter import from_json_dict, to_json_dict
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.errors import AuthenticationFailed, CabinetError, ValidationError
from cabinet_core.printing import render
from cabinet_core.storage.queries import DocumentQuery
from cabinet_core.sync import InboundCapable, InboundRequest
from flask import Flask, Response, jsonify, request

__all__ = ["create_app"]

#: The largest CRM call read when the backend sets no smaller limit of its own.
MAX_HOOK_BYTES = 1024 * 1024


def _problem(status: int, title: str, **extra: Any) -> Response:
    """An RFC 9457 problem document, the form cabinet-web's API answers errors in too."""
    response = jsonify({"type": "about:blank", "title": title, "status": status, **extra})
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def _actor(cabinet: Cabinet) -> Actor:
    """The signed-in user of this request, from its bearer token."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise AuthenticationFailed("A bearer token is required")
    return Actor.of(cabinet.tokens.authenticate(secret.strip()))


def _invoice(client_id: int, body: Any) -> Document:
    """The draft a JSON body describes; shapes the core cannot read are a field error here,
    everything else (required fields, NIP check digits, VAT rates) the core checks."""
    if not isinstance(body, dict):
        raise ValidationError.single("body", "invalid", "A JSON object is required")
    try:
        buyer_data = body.get("buyer")
        buyer = from_json_dict(Party, buyer_data) if buyer_data else None
        lines = tuple(from_json_dict(DocumentLine, line) for line in body.get("lines") or ())
        issue_date = date.fromisoformat(body.get("issue_date") or date.today().isoformat())
    except (cattrs.BaseValidationError, TypeError, ValueError, AttributeError):
        raise ValidationError.single(
            "body", "invalid", "The buyer, lines or issue_date cannot be read"
        ) from None
    return Document(
        client_id=client_id,
        doc_type="vat_invoice",
        issue_date=issue_date,
        buyer=buyer,
        lines=lines,
    )


def create_app(cabinet: Cabinet | None = None) -> Flask:
    """The Flask app over ``cabinet`` (default: one built from the ``CABINET_*`` variables)."""
    cabinet = cabinet or Cabinet(Settings.from_env())
    app = Flask(__name__)

    @app.errorhandler(CabinetError)
    def cabinet_error(error: CabinetError) -> Response:
        if isinstance(error, ValidationError):
            fields = [
                {"field": e.field, "code": e.code, "message": e.message, "params": dict(e.params)}
                for e in error.errors
            ]
            return _problem(422, error.message, errors=fields)
        response = _problem(error.status, error.message)
        if isinstance(error, AuthenticationFailed):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.get("/clients/<int:client_id>/documents")
    def documents(client_id: int) -> Response:
        actor = _actor(cabinet)
        # The service narrows the query to what the actor may see: another client's id
        # answers 404 for a client user, as in cabinet-web.
        cabinet.clients.get(actor, client_id)
        page = cabinet.documents.list(actor, DocumentQuery(client_ids=(client_id,), limit=100))
        return jsonify(
            {"total": page.total, "items": [to_json_dict(document) for document in page.items]}
        )

    @app.post("/clients/<int:client_id>/invoices")
    def issue_invoice(client_id: int) -> tuple[Response, int]:
        actor = _actor(cabinet)
        # The core files a client user's document under its own client whatever the id says;
        # the URL names a client, so one the actor may not see is a 404 rather than a redirect.
        cabinet.clients.get(actor, client_id)
        draft = _invoice(client_id, request.get_json(silent=True))
        # One call, one transaction: saved and issued (numbered), or nothing at all.
        saved = cabinet.documents.save(actor, draft, transition="issue")
        return jsonify(to_json_dict(saved.document)), 201

    @app.get("/documents/<int:document_id>.pdf")
    def document_pdf(document_id: int) -> Response:
        actor = _actor(cabinet)
        document = cabinet.documents.get(actor, document_id)
        client = cabinet.clients.get(actor, document.client_id)
        rendered = render(cabinet, document, client)
        return Response(
            rendered.content,
            mimetype=rendered.media_type,
            headers={"Content-Disposition": f'inline; filename="{rendered.filename}"'},
        )

    @app.post("/hooks/<backend>")
    def hook(backend: str) -> Response:
        # Only an active backend that receives calls is reachable, as in cabinet-web.
        crm = cabinet.crm_backend(backend) if backend in cabinet.settings.crm_backends else None
        if not isinstance(crm, InboundCapable):
            return _problem(404, f"No backend named {backend} receives calls here")
        handler = crm.inbound
        limit = min(int(handler.max_body_bytes), MAX_HOOK_BYTES)
        if (request.content_length or 0) > limit:
            return _problem(413, f"The body may have at most {limit} bytes")
        body = request.stream.read(limit + 1)
        if len(body) > limit:
            return _problem(413, f"The body may have at most {limit} bytes")
        call = InboundRequest(
            method=request.method,
            path="",
            headers={key.lower(): value for key, value in request.headers.items()},
            query=dict(request.args),
            body=body,
            remote_addr=request.remote_addr,
        )
        reply = handler.handle(cabinet.sync_port(backend), call)
        response = Response(reply.body, status=reply.status, content_type=reply.content_type)
        if reply.after is not None:
            # The CRM gets its answer first; the slow part runs once it is sent.
            after = reply.after
            response.call_on_close(lambda: after())
        return response

    return app

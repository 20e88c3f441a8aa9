"""``/settings/document-notes``: the notes a new document of each type starts with (printed on
its PDF), kept by ``cabinet.document_notes`` (admins, audited)."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.document_notes import MAX_LENGTH
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    read_form,
    redirect,
    render,
    run,
)

__all__ = ["DOCUMENT_NOTES_PAGE", "ROUTES"]

DOCUMENT_NOTES_PAGE = "/settings/document-notes"


async def _render(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    stored = await run(cabinet.document_notes.all, actor_of(request))
    language = request.state.language
    context: dict[str, Any] = {
        "types": [
            (key, document_type.label.get(language, key))
            for key, document_type in cabinet.document_types.items()
        ],
        "values": stored if values is None else values,
        "errors": errors or {},
        "max_length": MAX_LENGTH,
    }
    return render(request, "document_notes.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def document_notes_page(request: Request) -> Response:
    """One text per document type."""
    return await _render(request)


@page(roles=[Role.ADMIN])
async def save_document_notes(request: Request) -> Response:
    """Save every type's text (an empty one removes it); nothing is saved on a problem."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    values = {key: form.get(key, "") for key in cabinet.document_types}
    try:
        await run(cabinet.document_notes.set_all, actor_of(request), values)
    except ValidationError as exc:
        return await _render(
            request, values=values, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The document notes were saved."))
    return redirect(DOCUMENT_NOTES_PAGE)


ROUTES = [
    Route(DOCUMENT_NOTES_PAGE, document_notes_page, methods=["GET"], name="document_notes"),
    Route(DOCUMENT_NOTES_PAGE, save_document_notes, methods=["POST"], name="document_notes_save"),
]

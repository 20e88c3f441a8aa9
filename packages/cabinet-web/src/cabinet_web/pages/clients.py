"""Clients for the firm's staff: the list (manager, NIP, active) and, for an admin, each client's
document settings: which templates it may use, its default one, auto-send on issue, language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from cabinet_core.entities import Client, Role, Template
from cabinet_core.errors import N_, FieldError, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    redirect,
    render,
    run,
)

STAFF = (Role.MANAGER, Role.ACCOUNTANT, Role.ADMIN)


def template_rows(
    templates: Mapping[str, Template], document_types: Mapping[str, Any], language: str
) -> list[dict[str, Any]]:
    """Each registered template with the labels of the document types it lays out."""
    rows = []
    for key, template in sorted(templates.items()):
        labels = []
        for doc_type in template.document_types:
            known = document_types.get(doc_type)
            labels.append(known.label.get(language, doc_type) if known is not None else doc_type)
        rows.append({"key": key, "name": template.name, "types": labels})
    return rows


@page(roles=STAFF)
async def clients_page(request: Request) -> Response:
    """The clients the staff member may see, with their manager."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    search = request.query_params.get("search", "").strip()
    clients = await run(cabinet.clients.list, actor, search=search or None)
    staff = await run(cabinet.users.list, actor)
    context = {
        "clients": clients,
        "manager_names": {user.id: user.name or user.email for user in staff},
        "search": search,
        "flashes": pop_flashes(request),
    }
    return render(request, "clients.html", context)


def settings_values(client: Client) -> dict[str, Any]:
    """The settings form's values for ``client``."""
    return {
        "allowed_templates": list(client.allowed_templates),
        "default_template": client.default_template or "",
        "auto_send": client.auto_send,
        "language": client.language,
    }


async def _render_settings(
    request: Request,
    client: Client,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    context = {
        "client": client,
        "values": values,
        "errors": errors,
        "templates": template_rows(
            cabinet.templates, cabinet.document_types, request.state.language
        ),
        "flashes": pop_flashes(request),
    }
    return render(request, "client_settings.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def client_settings(request: Request) -> Response:
    """An admin's view of one client's document settings."""
    cabinet = cabinet_of(request)
    client = await run(
        cabinet.clients.get, actor_of(request), parse_id(request.path_params["client_id"])
    )
    return await _render_settings(request, client, settings_values(client), {})


def parse_settings(
    form: Mapping[str, Any], languages: Sequence[str]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The submitted settings as the client's field values, or what is wrong with them."""
    errors: list[FieldError] = []
    allowed = [key for key in form.get("allowed_templates", []) if isinstance(key, str)]
    language = form.get("language", "")
    if language not in languages:
        errors.append(
            FieldError(field="language", code="unsupported", message=N_("Unknown language."))
        )
    values = {
        "allowed_templates": allowed,
        "default_template": str(form.get("default_template", "")).strip(),
        "auto_send": form.get("auto_send") == "on",
        "language": language,
    }
    return values, errors


@page(roles=[Role.ADMIN])
async def save_client_settings(request: Request) -> Response:
    """Save all the settings in one update (the service validates templates against the
    registered ones); on a problem the form comes back with the messages and nothing saved."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    client_id = parse_id(request.path_params["client_id"])
    form = await request.form()
    try:
        submitted = {
            "allowed_templates": form.getlist("allowed_templates"),
            "default_template": form.get("default_template", ""),
            "auto_send": form.get("auto_send"),
            "language": form.get("language", ""),
        }
    finally:
        await form.close()
    client = await run(cabinet.clients.get, actor, client_id)
    values, problems = parse_settings(submitted, cabinet.settings.languages)
    try:
        if problems:
            raise ValidationError(problems)
        updated = attrs.evolve(
            client,
            allowed_templates=tuple(values["allowed_templates"]),
            default_template=values["default_template"] or None,
            auto_send=values["auto_send"],
            language=values["language"],
        )
        await run(cabinet.clients.update, actor, updated)
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        return await _render_settings(request, client, values, errors, status=422)
    flash(request, request.state.gettext("Client settings saved."))
    return redirect(f"/clients/{client_id}/settings")


ROUTES = [
    Route("/clients", clients_page, methods=["GET"], name="clients"),
    Route(
        "/clients/{client_id}/settings",
        client_settings,
        methods=["GET"],
        name="client_settings",
    ),
    Route(
        "/clients/{client_id}/settings",
        save_client_settings,
        methods=["POST"],
        name="client_settings_save",
    ),
]

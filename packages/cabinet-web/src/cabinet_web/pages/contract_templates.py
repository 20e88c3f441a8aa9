"""The admins' contract templates under the settings index (``/settings/contract-templates``):
list, create, edit (a changed text is a new version), preview with the sample contract, and
deactivate or activate again. Every write goes through ``cabinet.contract_templates``, whose dry
run refuses a template that does not render; its message shows at the text field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cabinet_core.contract_builtins import BUILTIN_TEMPLATES
from cabinet_core.contract_templates import PLACEHOLDERS, TEMPLATE_LANGUAGES, ContractTemplate
from cabinet_core.contract_text import Block
from cabinet_core.entities import Role
from cabinet_core.errors import NotFound, ValidationError
from cabinet_core.services.contract_templates import contract_kinds, templated_type
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
    read_form,
    redirect,
    render,
    run,
)

BASE = "/settings/contract-templates"
LANGUAGE_NAMES = {"pl": "Polski", "en": "English"}


def _kind_options(request: Request) -> list[tuple[str, str]]:
    language = request.state.language
    kinds = contract_kinds(templated_type(cabinet_of(request).document_types))
    return [(key, labels.get(language, key)) for key, labels in kinds.items()]


def _values_of(template: ContractTemplate) -> dict[str, str]:
    return {
        "name": template.name,
        "contract_kind": template.contract_kind,
        "language": template.language,
        "body": template.body,
    }


def _starter(kind: str, language: str) -> str:
    """A new template starts from the built-in text of its kind and language."""
    for builtin in BUILTIN_TEMPLATES:
        if builtin.contract_kind == kind and builtin.language == language:
            return builtin.body
    return ""


def _form(
    request: Request,
    *,
    template: ContractTemplate | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    preview: tuple[Block, ...] | None = None,
    versions: list[Any] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "template": template,
        "values": values,
        "errors": errors or {},
        "preview": preview,
        "versions": versions or [],
        "kinds": _kind_options(request),
        # Not "languages": base.html's language switch reads that name.
        "template_languages": [(code, LANGUAGE_NAMES[code]) for code in TEMPLATE_LANGUAGES],
        "placeholders": PLACEHOLDERS,
        "action": f"{BASE}/{template.id}" if template is not None else f"{BASE}/new",
        "flashes": pop_flashes(request),
    }
    return render(request, "contract_template_form.html", context, status_code=status)


def _submitted(form: Mapping[str, str], template_id: int | None) -> ContractTemplate:
    return ContractTemplate(
        id=template_id,
        name=form.get("name", ""),
        contract_kind=form.get("contract_kind", ""),
        language=form.get("language", ""),
        body=form.get("body", ""),
    )


@page(roles=[Role.ADMIN])
async def template_list(request: Request) -> Response:
    """Every template, inactive ones too, with its kind, language and version."""
    cabinet = cabinet_of(request)
    templates = await run(cabinet.contract_templates.list, actor_of(request), include_inactive=True)
    context = {
        "templates": templates,
        "kinds": dict(_kind_options(request)),
        "template_languages": LANGUAGE_NAMES,
        "flashes": pop_flashes(request),
    }
    return render(request, "contract_templates.html", context)


@page(roles=[Role.ADMIN])
async def new_template(request: Request) -> Response:
    """The empty form, starting from the built-in text of the chosen kind and language."""
    kind = request.query_params.get("contract_kind", "dzielo")
    language = request.query_params.get("language", "pl")
    values = {"contract_kind": kind, "language": language, "body": _starter(kind, language)}
    return _form(request, template=None, values=values)


async def _save_or_preview(request: Request, template: ContractTemplate | None) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await read_form(request)
    submitted = _submitted(form, template.id if template is not None else None)
    versions = (
        await run(cabinet.contract_templates.versions, actor, template.id)
        if template is not None and template.id is not None
        else []
    )
    try:
        if form.get("intent") == "preview":
            blocks = await run(
                cabinet.contract_templates.preview,
                actor,
                body=submitted.body,
                contract_kind=submitted.contract_kind,
                language=submitted.language,
            )
            return _form(request, template=template, values=form, preview=blocks, versions=versions)
        if template is None:
            saved = await run(cabinet.contract_templates.create, actor, submitted)
        else:
            saved = await run(cabinet.contract_templates.update, actor, submitted)
    except ValidationError as exc:
        return _form(
            request,
            template=template,
            values=form,
            errors=errors_by_field(request, exc.errors),
            versions=versions,
            status=422,
        )
    flash(
        request,
        request.state.gettext("The template is saved (version %(version)s).")
        % {"version": saved.version},
    )
    return redirect(f"{BASE}/{saved.id}")


@page(roles=[Role.ADMIN])
async def create_template(request: Request) -> Response:
    """Save a new template, or preview the form's text with the sample contract."""
    return await _save_or_preview(request, None)


async def _template(request: Request) -> ContractTemplate:
    template_id = parse_id(request.path_params["template_id"])
    template: ContractTemplate = await run(
        cabinet_of(request).contract_templates.get, actor_of(request), template_id
    )
    return template


@page(roles=[Role.ADMIN])
async def edit_template(request: Request) -> Response:
    """The editor of one template, with its versions and the preview of its current text."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    template = await _template(request)
    versions = await run(cabinet.contract_templates.versions, actor, template.id)
    try:
        preview = await run(
            cabinet.contract_templates.preview,
            actor,
            body=template.body,
            contract_kind=template.contract_kind,
            language=template.language,
        )
    except ValidationError:
        preview = None
    return _form(
        request,
        template=template,
        values=_values_of(template),
        preview=preview,
        versions=versions,
    )


@page(roles=[Role.ADMIN])
async def update_template(request: Request) -> Response:
    """Save the edited template (a new version when the text changed), or preview it."""
    return await _save_or_preview(request, await _template(request))


@page(roles=[Role.ADMIN])
async def set_active(request: Request) -> Response:
    """Deactivate (no new contracts from it) or activate a template again."""
    template = await _template(request)
    active = request.url.path.endswith("/activate")
    await run(
        cabinet_of(request).contract_templates.set_active, actor_of(request), template.id, active
    )
    _ = request.state.gettext
    flash(request, _("The template is active.") if active else _("The template is deactivated."))
    return redirect(BASE)


@page(roles=[Role.ADMIN])
async def show_version(request: Request) -> Response:
    """One earlier (or the current) version: its text as the sample contract prints it, and its
    source. Contracts made from it print this text."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    template = await _template(request)
    wanted = parse_id(request.path_params["version"])
    versions = await run(cabinet.contract_templates.versions, actor, template.id)
    found = [version for version in versions if version.version == wanted]
    if not found:
        raise NotFound()
    try:
        preview = await run(
            cabinet.contract_templates.preview,
            actor,
            body=found[0].body,
            contract_kind=template.contract_kind,
            language=template.language,
        )
    except ValidationError:
        preview = None
    context = {"template": template, "version": found[0], "preview": preview}
    return render(request, "contract_template_version.html", context)


ROUTES = [
    Route(BASE, template_list, methods=["GET"], name="contract_templates"),
    Route(f"{BASE}/new", new_template, methods=["GET"]),
    Route(f"{BASE}/new", create_template, methods=["POST"]),
    Route(BASE + "/{template_id:int}", edit_template, methods=["GET"]),
    Route(BASE + "/{template_id:int}", update_template, methods=["POST"]),
    Route(BASE + "/{template_id:int}/versions/{version:int}", show_version, methods=["GET"]),
    Route(BASE + "/{template_id:int}/deactivate", set_active, methods=["POST"]),
    Route(BASE + "/{template_id:int}/activate", set_active, methods=["POST"]),
]

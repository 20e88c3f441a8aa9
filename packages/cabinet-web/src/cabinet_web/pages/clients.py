"""Clients for the firm's staff: the list (manager, NIP, active); creating and editing a client
(company data, address, bank sub-accounts per currency, manager, first user) for managers and
admins; and, for an admin, each client's document settings: which templates it may use, its
default one, auto-send on issue, language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from cabinet_core.entities import Address, BankAccount, Client, Role, Template
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.services.clients import FirstUser
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
from cabinet_web.pages.users import generated_password

STAFF = (Role.MANAGER, Role.ACCOUNTANT, Role.ADMIN)
EDITORS = (Role.MANAGER, Role.ADMIN)
COMPANY_FIELDS = ("name", "nip", "regon", "krs", "email")
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "country")
ACCOUNT_FIELDS = ("currency", "iban", "bank_name", "label")
#: Empty account rows offered below the filled ones (a row left empty is no account).
SPARE_ACCOUNT_ROWS = 1
#: More rows than this in one form are not read (no client has that many sub-accounts).
MAX_ACCOUNT_ROWS = 20


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


# -- company data and bank sub-accounts (the client form and the client's own profile) ---------
def company_values(client: Client) -> dict[str, str]:
    """The form's values for ``client``'s company data, address and bank accounts."""
    values = {name: getattr(client, name) or "" for name in COMPANY_FIELDS}
    values.update({f"address.{name}": getattr(client.address, name) for name in ADDRESS_FIELDS})
    for index, account in enumerate(client.bank_accounts):
        values.update(
            {f"bank_accounts.{index}.{name}": getattr(account, name) for name in ACCOUNT_FIELDS}
        )
    return values


def account_rows(values: Mapping[str, str]) -> list[int]:
    """The indexes of the account rows to show: every submitted/stored row plus a spare one."""
    used = {
        int(key.split(".")[1])
        for key in values
        if re.fullmatch(r"bank_accounts\.\d{1,2}\.[a-z_]+", key)
        and int(key.split(".")[1]) < MAX_ACCOUNT_ROWS
    }
    count = max(used, default=-1) + 1
    return list(range(min(count + SPARE_ACCOUNT_ROWS, MAX_ACCOUNT_ROWS)))


def parse_accounts(form: Mapping[str, str]) -> tuple[tuple[BankAccount, ...], dict[int, int]]:
    """The filled account rows as accounts, and which form row each account came from (so the
    service's ``bank_accounts.N.*`` errors land on the row the user typed in)."""
    accounts: list[BankAccount] = []
    rows: dict[int, int] = {}
    for row in account_rows(form):
        values = {
            name: form.get(f"bank_accounts.{row}.{name}", "").strip() for name in ACCOUNT_FIELDS
        }
        if not (values["iban"] or values["bank_name"] or values["label"]):
            continue  # an empty row, or one whose account the user cleared to remove it
        rows[len(accounts)] = row
        accounts.append(BankAccount(**values))
    return tuple(accounts), rows


def remap_account_errors(errors: Sequence[FieldError], rows: Mapping[int, int]) -> list[FieldError]:
    """Service errors with account indexes turned into form row indexes."""
    result = []
    for error in errors:
        parts = error.field.split(".")
        if parts[0] == "bank_accounts" and len(parts) == 3 and parts[1].isdigit():
            row = rows.get(int(parts[1]), int(parts[1]))
            error = attrs.evolve(error, field=f"bank_accounts.{row}.{parts[2]}")
        result.append(error)
    return result


def apply_company_form(client: Client, form: Mapping[str, str]) -> tuple[Client, dict[int, int]]:
    """``client`` with the submitted company data, address and bank accounts (validation is
    the service's job), and the account rows (see :func:`parse_accounts`)."""
    address = Address(**{name: form.get(f"address.{name}", "").strip() for name in ADDRESS_FIELDS})
    accounts, rows = parse_accounts(form)
    updated = attrs.evolve(
        client,
        name=form.get("name", "").strip(),
        nip=form.get("nip", "").strip() or None,
        regon=form.get("regon", "").strip() or None,
        krs=form.get("krs", "").strip() or None,
        email=form.get("email", "").strip(),
        address=address,
        bank_accounts=accounts,
    )
    return updated, rows


# -- creating and editing a client ---------------------------------------------------------------
def client_values(client: Client) -> dict[str, str]:
    """The client form's values for ``client``."""
    values = company_values(client)
    values.update(
        {
            "language": client.language,
            "manager_id": str(client.manager_id or ""),
            "accountant_id": str(client.accountant_id or ""),
            "active": "true" if client.active else "",
        }
    )
    return values


async def _render_client_form(
    request: Request,
    *,
    client: Client | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    shown: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    managers = []
    accountants = []
    if actor.role is Role.ADMIN:
        # Active managers, and whoever manages the client now (an admin, or a manager since
        # deactivated), so that saving the form does not silently drop them.
        current = client.manager_id if client is not None else None
        users = await run(cabinet.users.list, actor)
        managers = [
            (str(user.id), user.name or user.email)
            for user in users
            if (user.role is Role.MANAGER and user.active) or user.id == current
        ]
        accountants = [
            (str(user.id), user.name or user.email)
            for user in users
            if user.role is Role.ACCOUNTANT and user.active
        ]
    context = {
        "client": client,
        "values": values,
        "errors": errors,
        "account_rows": account_rows(values),
        "currencies": SUPPORTED_CURRENCIES,
        "managers": managers,
        "accountants": accountants,
        "shown": shown,
        "flashes": pop_flashes(request),
    }
    return render(request, "client_form.html", context, status_code=status)


def _parse_client_form(
    request: Request, form: Mapping[str, str], base: Client
) -> tuple[Client, dict[int, int], list[FieldError]]:
    """The submitted client, its account rows, and what the form itself finds wrong."""
    client, rows = apply_company_form(base, form)
    problems: list[FieldError] = []
    language = form.get("language", base.language)
    changes: dict[str, Any] = {"language": language}
    if actor_of(request).role is Role.ADMIN:
        raw = form.get("manager_id", "").strip()
        if raw and not raw.isdigit():
            problems.append(
                FieldError(
                    field="manager_id", code="not_a_manager", message=N_("Choose a manager.")
                )
            )
        changes["manager_id"] = int(raw) if raw.isdigit() else None
        raw = form.get("accountant_id", "").strip()
        if raw and not raw.isdigit():
            problems.append(
                FieldError(
                    field="accountant_id",
                    code="not_an_accountant",
                    message=N_("Choose an accountant."),
                )
            )
        changes["accountant_id"] = int(raw) if raw.isdigit() else None
        changes["active"] = form.get("active") in ("true", "on")
    return attrs.evolve(client, **changes), rows, problems


@page(roles=EDITORS)
async def new_client(request: Request) -> Response:
    """An empty client form (a manager's new client becomes theirs)."""
    values = client_values(Client(name=""))
    values["first_user.language"] = request.state.language
    return await _render_client_form(request, client=None, values=values, errors={})


@page(roles=EDITORS)
async def create_client(request: Request) -> Response:
    """Create the client (and, when an e-mail is given, its first user with a generated
    password shown once); on any problem the form comes back filled in and nothing is saved."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    client, rows, problems = _parse_client_form(request, form, Client(name=""))
    user_email = form.get("first_user.email", "").strip()
    first_user = None
    if user_email:
        first_user = FirstUser(
            email=user_email,
            name=form.get("first_user.name", "").strip(),
            password=generated_password(),
            language=client.language,
        )
    try:
        if problems:
            raise ValidationError(problems)
        created = await run(
            cabinet.clients.create, actor_of(request), client, first_user=first_user
        )
    except ValidationError as exc:
        errors = errors_by_field(request, remap_account_errors(exc.errors, rows))
        return await _render_client_form(
            request, client=None, values=form, errors=errors, status=422
        )
    flash(request, request.state.gettext("Client created."))
    if first_user is None:
        return redirect(f"/clients/{created.id}/edit")
    # The password is shown on this answer only (never stored in the session or a URL).
    shown = {"email": first_user.email, "password": first_user.password}
    return await _render_client_form(
        request, client=created, values=client_values(created), errors={}, shown=shown
    )


@page(roles=EDITORS)
async def edit_client(request: Request) -> Response:
    """The client form with the client's data (a manager sees only their own clients)."""
    cabinet = cabinet_of(request)
    client = await run(
        cabinet.clients.get, actor_of(request), parse_id(request.path_params["client_id"])
    )
    return await _render_client_form(
        request, client=client, values=client_values(client), errors={}
    )


@page(roles=EDITORS)
async def save_client(request: Request) -> Response:
    """Save the client's data in one update; on a problem the form comes back as typed."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    client_id = parse_id(request.path_params["client_id"])
    form = await read_form(request)
    current = await run(cabinet.clients.get, actor, client_id)
    client, rows, problems = _parse_client_form(request, form, current)
    try:
        if problems:
            raise ValidationError(problems)
        await run(cabinet.clients.update, actor, client)
    except ValidationError as exc:
        errors = errors_by_field(request, remap_account_errors(exc.errors, rows))
        return await _render_client_form(
            request, client=current, values=form, errors=errors, status=422
        )
    flash(request, request.state.gettext("Client saved."))
    return redirect(f"/clients/{client_id}/edit")


ROUTES = [
    Route("/clients", clients_page, methods=["GET"], name="clients"),
    Route("/clients/new", new_client, methods=["GET"], name="client_new"),
    Route("/clients/new", create_client, methods=["POST"], name="client_create"),
    Route("/clients/{client_id}/edit", edit_client, methods=["GET"], name="client_edit"),
    Route("/clients/{client_id}/edit", save_client, methods=["POST"], name="client_save"),
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

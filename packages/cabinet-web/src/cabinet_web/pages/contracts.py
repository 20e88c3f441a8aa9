"""Contracts made from templates: the list (``/contracts``), the "New contract" form and a
contract's text (``/contracts/{id}``) with its PDF. The form sends one
``cabinet.contracts.create`` call; the contract is then a document like any other (signed,
completed or terminated from its document page)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from cabinet_core.contract_templates import FIELDS_OF_EXPLOITATION
from cabinet_core.entities import Address, PartyKind
from cabinet_core.errors import N_, FieldError, PermissionDenied, ValidationError
from cabinet_core.services.contract_templates import contract_kinds, templated_type
from cabinet_core.services.contracts import Contractor, ContractOrder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)

PAGE_SIZE = 50


def _date(form: Mapping[str, str], name: str, errors: list[FieldError]) -> date | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(field=name, code="date", message=N_("Enter a valid date.")))
        return None


def _money(form: Mapping[str, str], name: str, errors: list[FieldError]) -> Decimal | None:
    raw = form.get(name, "").strip().replace(" ", "").replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        errors.append(FieldError(field=name, code="number", message=N_("Enter a number.")))
        return None
    return value


def order_from_form(form: Mapping[str, str]) -> tuple[ContractOrder, list[FieldError]]:
    """The order the form describes, and the values it could not read."""
    errors: list[FieldError] = []
    template_id = form.get("template_id", "").strip()
    client_id = form.get("client_id", "").strip()
    counterparty_id = form.get("counterparty_id", "").strip()
    kind = PartyKind.COMPANY if form.get("contractor_kind") == "company" else PartyKind.PERSON
    order = ContractOrder(
        client_id=int(client_id) if client_id.isdigit() else None,
        template_id=int(template_id) if template_id.isdigit() else None,
        counterparty_id=int(counterparty_id) if counterparty_id.isdigit() else None,
        contractor=Contractor(
            kind=kind,
            name=form.get("contractor.name", ""),
            pesel=form.get("contractor.pesel", ""),
            nip=form.get("contractor.nip", ""),
            address=Address(
                line1=form.get("contractor.address", "").strip(),
                postal_code=form.get("contractor.postal_code", "").strip(),
                city=form.get("contractor.city", "").strip(),
            ),
            email=form.get("contractor.email", "").strip(),
        ),
        subject=form.get("subject", "").strip(),
        date_from=_date(form, "date_from", errors),
        date_to=_date(form, "date_to", errors),
        rate_type="hourly" if form.get("rate_type") == "hourly" else "lump_sum",
        amount=_money(form, "amount", errors),
        hourly_rate=_money(form, "hourly_rate", errors),
        copyright_transfer=form.get("copyright_transfer") in ("true", "on", "1"),
        fields_of_exploitation=tuple(
            key for key in FIELDS_OF_EXPLOITATION if form.get(f"foe_{key}")
        ),
    )
    return order, errors


def _kind_label(kinds: Mapping[str, Mapping[str, str]], kind: str, language: str) -> str:
    return kinds.get(kind, {}).get(language, kind)


@page()
async def contract_list(request: Request) -> Response:
    """The contracts of the clients the user may see, with "New contract" for those who may."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    contracts = await run(cabinet.contracts.list, actor, limit=PAGE_SIZE)
    document_type = templated_type(cabinet.document_types)
    # Staff see several clients' contracts: name the client (the ordering party) of each.
    clients = await run(cabinet.clients.list, actor) if actor.client_id is None else []
    context = {
        "contracts": contracts,
        "client_names": {client.id: client.name for client in clients},
        "kinds": contract_kinds(document_type),
        "states": {state.key: state.label for state in document_type.workflow.states},
        "may_make": cabinet.contracts.may_make(actor),
        "flashes": pop_flashes(request),
    }
    return render(request, "contracts.html", context)


async def _form(
    request: Request,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    if not cabinet.contracts.may_make(actor):
        raise PermissionDenied()
    templates = await run(cabinet.contract_templates.list, actor)
    clients = await run(cabinet.clients.list, actor) if actor.client_id is None else []
    # A client's user may take the contractor from its own counterparties.
    counterparties = (
        await run(cabinet.counterparties.list, actor, actor.client_id, limit=100)
        if actor.client_id is not None
        else None
    )
    language = request.state.language
    kinds = contract_kinds(templated_type(cabinet.document_types))
    context: dict[str, Any] = {
        "values": values,
        "errors": errors or {},
        "templates": [
            (str(t.id), f"{t.name} ({_kind_label(kinds, t.contract_kind, language)}, {t.language})")
            for t in templates
        ],
        "clients": [(str(c.id), c.name) for c in clients],
        "counterparties": [
            (str(c.id), f"{c.name} ({c.nip})" if c.nip else c.name)
            for c in (counterparties.items if counterparties is not None else ())
        ],
        "fields_of_exploitation": [
            (key, labels.get(language, labels["en"]))
            for key, labels in FIELDS_OF_EXPLOITATION.items()
        ],
    }
    return render(request, "contract_form.html", context, status_code=status)


@page()
async def new_contract(request: Request) -> Response:
    """The "New contract" form (a template may be chosen in the link: ``?template_id=``)."""
    values = {
        "template_id": request.query_params.get("template_id", ""),
        "contractor_kind": "person",
        "rate_type": "lump_sum",
    }
    return await _form(request, values)


@page()
async def create_contract(request: Request) -> Response:
    """Make the contract; every problem at its field, nothing saved."""
    form = await read_form(request)
    order, errors = order_from_form(form)
    try:
        if errors:
            raise ValidationError(errors)
        document = await run(cabinet_of(request).contracts.create, actor_of(request), order)
    except ValidationError as exc:
        return await _form(request, form, errors_by_field(request, exc.errors), status=422)
    return redirect(f"/contracts/{document.id}")


@page()
async def contract_page(request: Request) -> Response:
    """A contract's text as it prints, with its PDF and its document page."""
    cabinet = cabinet_of(request)
    doc_id = parse_id(request.path_params["doc_id"])
    document, text = await run(cabinet.contracts.text, actor_of(request), doc_id)
    document_type = templated_type(cabinet.document_types)
    context = {
        "document": document,
        "text": text,
        "states": {state.key: state.label for state in document_type.workflow.states},
        "flashes": pop_flashes(request),
    }
    return render(request, "contract.html", context)


ROUTES = [
    Route("/contracts", contract_list, methods=["GET"], name="contracts"),
    Route("/contracts/new", new_contract, methods=["GET"]),
    Route("/contracts/new", create_contract, methods=["POST"]),
    Route("/contracts/{doc_id:int}", contract_page, methods=["GET"]),
]

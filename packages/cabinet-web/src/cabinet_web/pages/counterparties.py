"""A client's counterparties (``/counterparties``): the list, "New counterparty" and a
counterparty's edit form with its delete button. Each use case is one
``cabinet.counterparties`` call; the core checks the NIP, VAT-EU number, REGON, KRS, country and
e-mail address and decides who may see or change a client's counterparties.

Deleting a counterparty leaves the documents made with it as they are: each keeps its own
snapshot of the party.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from cabinet_core.entities import Address, Counterparty, PartyKind
from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
from cabinet_web.pages.products import PAGE_SIZE, offset_of, query_client, writable_clients

_ADDRESS = ("line1", "line2", "postal_code", "city", "country")


@page()
async def counterparty_list(request: Request) -> Response:
    """The client's counterparties (staff choose the client first)."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    clients = await run(cabinet.clients.list, actor) if actor.client_id is None else []
    client_id = actor.client_id or query_client(request)
    search = request.query_params.get("search", "").strip()
    found = None
    if client_id is not None:
        found = await run(
            cabinet.counterparties.list,
            actor,
            client_id,
            search=search or None,
            limit=PAGE_SIZE,
            offset=offset_of(request),
        )
    context = {
        "counterparties": found,
        "client_id": client_id,
        "clients": [(str(c.id), c.name) for c in clients],
        "client_names": {c.id: c.name for c in clients},
        "search": search,
        "flashes": pop_flashes(request),
    }
    return render(request, "counterparties.html", context)


async def _form(
    request: Request,
    values: Mapping[str, str],
    *,
    counterparty: Counterparty | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    _ = request.state.gettext
    context: dict[str, Any] = {
        "counterparty": counterparty,
        "values": values,
        "errors": errors or {},
        "clients": await run(writable_clients, request) if counterparty is None else [],
        "kinds": [(PartyKind.COMPANY.value, _("Company")), (PartyKind.PERSON.value, _("Person"))],
    }
    return render(request, "counterparty_form.html", context, status_code=status)


def values_of(counterparty: Counterparty) -> dict[str, str]:
    """The form's values for a stored counterparty."""
    values = {
        "client_id": str(counterparty.client_id),
        "kind": counterparty.kind.value,
        "name": counterparty.name,
        "nip": counterparty.nip or "",
        "vat_eu": counterparty.vat_eu or "",
        "regon": counterparty.regon or "",
        "krs": counterparty.krs or "",
        "email": counterparty.email,
    }
    values.update({f"address.{key}": getattr(counterparty.address, key) for key in _ADDRESS})
    return values


def counterparty_from_form(form: Mapping[str, str], client_id: int) -> Counterparty:
    """The counterparty the form describes (the core checks and normalises every field)."""
    kind = PartyKind.PERSON if form.get("kind") == PartyKind.PERSON.value else PartyKind.COMPANY
    return Counterparty(
        client_id=client_id,
        kind=kind,
        name=form.get("name", ""),
        nip=form.get("nip", "").strip() or None,
        vat_eu=form.get("vat_eu", "").strip() or None,
        regon=form.get("regon", "").strip() or None,
        krs=form.get("krs", "").strip() or None,
        address=Address(**{key: form.get(f"address.{key}", "").strip() for key in _ADDRESS}),
        email=form.get("email", "").strip(),
    )


@page()
async def new_counterparty(request: Request) -> Response:
    """The "New counterparty" form (staff may name the client: ``?client_id=``)."""
    client_id = query_client(request)
    values = {
        "client_id": str(client_id) if client_id else "",
        "kind": "company",
        "address.country": "PL",
    }
    return await _form(request, values)


@page()
async def create_counterparty(request: Request) -> Response:
    """Add the counterparty; every problem at its field, nothing saved."""
    form = await read_form(request)
    actor = actor_of(request)
    try:
        client_id = parse_client_id(form.get("client_id", ""), own=actor.client_id)
        saved = await run(
            cabinet_of(request).counterparties.create,
            actor,
            counterparty_from_form(form, client_id),
        )
    except ValidationError as exc:
        return await _form(request, form, errors=errors_by_field(request, exc.errors), status=422)
    flash(request, request.state.gettext("The counterparty is saved."))
    return redirect(f"/counterparties?client_id={saved.client_id}")


@page()
async def counterparty_page(request: Request) -> Response:
    """A counterparty's edit form."""
    counterparty_id = parse_id(request.path_params["counterparty_id"])
    counterparty = await run(
        cabinet_of(request).counterparties.get, actor_of(request), counterparty_id
    )
    return await _form(request, values_of(counterparty), counterparty=counterparty)


@page()
async def update_counterparty(request: Request) -> Response:
    """Save the changes; the owning client never changes."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    counterparty_id = parse_id(request.path_params["counterparty_id"])
    current = await run(cabinet.counterparties.get, actor, counterparty_id)
    form = await read_form(request)
    changed = attrs.evolve(counterparty_from_form(form, current.client_id), id=current.id)
    try:
        saved = await run(cabinet.counterparties.update, actor, changed)
    except ValidationError as exc:
        return await _form(
            request,
            form,
            counterparty=current,
            errors=errors_by_field(request, exc.errors),
            status=422,
        )
    flash(request, request.state.gettext("The counterparty is saved."))
    return redirect(f"/counterparties?client_id={saved.client_id}")


@page()
async def delete_counterparty(request: Request) -> Response:
    """Delete the counterparty; documents keep their own snapshot of the party."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    counterparty_id = parse_id(request.path_params["counterparty_id"])
    current = await run(cabinet.counterparties.get, actor, counterparty_id)
    await run(cabinet.counterparties.delete, actor, counterparty_id)
    flash(request, request.state.gettext("The counterparty is deleted."))
    return redirect(f"/counterparties?client_id={current.client_id}")


ROUTES = [
    Route("/counterparties", counterparty_list, methods=["GET"], name="counterparties"),
    Route("/counterparties/new", new_counterparty, methods=["GET"]),
    Route("/counterparties/new", create_counterparty, methods=["POST"]),
    Route("/counterparties/{counterparty_id}", counterparty_page, methods=["GET"]),
    Route("/counterparties/{counterparty_id}", update_counterparty, methods=["POST"]),
    Route("/counterparties/{counterparty_id}/delete", delete_counterparty, methods=["POST"]),
]

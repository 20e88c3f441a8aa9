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

from cabinet_core.entities import Address, Counterparty, PartyKind
from cabinet_core.errors import N_, FieldError
from starlette.requests import Request

from cabinet_web.pages._catalogue import Catalogue
from cabinet_web.pages._forms import PARTY_KINDS, translated

_ADDRESS = ("line1", "line2", "postal_code", "city", "country")


def form_context(request: Request, values: Mapping[str, str]) -> dict[str, Any]:
    """The form's one choice list: a company or a person."""
    return {"kinds": translated(request, PARTY_KINDS)}


def values_of(counterparty: Counterparty, language: str) -> dict[str, str]:
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


def counterparty_from_form(
    form: Mapping[str, str], client_id: int
) -> tuple[Counterparty, list[FieldError]]:
    """The counterparty the form describes; every field is text the core checks and
    normalises, so the form itself finds nothing wrong."""
    kind = PartyKind.PERSON if form.get("kind") == PartyKind.PERSON.value else PartyKind.COMPANY
    counterparty = Counterparty(
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
    return counterparty, []


CATALOGUE = Catalogue(
    path="/counterparties",
    name="counterparty",
    plural="counterparties",
    service=lambda cabinet: cabinet.counterparties,
    saved=N_("The counterparty is saved."),
    deleted=N_("The counterparty is deleted."),
    new_values={"kind": "company", "address.country": "PL"},
    from_form=counterparty_from_form,
    values_of=values_of,
    form_context=form_context,
)
ROUTES = CATALOGUE.routes()

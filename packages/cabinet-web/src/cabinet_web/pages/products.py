"""A client's products and services (``/products``): the list, "New product" and a product's
edit form with its delete button. Each use case is one ``cabinet.products`` call; the core
decides who may see or change a client's catalogue (a client's user: its own; a manager: its
clients). GTU and procedure markers are chosen from the core's JPK_V7M(3) lists, never typed.

A deleted product leaves the documents made from it as they are: their lines keep the name,
price and markers and lose only the link to the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
from cabinet_core import access
from cabinet_core.entities import Product
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.vat_statement.markers import GTU_CODES, SALES_PROCEDURES
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.i18n import babel_locale
from cabinet_web.limits import MAX_ID, parse_client_id, parse_id
from cabinet_web.numbers import price_input
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
from cabinet_web.pages.document_form import parse_decimal, vat_choices

PAGE_SIZE = 50
#: The checkbox of each procedure marker is named ``procedure.<marker>``.
PROCEDURE_FIELD = "procedure."


def query_client(request: Request) -> int | None:
    """The client a staff member filters by (``?client_id=``); junk means none."""
    raw = request.query_params.get("client_id", "").strip()
    if raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return None


def offset_of(request: Request) -> int:
    raw = request.query_params.get("offset", "").strip()
    return min(int(raw), MAX_ID) if raw.isdigit() else 0


@page()
async def product_list(request: Request) -> Response:
    """The client's products (staff choose the client first)."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    clients = await run(cabinet.clients.list, actor) if actor.client_id is None else []
    client_id = actor.client_id or query_client(request)
    search = request.query_params.get("search", "").strip()
    found = None
    if client_id is not None:
        found = await run(
            cabinet.products.list,
            actor,
            client_id,
            search=search or None,
            limit=PAGE_SIZE,
            offset=offset_of(request),
        )
    context = {
        "products": found,
        "client_id": client_id,
        "clients": [(str(c.id), c.name) for c in clients],
        "client_names": {c.id: c.name for c in clients},
        "search": search,
        "flashes": pop_flashes(request),
    }
    return render(request, "products.html", context)


def writable_clients(request: Request) -> list[tuple[str, str]]:
    actor = actor_of(request)
    if actor.client_id is not None:
        return []
    clients = cabinet_of(request).clients.list(actor)
    return [(str(c.id), c.name) for c in clients if access.can_edit_client_data(actor, c)]


async def _form(
    request: Request,
    values: Mapping[str, str],
    *,
    product: Product | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    today = cabinet.products.now().date()
    keep = [values["vat_rate"]] if values.get("vat_rate") else []
    context: dict[str, Any] = {
        "product": product,
        "values": values,
        "errors": errors or {},
        "clients": await run(writable_clients, request) if product is None else [],
        "vat_choices": vat_choices(cabinet, today, request.state.language, keep),
        "currencies": [(code, code) for code in SUPPORTED_CURRENCIES],
        "gtu_codes": [(code, code) for code in GTU_CODES],
        "procedures": SALES_PROCEDURES,
        "procedure_field": PROCEDURE_FIELD,
        "flashes": pop_flashes(request),
    }
    return render(request, "product_form.html", context, status_code=status)


def values_of(product: Product, language: str) -> dict[str, str]:
    """The form's values for a stored product."""
    values = {
        "client_id": str(product.client_id),
        "name": product.name,
        "unit": product.unit,
        "unit_price": price_input(product.unit_price, babel_locale(language)),
        "currency": product.currency,
        "vat_rate": product.vat_rate,
        "gtu": product.gtu or "",
    }
    values.update({f"{PROCEDURE_FIELD}{marker}": "true" for marker in product.procedures})
    return values


def product_from_form(form: Mapping[str, str], client_id: int) -> tuple[Product, list[FieldError]]:
    """The product the form describes, and the values it could not read (the core checks the
    rest: the name, the VAT rate, the currency, GTU and procedure markers)."""
    errors: list[FieldError] = []
    price = Decimal("0")
    try:
        price = parse_decimal(form.get("unit_price", ""))
    except ValueError:
        errors.append(FieldError(field="unit_price", code="number", message=N_("Enter a number.")))
    procedures = tuple(
        key.removeprefix(PROCEDURE_FIELD)
        for key, value in form.items()
        if key.startswith(PROCEDURE_FIELD) and value
    )
    product = Product(
        client_id=client_id,
        name=form.get("name", ""),
        unit=form.get("unit", ""),
        unit_price=price,
        currency=form.get("currency", "PLN").strip(),
        vat_rate=form.get("vat_rate", "").strip(),
        gtu=form.get("gtu", "").strip() or None,
        procedures=procedures,
    )
    return product, errors


def _all_errors(request: Request, product: Product, errors: list[FieldError]) -> None:
    """Raise the values the form could not read together with the core's own findings on the
    rest (a price that is no number must not hide a bad name or GTU code); no writes."""
    if not errors:
        return
    read = {error.field for error in errors}
    try:
        cabinet_of(request).products.check_new(actor_of(request), product)
    except ValidationError as exc:
        errors = errors + [error for error in exc.errors if error.field not in read]
    raise ValidationError(errors)


@page()
async def new_product(request: Request) -> Response:
    """The "New product" form (staff may name the client in the link: ``?client_id=``)."""
    client_id = query_client(request)
    values = {
        "client_id": str(client_id) if client_id else "",
        "unit": "szt.",
        "currency": "PLN",
        "vat_rate": "23",
    }
    return await _form(request, values)


@page()
async def create_product(request: Request) -> Response:
    """Add the product; every problem at its field, nothing saved."""
    form = await read_form(request)
    try:
        client_id = parse_client_id(form.get("client_id", ""), own=actor_of(request).client_id)
    except ValidationError as exc:
        client_id, client_errors = 0, list(exc.errors)
    else:
        client_errors = []
    product, errors = product_from_form(form, client_id)
    try:
        await run(_all_errors, request, product, [*client_errors, *errors])
        saved = await run(cabinet_of(request).products.create, actor_of(request), product)
    except ValidationError as exc:
        return await _form(request, form, errors=errors_by_field(request, exc.errors), status=422)
    flash(request, request.state.gettext("The product is saved."))
    return redirect(f"/products?client_id={saved.client_id}")


@page()
async def product_page(request: Request) -> Response:
    """A product's edit form."""
    product_id = parse_id(request.path_params["product_id"])
    product = await run(cabinet_of(request).products.get, actor_of(request), product_id)
    return await _form(request, values_of(product, request.state.language), product=product)


@page()
async def update_product(request: Request) -> Response:
    """Save the changes; the owning client never changes."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    product_id = parse_id(request.path_params["product_id"])
    current = await run(cabinet.products.get, actor, product_id)
    form = await read_form(request)
    changed, errors = product_from_form(form, current.client_id)
    try:
        await run(_all_errors, request, changed, errors)
        saved = await run(
            cabinet.products.update,
            actor,
            attrs.evolve(changed, id=current.id),
        )
    except ValidationError as exc:
        return await _form(
            request,
            form,
            product=current,
            errors=errors_by_field(request, exc.errors),
            status=422,
        )
    flash(request, request.state.gettext("The product is saved."))
    return redirect(f"/products?client_id={saved.client_id}")


@page()
async def delete_product(request: Request) -> Response:
    """Delete the product; documents made from it keep their lines."""
    cabinet, actor = cabinet_of(request), actor_of(request)
    product_id = parse_id(request.path_params["product_id"])
    current = await run(cabinet.products.get, actor, product_id)
    await run(cabinet.products.delete, actor, product_id)
    flash(request, request.state.gettext("The product is deleted."))
    return redirect(f"/products?client_id={current.client_id}")


ROUTES = [
    Route("/products", product_list, methods=["GET"], name="products"),
    Route("/products/new", new_product, methods=["GET"]),
    Route("/products/new", create_product, methods=["POST"]),
    Route("/products/{product_id}", product_page, methods=["GET"]),
    Route("/products/{product_id}", update_product, methods=["POST"]),
    Route("/products/{product_id}/delete", delete_product, methods=["POST"]),
]

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

from cabinet_core.entities import Product
from cabinet_core.errors import N_, FieldError
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.storage import Page
from cabinet_core.vat_statement.markers import GTU_CODES, SALES_PROCEDURES
from starlette.requests import Request

from cabinet_web.i18n import babel_locale
from cabinet_web.numbers import price_input
from cabinet_web.pages._catalogue import Catalogue
from cabinet_web.pages._common import cabinet_of
from cabinet_web.pages._forms import parse_decimal, vat_choices

#: The checkbox of each procedure marker is named ``procedure.<marker>``.
PROCEDURE_FIELD = "procedure."


def form_context(request: Request, values: Mapping[str, str]) -> dict[str, Any]:
    """The form's choices: today's VAT rates (and the product's own), currencies, markers."""
    cabinet = cabinet_of(request)
    today = cabinet.products.now().date()
    keep = [values["vat_rate"]] if values.get("vat_rate") else []
    return {
        "vat_choices": vat_choices(cabinet, today, request.state.language, keep),
        "currencies": [(code, code) for code in SUPPORTED_CURRENCIES],
        "gtu_codes": [(code, code) for code in GTU_CODES],
        "procedures": SALES_PROCEDURES,
        "procedure_field": PROCEDURE_FIELD,
    }


def list_context(request: Request, found: Page[Product]) -> dict[str, Any]:
    """Each listed rate's label as the installation's tax rules give it (23%, zwolnione …),
    as the document form shows it."""
    cabinet = cabinet_of(request)
    today = cabinet.products.now().date()
    rates = {product.vat_rate for product in found.items}
    return {"vat_labels": dict(vat_choices(cabinet, today, request.state.language, rates))}


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


CATALOGUE = Catalogue(
    path="/products",
    name="product",
    plural="products",
    service=lambda cabinet: cabinet.products,
    saved=N_("The product is saved."),
    deleted=N_("The product is deleted."),
    new_values={"unit": "szt.", "currency": "PLN", "vat_rate": "23"},
    from_form=product_from_form,
    values_of=values_of,
    form_context=form_context,
    list_context=list_context,
)
ROUTES = CATALOGUE.routes()

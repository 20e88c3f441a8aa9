"""Product rows as the documentation defines them (crm/data-types.md ``crm_item_product_row``,
crm-item-productrow-set.md): what a document line becomes, and what a row read back means.

``price`` is the unit price *including* discounts and taxes, whatever ``taxIncluded`` says;
``taxIncluded`` only records how the price was entered (``Y``: gross, as a gross-priced
document has it; ``N``: net, shown by the portal with the tax added). The portal derives
``priceExclusive`` (without tax, with discounts) = ``price / (1 + taxRate/100)``, ``priceNetto``
(without both), ``priceBrutto`` (with tax, without discounts), ``priceAccount`` (``price`` in
the report currency). So a net-priced line is sent with its *gross* unit price and
``taxIncluded=N``, and a row's net unit price is ``price / (1 + taxRate/100)`` in both cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from cabinet_core.entities import DocumentLine, PriceMode

#: Rows carry prices to the cent in the documentation's examples (66666.67).
CENT = Decimal("0.01")


def _amount(value: Decimal) -> str:
    # Decimals travel as plain strings ("10.5", never "1E+3"): Bitrix accepts them, and a float
    # must never carry money. Storage pads prices to six places; the padding says nothing.
    return format(value.normalize(), "f")


def tax_rate(line: DocumentLine) -> Decimal | None:
    """The row's ``taxRate`` of a line: its VAT rate in percent, ``None`` for rates without
    a percentage (``zw``, ``np``, ``oo``: no tax on the row)."""
    return Decimal(line.vat_rate) if line.vat_rate.isdigit() else None


def gross_unit_price(line: DocumentLine, price_mode: PriceMode) -> Decimal:
    """The row's ``price``: the line's unit price with its tax. A net price times
    ``1 + rate``, exactly (no rounding here: the portal keeps what it keeps, and any rounding
    there stays below half a cent of the net price read back)."""
    rate = tax_rate(line)
    if price_mode == PriceMode.GROSS or rate is None:
        return line.unit_price
    return line.unit_price * (1 + rate / 100)


def product_row(line: DocumentLine, price_mode: PriceMode, sort: int) -> dict[str, Any]:
    """One document line as a ``crm.item.productrow`` (a free-text row, ``productId`` 0)."""
    row: dict[str, Any] = {
        "productId": 0,
        "productName": line.name,
        "price": _amount(gross_unit_price(line, price_mode)),
        "quantity": _amount(line.quantity),
        "measureName": line.unit,
        "taxIncluded": "Y" if price_mode == PriceMode.GROSS else "N",
        "sort": sort,
    }
    rate = tax_rate(line)
    if rate is not None:
        row["taxRate"] = int(rate)
    return row


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {value!r}") from None


def net_unit_price(row: Mapping[str, Any]) -> Decimal:
    """A row's unit price without tax (with its discounts), to the cent:
    ``price / (1 + taxRate/100)`` whatever ``taxIncluded`` says — the portal's
    ``priceExclusive``."""
    price = _decimal(row.get("price"))
    rate = row.get("taxRate")
    factor = 1 + (_decimal(rate) / 100 if rate not in (None, "") else Decimal(0))
    return (price / factor).quantize(CENT, rounding=ROUND_HALF_UP)


def gross_row_price(row: Mapping[str, Any]) -> Decimal:
    """A row's unit price with tax (with its discounts), to the cent: its ``price``."""
    return _decimal(row.get("price")).quantize(CENT, rounding=ROUND_HALF_UP)


def same_prices(line: DocumentLine, price_mode: PriceMode, row: Mapping[str, Any]) -> bool:
    """Whether ``row`` (read back from the portal) carries ``line``'s price: its net unit
    price to the cent for a net-priced document, its gross one for a gross-priced one (what
    the document itself states)."""
    if price_mode == PriceMode.GROSS:
        wanted = line.unit_price.quantize(CENT, rounding=ROUND_HALF_UP)
        return gross_row_price(row) == wanted
    return net_unit_price(row) == line.unit_price.quantize(CENT, rounding=ROUND_HALF_UP)


def _same_number(value: Any, wanted: Decimal) -> bool:
    try:
        return _decimal(value) == wanted
    except ValueError:
        return False


def rows_match(
    lines: Sequence[DocumentLine], price_mode: PriceMode, rows: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether the product rows read back (``crm.item.productrow.list``, in ``sort`` order)
    are the document's ``lines`` as :func:`product_row` wrote them: as many, and each with
    the line's name, quantity, tax rate and price (:func:`same_prices`). Catalogue ids,
    units and the derived prices are the portal's business and are not compared."""
    if len(rows) != len(lines):
        return False
    ordered = sorted(rows, key=lambda row: (_sort_key(row.get("sort")), _sort_key(row.get("id"))))
    for line, row in zip(lines, ordered, strict=True):
        if str(row.get("productName") or "") != line.name:
            return False
        if not _same_number(row.get("quantity"), line.quantity):
            return False
        rate = tax_rate(line)
        given = row.get("taxRate")
        if (given in (None, "")) != (rate is None):
            return False
        if rate is not None and not _same_number(given, rate):
            return False
        try:
            if not same_prices(line, price_mode, row):
                return False
        except ValueError:
            return False
    return True


def _sort_key(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

"""How FA(3) writes numbers and dates, shared by the writer and the reader."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

#: Decimal places FA(3) allows: amounts (``TKwotowy``), unit prices (``TKwotowy2``),
#: quantities and exchange rates (``TIlosci``).
AMOUNT_PLACES = 2
PRICE_PLACES = 8
QUANTITY_PLACES = 6


def fits(value: Decimal, places: int) -> bool:
    """Whether ``value`` has at most ``places`` decimal places (after dropping trailing zeros)."""
    exponent = value.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -places


def decimal_text(value: Decimal, places: int) -> str:
    """``value`` in plain notation with at most ``places`` decimals and no trailing zeros.

    ``100`` stays ``100`` (never ``1E+2``); amounts are written with exactly two decimals by
    :func:`amount_text` instead. The caller checks :func:`fits` first.
    """
    if not fits(value, places):
        raise ValueError(f"{value} has more than {places} decimal places")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def amount_text(value: Decimal) -> str:
    """An amount (``TKwotowy``) with exactly two decimals, as the MF examples mostly write them."""
    if not fits(value, AMOUNT_PLACES):
        raise ValueError(f"{value} is not rounded to grosze")
    text = format(value.quantize(Decimal("0.01")), "f")
    return "0.00" if text == "-0.00" else text


def parse_decimal(text: str | None) -> Decimal | None:
    """A number as FA(3) writes it, or ``None`` when absent or not a finite number."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_date(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` date, or ``None`` when absent or not a date."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None

"""Numbers as people read them, formatted by Babel for the page's locale.

The store keeps prices and quantities with six decimal places and exchange rates as NBP
publishes them; a page shows what is significant, never the column's scale:

- a price shows at least the two decimals of money and any further ones it really has
  (``450.000000`` → ``450,00``; ``0.125000`` → ``0,125``);
- a quantity shows only the decimals it has (``2.500000`` → ``2,5``);
- an exchange rate shows the four decimals of NBP's table A (``4.251200`` → ``4,2512``).

Form inputs get the same digits without grouping (``1234,50``, not ``1 234,50``) so what a
person sees in a field is what the form reads back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal

__all__ = ["price", "price_input", "price_money", "quantity", "quantity_input", "rate"]

#: NBP table A publishes mid rates with four decimal places.
NBP_RATE_PLACES = 4
_PRICE = "#,##0.00####"
_QUANTITY = "#,##0.######"
_PRICE_INPUT = "0.00####"
_QUANTITY_INPUT = "0.######"


def _decimal(value: Decimal | str | float | int | None) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def price(value: Decimal | str | None, locale: Any) -> str:
    """A unit price to its significant decimals, at least two: ``450,00``, ``0,125``."""
    number = _decimal(value)
    return "" if number is None else format_decimal(number, _PRICE, locale=locale)


def price_money(value: Decimal | str | None, currency: str, locale: Any) -> str:
    """:func:`price` with the currency as the locale writes it: ``450,00 zł``, ``€0.125``."""
    number = _decimal(value)
    if number is None:
        return ""
    return format_currency(
        number, currency, locale=locale, currency_digits=False, decimal_quantization=False
    )


def quantity(value: Decimal | str | None, locale: Any) -> str:
    """A quantity with only the decimals it has: ``3``, ``2,5``, ``0,333333``."""
    number = _decimal(value)
    return "" if number is None else format_decimal(number, _QUANTITY, locale=locale)


def rate(value: Decimal | str | None, locale: Any) -> str:
    """An exchange rate as NBP publishes it, four decimals: ``4,2512``."""
    number = _decimal(value)
    if number is None:
        return ""
    pattern = "#,##0." + "0" * NBP_RATE_PLACES
    return format_decimal(number, pattern, locale=locale, decimal_quantization=True)


def price_input(value: Decimal | str | None, locale: Any) -> str:
    """A price for a form field: :func:`price` without grouping separators."""
    number = _decimal(value)
    return "" if number is None else format_decimal(number, _PRICE_INPUT, locale=locale)


def quantity_input(value: Decimal | str | None, locale: Any) -> str:
    """A quantity for a form field: :func:`quantity` without grouping separators."""
    number = _decimal(value)
    return "" if number is None else format_decimal(number, _QUANTITY_INPUT, locale=locale)

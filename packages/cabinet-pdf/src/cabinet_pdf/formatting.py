"""Numbers, rates and dates as a Polish or English reader expects them on paper.

The amounts come already rounded from :mod:`cabinet_core.vat`; formatting never rounds money
again, it only groups digits (``1 234,56`` in Polish, ``1,234.56`` in English).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cabinet_pdf.labels import languages_of


def _group(digits: str, sep: str) -> str:
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return sep.join(groups)


def format_number(value: Decimal, language: str, *, places: int | None = 2) -> str:
    """``value`` with grouped thousands; ``places=None`` keeps the significant decimals only.

    A bilingual document uses the Polish convention (the primary language comes first).
    """
    if places is None:
        text = format(value.normalize(), "f") if value != 0 else "0"
    else:
        text = format(value, f".{places}f")
    sign = "-" if text.startswith("-") else ""
    integer, _, fraction = text.lstrip("-").partition(".")
    polish = languages_of(language)[0] == "pl"
    grouped = _group(integer, " " if polish else ",")
    point = "," if polish else "."
    return f"{sign}{grouped}{point}{fraction}" if fraction else f"{sign}{grouped}"


def format_price(value: Decimal, language: str) -> str:
    """A unit price: at least two decimals, more only when the price has them (``0,1234``),
    so a price is never shown rounded."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return format_number(value, language, places=places)


def format_amount(value: Decimal, currency: str, language: str) -> str:
    """A money amount with its currency code: ``1 234,56 PLN``."""
    return f"{format_number(value, language)} {currency}"


def format_rate(code: str) -> str:
    """A VAT rate code as printed: ``23`` → ``23%``; markers (``zw``, ``0 WDT``, ``np I``) as is."""
    return f"{code}%" if code.isdigit() else code


def format_date(value: date | None) -> str:
    """ISO dates (``2026-11-27``) read the same in both languages."""
    return value.isoformat() if value else ""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cabinet_pdf.formatting import (
    format_amount,
    format_date,
    format_number,
    format_price,
    format_rate,
)
from hypothesis import given
from hypothesis import strategies as st


def test_polish_and_english_grouping():
    assert format_number(Decimal("1234567.8"), "pl") == "1 234 567,80"
    assert format_number(Decimal("1234567.8"), "en") == "1,234,567.80"
    assert format_number(Decimal("-1234.5"), "pl") == "-1 234,50"
    assert format_number(Decimal("0"), "pl") == "0,00"
    assert format_number(Decimal("999"), "pl+en") == "999,00"


def test_quantities_keep_only_significant_decimals():
    assert format_number(Decimal("2.500"), "pl", places=None) == "2,5"
    assert format_number(Decimal("1000"), "en", places=None) == "1,000"
    assert format_number(Decimal("0.000"), "pl", places=None) == "0"


def test_amount_rate_and_date():
    assert format_amount(Decimal("10.00"), "EUR", "en") == "10.00 EUR"
    assert format_rate("23") == "23%"
    assert format_rate("0 WDT") == "0 WDT"
    assert format_rate("zw") == "zw"
    assert format_date(date(2026, 2, 1)) == "2026-02-01"
    assert format_date(None) == ""


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_formatting_never_changes_the_amount(value):
    polish = format_number(value, "pl")
    english = format_number(value, "en")
    assert Decimal(polish.replace(" ", "").replace(",", ".")) == value
    assert Decimal(english.replace(",", "")) == value


def test_unit_prices_keep_their_decimals_but_show_at_least_two():
    assert format_price(Decimal("10.500000"), "pl") == "10,50"
    assert format_price(Decimal("0.123400"), "pl") == "0,1234"
    assert format_price(Decimal("1000"), "en") == "1,000.00"


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False))
def test_unit_prices_are_never_rounded(value):
    assert Decimal(format_price(value, "en").replace(",", "")) == value

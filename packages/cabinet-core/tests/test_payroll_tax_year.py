"""Tax-year parameters: the built-in years, settings over them, an unknown year as a field error."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cabinet_core.errors import ValidationError
from cabinet_core.payroll import BUILT_IN_TAX_YEARS, TaxYears
from cabinet_core.payroll.tax_year import PARAMETERS


def test_built_in_years_are_2025_and_2026() -> None:
    years = TaxYears.from_settings({})
    assert set(years.years) == {2025, 2026}
    assert years.get(2026).minimum_wage == Decimal("4806.00")
    assert years.get(2025).minimum_wage == Decimal("4666.00")
    assert years.get(2026).pit2_monthly_relief == Decimal("300.00")
    assert years.get(2026).minimum_hourly_rate == Decimal("31.40")
    assert years.get(2025).minimum_hourly_rate == Decimal("30.50")


def test_an_unknown_year_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as raised:
        TaxYears.from_settings({}).get(2031, field="issue_date")
    (error,) = raised.value.errors
    assert (error.field, error.code, error.params) == (
        "issue_date",
        "unknown_tax_year",
        {"year": 2031},
    )


def test_settings_correct_a_built_in_value() -> None:
    years = TaxYears.from_settings({"2026_accident_rate": "0.0093"})
    assert years.get(2026).accident_rate == Decimal("0.0093")
    assert years.get(2026).pit_rate == BUILT_IN_TAX_YEARS[2026].pit_rate


def test_a_new_year_based_on_a_known_one() -> None:
    years = TaxYears.from_settings({"2027_based_on": "2026", "2027_minimum_wage": "5000"})
    assert years.get(2027).minimum_wage == Decimal("5000")
    assert years.get(2027).health_rate == Decimal("0.09")


def test_a_new_year_with_every_parameter() -> None:
    config = {f"2030_{name}": "0.1" for name in PARAMETERS}
    assert TaxYears.from_settings(config).get(2030).pit_rate == Decimal("0.1")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"2027_minimum_wage": "5000"}, "lack"),
        ({"2026_pit_rate": "twelve"}, "not a number"),
        ({"2026_pit_rate": "-1"}, "zero or more"),
        ({"2026_colour": "1"}, "unknown payroll setting"),
        ({"2027_based_on": "1999"}, "unknown year"),
    ],
)
def test_bad_settings_name_the_key(config: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TaxYears.from_settings(config)

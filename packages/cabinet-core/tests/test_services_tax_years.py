"""cabinet.tax_years: the PIT/ZUS parameters per tax year kept in the database. Admins edit a
year and add one based on another (audited, nothing written on a bad value); the environment
still wins; bills are computed with the stored values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from cabinet_core.payroll.tax_year import BUILT_IN_TAX_YEARS, PARAMETERS
from cabinet_core.services.tax_years import TAX_YEARS_KEY
from fixtures_services import World
from test_services_bills import bill_from, signed_contract


def values_of(year: int, **changes: str) -> dict[str, str]:
    base = BUILT_IN_TAX_YEARS[year]
    return {name: str(getattr(base, name)) for name in PARAMETERS} | changes


def test_the_built_in_years_are_listed_newest_first(world: World) -> None:
    rows = world.cabinet.tax_years.list(world.actor(world.accountant))
    assert [row.year for row in rows][:2] == [2026, 2025]
    assert rows[0].built_in and not rows[0].stored
    assert rows[0].parameters.minimum_wage == Decimal("4806.00")


def test_only_admins_change_a_year(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.cabinet.tax_years.save(world.actor(world.accountant), 2026, values_of(2026))


def test_a_changed_year_is_stored_audited_and_used_by_bills(world: World) -> None:
    admin = world.actor(world.admin)
    row = world.cabinet.tax_years.save(admin, 2026, values_of(2026, accident_rate="0.0093"))
    assert row.stored and row.parameters.accident_rate == Decimal("0.0093")
    entries = [
        e
        for e in world.cabinet.audit.list(admin, entity="setting")
        if e.detail.get("key") == TAX_YEARS_KEY
    ]
    assert entries[0].detail["changes"] == {"accident_rate": {"old": "0.0167", "new": "0.0093"}}
    contract = signed_contract(world)
    bill = world.cabinet.documents.create(world.actor(world.alice), bill_from(world, contract))
    assert bill.extra["breakdown"]["employer_accident"] == "9.30"


def test_the_environment_wins_over_the_stored_value(world: World) -> None:
    cabinet = world.cabinet
    cabinet.tax_years.save(world.actor(world.admin), 2026, values_of(2026, accident_rate="0.0093"))
    cabinet.settings = attrs.evolve(
        cabinet.settings, plugins={"payroll": {"2026_accident_rate": "0.02"}}
    )
    row = cabinet.tax_years.get(world.actor(world.accountant), 2026)
    assert row.parameters.accident_rate == Decimal("0.02")
    assert row.from_environment == ("accident_rate",)
    contract = signed_contract(world)
    bill = cabinet.documents.create(world.actor(world.alice), bill_from(world, contract))
    assert bill.extra["breakdown"]["employer_accident"] == "20.00"


def test_bad_values_are_field_errors_and_nothing_is_written(world: World) -> None:
    admin = world.actor(world.admin)
    bad = values_of(2026, pit_rate="12", minimum_wage="-1", health_rate="abc", sickness_rate="")
    bad["copyright_costs_cap"] = "100.001"
    with pytest.raises(ValidationError) as raised:
        world.cabinet.tax_years.save(admin, 2026, bad)
    assert sorted((e.field, e.code) for e in raised.value.errors) == [
        ("copyright_costs_cap", "amount"),
        ("health_rate", "invalid"),
        ("minimum_wage", "amount"),
        ("pit_rate", "range"),
        ("sickness_rate", "required"),
    ]
    assert not world.cabinet.tax_years.get(admin, 2026).stored


def test_a_new_year_starts_from_another_and_bills_of_that_year_work(world: World) -> None:
    admin = world.actor(world.admin)
    cabinet = world.cabinet
    row = cabinet.tax_years.add(admin, "2027", based_on="2026")
    assert row.year == 2027 and row.parameters.minimum_wage == Decimal("4806.00")
    cabinet.tax_years.save(admin, 2027, values_of(2026, minimum_wage="5000.00"))
    assert cabinet.tax_years.get(admin, 2027).parameters.minimum_wage == Decimal("5000.00")
    contract = signed_contract(world)
    bill = attrs.evolve(bill_from(world, contract), issue_date=date(2027, 1, 15))
    saved = cabinet.documents.create(world.actor(world.alice), bill)
    assert saved.extra["breakdown"]["tax_year"] == 2027


def test_adding_a_known_year_or_from_an_unknown_one_is_refused(world: World) -> None:
    admin = world.actor(world.admin)
    with pytest.raises(ValidationError) as raised:
        world.cabinet.tax_years.add(admin, 2026, based_on=2025)
    assert raised.value.errors[0].code == "exists"
    with pytest.raises(ValidationError) as raised:
        world.cabinet.tax_years.add(admin, 2030, based_on=2019)
    assert raised.value.errors[0].code == "unknown"
    with pytest.raises(ValidationError) as raised:
        world.cabinet.tax_years.add(admin, "20x7", based_on=2026)
    assert raised.value.errors[0].field == "year"


def test_an_unknown_year_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cabinet.tax_years.save(world.actor(world.admin), 2031, values_of(2026))

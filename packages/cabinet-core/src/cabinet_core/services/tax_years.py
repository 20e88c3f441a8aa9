"""The PIT/ZUS parameters per tax year kept in the database, which bills are computed with.

The cabinet knows 2025 and 2026 (:data:`~cabinet_core.payroll.BUILT_IN_TAX_YEARS`). Admins
correct a year or add the next one (starting from another year's values) on the tax-years page;
the stored years lie over the built-in ones, and the operator's ``payroll`` namespace
(``CABINET_PAYROLL_<YEAR>_<PARAMETER>``) still wins, parameter by parameter. Every change is
audited with its old and new values.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.payroll.tax_year import BUILT_IN_TAX_YEARS, PARAMETERS, TaxYear, TaxYears
from cabinet_core.services._base import Service, raise_if
from cabinet_core.settings import Settings
from cabinet_core.storage import Tx

#: The settings row: ``{"2027": {"pit_rate": "0.12", …}}``, every parameter of each year.
TAX_YEARS_KEY = "payroll.tax_years"
#: The settings namespace the operator's environment overrides through.
PAYROLL_NAMESPACE = "payroll"
#: The parameters that are fractions (0.0976 is 9.76 per cent); the others are amounts in PLN.
RATES: frozenset[str] = frozenset(
    name for name in PARAMETERS if name.endswith("_rate") and name != "minimum_hourly_rate"
)
#: The years a stored tax year may be (a typo such as 207 is refused).
FIRST_YEAR, LAST_YEAR = 2000, 2100


@attrs.frozen(kw_only=True)
class TaxYearRow:
    """One year as the page shows it: its parameters in force, where they come from, and
    which parameters the environment sets."""

    year: int
    parameters: TaxYear
    built_in: bool
    stored: bool
    from_environment: tuple[str, ...]


def _stored_years(tx: Tx) -> dict[str, dict[str, str]]:
    value = tx.get_setting(TAX_YEARS_KEY) or {}
    return {str(year): dict(params) for year, params in dict(value).items()}


def _base(stored: Mapping[str, Mapping[str, str]]) -> dict[int, TaxYear]:
    years = dict(BUILT_IN_TAX_YEARS)
    for year_text, params in stored.items():
        year = int(year_text)
        start = years.get(year)
        values = {name: getattr(start, name) for name in PARAMETERS} if start else {}
        values.update({name: Decimal(text) for name, text in params.items() if name in PARAMETERS})
        if all(name in values for name in PARAMETERS):
            years[year] = TaxYear(year=year, **values)
    return years


def _environment_by_year(config: Mapping[str, str]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for key in config:
        year_text, _, name = key.partition("_")
        if year_text.isdigit():
            found.setdefault(int(year_text), []).append(name)
    return {year: tuple(sorted(names)) for year, names in found.items()}


def parameter_errors(values: Mapping[str, str]) -> tuple[dict[str, Decimal], list[FieldError]]:
    """Every parameter of a year read from ``values`` (text), and the errors found: each is
    required, a number, a rate from 0 to 1 or an amount of zero or more with at most two
    decimal places."""
    numbers: dict[str, Decimal] = {}
    errors: list[FieldError] = []
    for name in PARAMETERS:
        text = str(values.get(name, "")).strip().replace(",", ".")
        if not text:
            errors.append(
                FieldError(field=name, code="required", message=N_("This field is required."))
            )
            continue
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            errors.append(FieldError(field=name, code="invalid", message=N_("Enter a number.")))
        elif name in RATES and not Decimal(0) <= number <= Decimal(1):
            errors.append(
                FieldError(
                    field=name,
                    code="range",
                    message=N_("Enter a rate from 0 to 1 (0.0976 is 9.76 per cent)."),
                )
            )
        elif name not in RATES and (number < 0 or _places(number) > 2):
            errors.append(
                FieldError(
                    field=name,
                    code="amount",
                    message=N_(
                        "Enter an amount in PLN, zero or more, with at most two decimal places."
                    ),
                )
            )
        else:
            numbers[name] = number
    return numbers, errors


def _places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class TaxYearService(Service):
    """``cabinet.tax_years``: staff read the years, admins change and add them, audited."""

    def _config(self) -> dict[str, str]:
        return self.cabinet.settings.plugin_config(PAYROLL_NAMESPACE)

    def in_force(self, tx: Tx) -> TaxYears:
        """The years bills use now: built in, then stored, then the environment. Raises
        ``ValueError`` when the environment's values are not valid."""
        return TaxYears.from_settings(self._config(), known=_base(_stored_years(tx)))

    def bill_settings(self, tx: Tx) -> Settings:
        """The installation's settings with the stored years in the ``payroll`` namespace
        (under the environment's values), for a bill's computation."""
        merged: dict[str, str] = {}
        for year, params in _stored_years(tx).items():
            merged.update({f"{year}_{name}": text for name, text in params.items()})
        merged.update(self._config())
        settings = self.cabinet.settings
        return attrs.evolve(settings, plugins={**settings.plugins, PAYROLL_NAMESPACE: merged})

    def list(self, actor: Actor) -> builtins.list[TaxYearRow]:
        """Every year known, newest first."""
        access.require(access.can_read_settings(actor))
        with self.store.transaction(readonly=True) as tx:
            stored = _stored_years(tx)
        base = _base(stored)
        config = self._config()
        try:
            years = TaxYears.from_settings(config, known=base).years
        except ValueError:
            years = base  # the configuration check reports the operator's mistake
        environment = _environment_by_year(config)
        return [
            TaxYearRow(
                year=year,
                parameters=years[year],
                built_in=year in BUILT_IN_TAX_YEARS,
                stored=str(year) in stored,
                from_environment=environment.get(year, ()),
            )
            for year in sorted(years, reverse=True)
        ]

    def get(self, actor: Actor, year: int) -> TaxYearRow:
        """One year; ``NotFound`` when the cabinet knows no such year."""
        for row in self.list(actor):
            if row.year == year:
                return row
        raise NotFound(f"tax year {year}")

    def save(self, actor: Actor, year: int, values: Mapping[str, str]) -> TaxYearRow:
        """Store every parameter of a known ``year`` (text, as typed); nothing is written when
        one is wrong."""
        access.require(access.can_change_settings(actor))
        numbers, errors = parameter_errors(values)
        raise_if(errors)
        with self.store.transaction() as tx:
            stored = _stored_years(tx)
            before = self._known(stored).get(year)
            if before is None:
                raise NotFound(f"tax year {year}")
            self._write(tx, actor, stored, year, numbers, before=before)
        return self.get(actor, year)

    def add(self, actor: Actor, year: int | str, *, based_on: int | str) -> TaxYearRow:
        """A new year starting from ``based_on``'s parameters in force (edit it afterwards)."""
        access.require(access.can_change_settings(actor))
        errors: list[FieldError] = []
        number = _year(year, "year", errors)
        base_year = _year(based_on, "based_on", errors)
        raise_if(errors)
        assert number is not None and base_year is not None
        with self.store.transaction() as tx:
            stored = _stored_years(tx)
            known = self._known(stored)
            if number in known:
                raise ValidationError.single(
                    "year", "exists", N_("The year %(year)s is already there."), year=number
                )
            if base_year not in known:
                raise ValidationError.single(
                    "based_on", "unknown", N_("Choose one of the years listed."), year=base_year
                )
            start = known[base_year]
            values = {name: getattr(start, name) for name in PARAMETERS}
            self._write(tx, actor, stored, number, values, before=None, based_on=base_year)
        return self.get(actor, number)

    def _known(self, stored: Mapping[str, Mapping[str, str]]) -> dict[int, TaxYear]:
        """The years in force, or without the environment's when those are not valid."""
        base = _base(stored)
        try:
            return dict(TaxYears.from_settings(self._config(), known=base).years)
        except ValueError:
            return base

    def _write(
        self,
        tx: Tx,
        actor: Actor,
        stored: dict[str, dict[str, str]],
        year: int,
        numbers: Mapping[str, Decimal],
        *,
        before: TaxYear | None,
        based_on: int | None = None,
    ) -> None:
        new = {name: str(numbers[name]) for name in PARAMETERS}
        if stored.get(str(year)) == new:
            return
        stored[str(year)] = new
        tx.set_setting(TAX_YEARS_KEY, stored)
        detail: dict[str, Any] = {"key": TAX_YEARS_KEY, "year": year}
        if before is None:
            detail.update(based_on=based_on, new=new)
        else:
            detail["changes"] = {
                name: {"old": str(getattr(before, name)), "new": value}
                for name, value in new.items()
                if Decimal(value) != getattr(before, name)
            }
        self.record(
            tx,
            actor,
            action="settings.set",
            entity="setting",
            entity_id=None,
            client_id=None,
            detail=detail,
        )


def _year(value: int | str, field: str, errors: list[FieldError]) -> int | None:
    text = str(value).strip()
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        errors.append(
            FieldError(
                field=field,
                code="year",
                message=N_("Enter a year from %(first)s to %(last)s."),
                params={"first": FIRST_YEAR, "last": LAST_YEAR},
            )
        )
        return None
    return int(text)


__all__ = ["RATES", "TAX_YEARS_KEY", "TaxYearRow", "TaxYearService", "parameter_errors"]

"""The parameters of one tax year for bills: PIT, deductible costs and ZUS rates (poland.md §5).

The built-in years are 2025 and 2026. An installation sets another year, or corrects a built-in
value, in the ``payroll`` settings namespace: ``CABINET_PAYROLL_<YEAR>_<PARAMETER>`` (or
``Settings(plugins={"payroll": {"2027_minimum_wage": "5000"}})``). A year that is not built in
starts from the year ``<YEAR>_based_on`` names, else every parameter must be given::

    CABINET_PAYROLL_2027_BASED_ON=2026
    CABINET_PAYROLL_2027_MINIMUM_WAGE=5000.00
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import attrs

from cabinet_core.errors import N_, ValidationError


@attrs.frozen(kw_only=True)
class TaxYear:
    """What a bill's computation needs for one year; rates are fractions (0.0976 is 9.76 %)."""

    year: int
    #: PIT advance rate for civil-law contracts (the scale's first rate; advances never use 32 %).
    pit_rate: Decimal
    #: Kwota zmniejszająca podatek per month, taken off the advance when the contractor filed PIT-2.
    pit2_monthly_relief: Decimal
    #: Koszty uzyskania przychodu: the standard rate and the copyright rate with its yearly cap.
    costs_rate: Decimal
    copyright_costs_rate: Decimal
    copyright_costs_cap: Decimal
    #: Contracts stating at most this amount pay the flat tax (zryczałtowany podatek) instead.
    small_contract_limit: Decimal
    flat_tax_rate: Decimal
    #: Employee social contributions (ubezpieczenie emerytalne, rentowe, chorobowe) and health.
    pension_rate: Decimal
    disability_rate: Decimal
    sickness_rate: Decimal
    health_rate: Decimal
    #: Employer contributions: pension, disability, accident (wypadkowe, firm-specific), and the
    #: Labour Fund (FP) and FGŚP, due only when the base reaches the minimum wage.
    employer_pension_rate: Decimal
    employer_disability_rate: Decimal
    accident_rate: Decimal
    labour_fund_rate: Decimal
    guaranteed_benefits_rate: Decimal
    minimum_wage: Decimal
    #: The minimum gross hourly rate of an umowa zlecenie (minimalna stawka godzinowa).
    minimum_hourly_rate: Decimal
    #: Ulga dla młodych (art. 21 ust. 1 pkt 148 PIT): the yearly przychód of a contractor under 26
    #: on an umowa zlecenie that is free of PIT; what goes beyond it is taxed.
    young_exemption_limit: Decimal
    #: The yearly cap on the pension and disability base (30 × the forecast average wage, art. 19
    #: ust. 1 ustawy o systemie ubezpieczeń społecznych): above it neither the contractor nor the
    #: orderer pays those two contributions for the rest of the year.
    pension_base_cap: Decimal


PARAMETERS: tuple[str, ...] = tuple(
    field.name for field in attrs.fields(TaxYear) if field.name != "year"
)

_COMMON = {
    "pit_rate": Decimal("0.12"),
    "pit2_monthly_relief": Decimal("300.00"),
    "costs_rate": Decimal("0.20"),
    "copyright_costs_rate": Decimal("0.50"),
    "copyright_costs_cap": Decimal("120000.00"),
    "small_contract_limit": Decimal("200.00"),
    "flat_tax_rate": Decimal("0.12"),
    "pension_rate": Decimal("0.0976"),
    "disability_rate": Decimal("0.015"),
    "sickness_rate": Decimal("0.0245"),
    "health_rate": Decimal("0.09"),
    "employer_pension_rate": Decimal("0.0976"),
    "employer_disability_rate": Decimal("0.065"),
    "accident_rate": Decimal("0.0167"),
    "labour_fund_rate": Decimal("0.0245"),
    "guaranteed_benefits_rate": Decimal("0.001"),
    # Art. 21 ust. 1 pkt 148 ustawy o PIT: 85 528 PLN a year since 2019 (poland.md §5.1).
    "young_exemption_limit": Decimal("85528.00"),
}

#: The years the cabinet knows without settings (poland.md §5.1; minimum wage per rozporządzenie).
BUILT_IN_TAX_YEARS: Mapping[int, TaxYear] = {
    2025: TaxYear(
        year=2025,
        minimum_wage=Decimal("4666.00"),
        minimum_hourly_rate=Decimal("30.50"),
        # 30 × 8 673 PLN (obwieszczenie MRPiPS of 2024, forecast average wage; poland.md §5.1).
        pension_base_cap=Decimal("260190.00"),
        **_COMMON,
    ),
    2026: TaxYear(
        year=2026,
        minimum_wage=Decimal("4806.00"),
        minimum_hourly_rate=Decimal("31.40"),
        # 30 × 9 420 PLN (obwieszczenie MRPiPS of 2025 on the forecast average wage for 2026).
        pension_base_cap=Decimal("282600.00"),
        **_COMMON,
    ),
}


def _unknown_year(year: int, field: str) -> ValidationError:
    return ValidationError.single(
        field,
        "unknown_tax_year",
        N_("There are no tax parameters for the year %(year)s; an administrator sets them."),
        year=year,
    )


@attrs.frozen
class TaxYears:
    """The tax years an installation knows: the built-in ones overlaid by its settings."""

    years: Mapping[int, TaxYear]

    @classmethod
    def from_settings(
        cls, config: Mapping[str, str], *, known: Mapping[int, TaxYear] | None = None
    ) -> TaxYears:
        """Read the ``payroll`` namespace (``{"2027_pit_rate": "0.12", …}``) over ``known`` (the
        built-in years, or those with the admins' stored years on top).

        Raises ``ValueError`` naming the key when a value is not a number, a parameter is
        unknown, or a new year lacks parameters and names no year to start from."""
        given: dict[int, dict[str, str]] = {}
        for key, value in config.items():
            year_text, _, name = key.partition("_")
            if not year_text.isdigit() or (name not in PARAMETERS and name != "based_on"):
                raise ValueError(f"unknown payroll setting {key!r}")
            given.setdefault(int(year_text), {})[name] = value
        years = dict(BUILT_IN_TAX_YEARS if known is None else known)
        for year in sorted(given):
            values = dict(given[year])
            base_year = values.pop("based_on", None)
            base = years.get(int(base_year)) if base_year and base_year.isdigit() else None
            if base_year is not None and base is None:
                raise ValueError(f"payroll setting {year}_based_on names an unknown year")
            start = base or years.get(year)
            parameters: dict[str, Decimal] = (
                {name: getattr(start, name) for name in PARAMETERS} if start else {}
            )
            for name, text in values.items():
                try:
                    number = Decimal(text.strip())
                except InvalidOperation:
                    raise ValueError(f"payroll setting {year}_{name} is not a number") from None
                if not number.is_finite() or number < 0:
                    raise ValueError(f"payroll setting {year}_{name} must be zero or more")
                parameters[name] = number
            missing = [name for name in PARAMETERS if name not in parameters]
            if missing:
                raise ValueError(f"payroll settings for {year} lack {', '.join(missing)}")
            years[year] = TaxYear(year=year, **parameters)
        return cls(years)

    def get(self, year: int, *, field: str = "issue_date") -> TaxYear:
        """The parameters of ``year``; a :class:`ValidationError` at ``field`` when unknown."""
        try:
            return self.years[year]
        except KeyError:
            raise _unknown_year(year, field) from None


__all__ = ["BUILT_IN_TAX_YEARS", "PARAMETERS", "TaxYear", "TaxYears"]

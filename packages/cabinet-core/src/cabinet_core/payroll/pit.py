"""Income tax on a civil-law contract: deductible costs, the tax base and the advance or the
flat tax the orderer withholds (poland.md §5.1)."""

from __future__ import annotations

from decimal import Decimal

import attrs

from cabinet_core.payroll._rounding import to_grosz, to_zloty
from cabinet_core.payroll.tax_year import TaxYear

ZERO = Decimal("0.00")


@attrs.frozen(kw_only=True)
class IncomeTax:
    """The tax side of a bill.

    ``method`` is ``scale`` (zaliczka na podatek: costs, base, 12 %, PIT-2 relief), ``flat``
    (zryczałtowany podatek 12 % on the whole przychód, for contracts stating at most 200 PLN)
    or ``exempt`` (ulga dla młodych: a contractor under 26 on an umowa zlecenie, the whole bill
    within the yearly limit). A bill crossing the limit has ``exempt`` (the przychód free of
    tax) above zero and the method of its taxed rest; ``social`` is the part of the social
    contributions deducted from the taxed przychód."""

    method: str
    costs_rate: Decimal
    costs: Decimal
    base: Decimal
    relief: Decimal
    tax: Decimal
    exempt: Decimal = ZERO
    social: Decimal = ZERO


def costs_of(
    income: Decimal, *, copyright: bool, copyright_costs_claimed: Decimal, year: TaxYear
) -> tuple[Decimal, Decimal]:
    """Koszty uzyskania przychodu and their rate: 20 %, or 50 % for a copyright transfer within
    what is left of the yearly cap (art. 22 ust. 9a) after ``copyright_costs_claimed``."""
    if not copyright:
        return year.costs_rate, to_grosz(income * year.costs_rate)
    left = max(year.copyright_costs_cap - copyright_costs_claimed, ZERO)
    return year.copyright_costs_rate, min(to_grosz(income * year.copyright_costs_rate), left)


def scale_advance(
    income: Decimal,
    *,
    copyright: bool,
    copyright_costs_claimed: Decimal,
    pit2: bool,
    year: TaxYear,
) -> IncomeTax:
    """The advance on ``income`` (przychód less the social contributions): base and advance
    each rounded to the złoty; PIT-2 takes the monthly relief off before rounding."""
    rate, costs = costs_of(
        income, copyright=copyright, copyright_costs_claimed=copyright_costs_claimed, year=year
    )
    base = max(to_zloty(income - costs), ZERO)
    relief = year.pit2_monthly_relief if pit2 else ZERO
    tax = max(to_zloty(base * year.pit_rate - relief), ZERO)
    return IncomeTax(
        method="scale", costs_rate=rate, costs=costs, base=base, relief=relief, tax=tax
    )


def flat_tax(gross: Decimal, year: TaxYear) -> IncomeTax:
    """The 12 % flat tax (art. 30 ust. 1 pkt 5a) on the whole przychód, no costs."""
    base = to_zloty(gross)
    return IncomeTax(
        method="flat",
        costs_rate=ZERO,
        costs=ZERO,
        base=base,
        relief=ZERO,
        tax=to_zloty(base * year.flat_tax_rate),
    )


def exempt(income: Decimal) -> IncomeTax:
    """No tax: the whole przychód ``income`` is within the young person's yearly limit."""
    return IncomeTax(
        method="exempt",
        costs_rate=ZERO,
        costs=ZERO,
        base=ZERO,
        relief=ZERO,
        tax=ZERO,
        exempt=income,
    )


EXEMPT = exempt(ZERO)

"""ZUS contributions on an umowa zlecenie: the contractor's share, health, the employer's share.

Umowa o dzieło pays none of these (unless made with the contractor's own employer, which the
cabinet does not handle). poland.md §5.1.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from cabinet_core.payroll._rounding import to_grosz
from cabinet_core.payroll.tax_year import TaxYear

ZERO = Decimal("0.00")


@attrs.frozen(kw_only=True)
class InsuranceStatus:
    """What the contractor declared about social insurance (oświadczenie zleceniobiorcy).

    ``student_under_26``: a pupil or student under 26 (no ZUS, no health);
    ``insured_elsewhere``: employed elsewhere for at least the minimum wage (health only);
    ``sickness``: the voluntary sickness insurance (chorobowe) was chosen.
    """

    student_under_26: bool = False
    insured_elsewhere: bool = False
    sickness: bool = False


@attrs.frozen(kw_only=True)
class EmployeeContributions:
    """What is withheld from the contractor's pay: social contributions and health."""

    pension: Decimal = ZERO
    disability: Decimal = ZERO
    sickness: Decimal = ZERO
    health: Decimal = ZERO

    @property
    def social(self) -> Decimal:
        """Emerytalna + rentowa + chorobowa (what the costs and health are computed after)."""
        return self.pension + self.disability + self.sickness


@attrs.frozen(kw_only=True)
class EmployerContributions:
    """What the orderer pays on top of the gross amount."""

    pension: Decimal = ZERO
    disability: Decimal = ZERO
    accident: Decimal = ZERO
    labour_fund: Decimal = ZERO
    guaranteed_benefits: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return (
            self.pension
            + self.disability
            + self.accident
            + self.labour_fund
            + self.guaranteed_benefits
        )


def pension_base(gross: Decimal, earlier_base: Decimal, year: TaxYear) -> Decimal:
    """The part of ``gross`` that pension and disability contributions are due on: what is left
    of the year's cap (30 × the average wage) after ``earlier_base``, the base of the
    contractor's earlier pay this year."""
    left = max(year.pension_base_cap - earlier_base, ZERO)
    return min(gross, left)


def employee_contributions(
    gross: Decimal, status: InsuranceStatus, year: TaxYear, *, base: Decimal | None = None
) -> EmployeeContributions:
    """The contractor's contributions on ``gross``, each to the grosz.

    Pension and disability are on ``base`` (:func:`pension_base`, the whole gross when not
    given); sickness has no yearly cap. Health is 9 % of the gross less the social
    contributions (not deductible from tax)."""
    if status.student_under_26:
        return EmployeeContributions()
    if status.insured_elsewhere:
        return EmployeeContributions(health=to_grosz(gross * year.health_rate))
    capped = gross if base is None else base
    pension = to_grosz(capped * year.pension_rate)
    disability = to_grosz(capped * year.disability_rate)
    sickness = to_grosz(gross * year.sickness_rate) if status.sickness else ZERO
    health = to_grosz((gross - pension - disability - sickness) * year.health_rate)
    return EmployeeContributions(
        pension=pension, disability=disability, sickness=sickness, health=health
    )


def employer_contributions(
    gross: Decimal, status: InsuranceStatus, year: TaxYear, *, base: Decimal | None = None
) -> EmployerContributions:
    """The orderer's share; pension and disability on ``base`` (the yearly cap, as for the
    contractor), accident, FP and FGŚP on the whole gross (they have no yearly cap), FP and
    FGŚP only when the gross reaches the year's minimum wage."""
    if status.student_under_26 or status.insured_elsewhere:
        return EmployerContributions()
    funds_due = gross >= year.minimum_wage
    capped = gross if base is None else base
    return EmployerContributions(
        pension=to_grosz(capped * year.employer_pension_rate),
        disability=to_grosz(capped * year.employer_disability_rate),
        accident=to_grosz(gross * year.accident_rate),
        labour_fund=to_grosz(gross * year.labour_fund_rate) if funds_due else ZERO,
        guaranteed_benefits=(
            to_grosz(gross * year.guaranteed_benefits_rate) if funds_due else ZERO
        ),
    )

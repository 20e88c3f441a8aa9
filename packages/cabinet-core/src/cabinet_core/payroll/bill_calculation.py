"""What a bill (rachunek) under a civil-law contract pays out: gross less ZUS, health and the
tax, plus what it costs the orderer (poland.md §5, worked examples in §5.2)."""

from __future__ import annotations

from decimal import Decimal

import attrs

from cabinet_core.payroll import pit, zus
from cabinet_core.payroll._rounding import to_grosz
from cabinet_core.payroll.tax_year import TaxYear
from cabinet_core.words import amount_in_words

ZERO = Decimal("0.00")
#: The two kinds of contract a bill can be for.
ZLECENIE = "zlecenie"
DZIELO = "dzielo"


@attrs.frozen(kw_only=True)
class BillTerms:
    """What a bill's computation starts from: the contract and the contractor's declarations.

    ``contract_amount`` is the amount the contract states (the ≤ 200 PLN flat-tax test looks at
    it, not at this bill); ``None`` for an hourly contract, which states no amount.
    ``under_26`` without ``status.student_under_26`` is the young person's PIT exemption alone.
    ``copyright_costs_claimed``: 50 % costs already taken this year, for the yearly cap.
    ``earlier_exempt_income``: the contractor's przychód already exempt this year under the
    young person's relief (from earlier bills and elsewhere), for its yearly limit.
    ``earlier_pension_base``: the contractor's pension and disability base already reached this
    year, for the 30 × average wage cap.
    """

    kind: str
    gross: Decimal
    contract_amount: Decimal | None = None
    copyright: bool = False
    copyright_costs_claimed: Decimal = ZERO
    earlier_exempt_income: Decimal = ZERO
    earlier_pension_base: Decimal = ZERO
    under_26: bool = False
    pit2: bool = False
    status: zus.InsuranceStatus = attrs.field(factory=zus.InsuranceStatus)

    def __attrs_post_init__(self) -> None:
        if self.kind not in (ZLECENIE, DZIELO):
            raise ValueError(f"a bill is for an umowa zlecenie or o dzieło, not {self.kind!r}")
        if self.gross < 0:
            raise ValueError("the gross amount cannot be negative")
        if self.earlier_exempt_income < 0 or self.earlier_pension_base < 0:
            raise ValueError("the earlier income and base cannot be negative")


@attrs.frozen(kw_only=True)
class BillBreakdown:
    """A bill's amounts, each to the grosz; ``net`` is what the contractor is paid."""

    year: int
    gross: Decimal
    #: The part of the gross pension and disability contributions were due on (the cap).
    pension_base: Decimal
    employee: zus.EmployeeContributions
    tax: pit.IncomeTax
    employer: zus.EmployerContributions
    net: Decimal

    @property
    def social(self) -> Decimal:
        return self.employee.social

    @property
    def health(self) -> Decimal:
        return self.employee.health

    @property
    def employer_cost(self) -> Decimal:
        """Gross plus the orderer's own contributions: what the bill costs the orderer."""
        return self.gross + self.employer.total

    def net_in_words(self, language: str = "pl") -> str:
        """The payout in words (słownie), as the bill prints it."""
        return amount_in_words(self.net, "PLN", language)


def _is_small(terms: BillTerms, year: TaxYear) -> bool:
    stated = terms.contract_amount
    return stated is not None and stated <= year.small_contract_limit


def _exempt_part(terms: BillTerms, gross: Decimal, year: TaxYear) -> Decimal:
    """The przychód free of tax: for a contractor under 26 on an umowa zlecenie, what is left
    of the yearly limit after ``earlier_exempt_income``, at most the bill's gross."""
    if terms.kind != ZLECENIE or not terms.under_26:
        return ZERO
    return min(gross, max(year.young_exemption_limit - terms.earlier_exempt_income, ZERO))


def calculate_bill(terms: BillTerms, year: TaxYear) -> BillBreakdown:
    """Compute the bill for ``terms`` with ``year``'s parameters.

    Umowa zlecenie: ZUS (unless a student under 26; health only when insured elsewhere), with
    pension and disability only up to the yearly base cap; then the tax: none on the part
    within the young person's yearly limit, and on the rest the flat tax for a small contract,
    else the advance on the income after the social contributions that fall on that rest
    (in proportion to it). Umowa o dzieło: no ZUS, the tax on the whole gross.
    """
    gross = terms.gross.quantize(Decimal("0.01"))
    base = ZERO
    if terms.kind == ZLECENIE:
        insured = not (terms.status.student_under_26 or terms.status.insured_elsewhere)
        base = zus.pension_base(gross, terms.earlier_pension_base, year) if insured else ZERO
        employee = zus.employee_contributions(gross, terms.status, year, base=base)
        employer = zus.employer_contributions(gross, terms.status, year, base=base)
    else:
        employee, employer = zus.EmployeeContributions(), zus.EmployerContributions()
    exempt = _exempt_part(terms, gross, year)
    taxed = gross - exempt
    if terms.kind == ZLECENIE and terms.under_26 and taxed == 0:
        tax = pit.exempt(exempt)
    else:
        # Social contributions are deducted from the taxed przychód only in its share.
        social = employee.social if not exempt else to_grosz(employee.social * taxed / gross)
        if _is_small(terms, year):
            tax = pit.flat_tax(taxed, year)
        else:
            tax = pit.scale_advance(
                taxed - social,
                copyright=terms.copyright,
                copyright_costs_claimed=terms.copyright_costs_claimed,
                pit2=terms.pit2,
                year=year,
            )
        tax = attrs.evolve(tax, exempt=exempt, social=social)
    net = gross - employee.social - employee.health - tax.tax
    return BillBreakdown(
        year=year.year,
        gross=gross,
        pension_base=base,
        employee=employee,
        tax=tax,
        employer=employer,
        net=net,
    )

"""Payroll for civil-law contracts: what a bill (rachunek) pays and costs (poland.md §5).

``calculate_bill(BillTerms(...), tax_years.get(2026))`` gives a :class:`BillBreakdown`: ZUS,
health, deductible costs, the PIT advance or flat tax, the net payout and the orderer's cost.
"""

from __future__ import annotations

from cabinet_core.payroll.bill_calculation import (
    DZIELO,
    ZLECENIE,
    BillBreakdown,
    BillTerms,
    calculate_bill,
)
from cabinet_core.payroll.pit import IncomeTax
from cabinet_core.payroll.tax_year import BUILT_IN_TAX_YEARS, TaxYear, TaxYears
from cabinet_core.payroll.zus import (
    EmployeeContributions,
    EmployerContributions,
    InsuranceStatus,
)

__all__ = [
    "BUILT_IN_TAX_YEARS",
    "DZIELO",
    "ZLECENIE",
    "BillBreakdown",
    "BillTerms",
    "EmployeeContributions",
    "EmployerContributions",
    "IncomeTax",
    "InsuranceStatus",
    "TaxYear",
    "TaxYears",
    "calculate_bill",
]

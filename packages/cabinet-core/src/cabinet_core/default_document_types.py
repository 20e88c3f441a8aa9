"""The built-in document types, registered through the same hook a plugin uses."""

from __future__ import annotations

from cabinet_core.doctypes.bills import Bill
from cabinet_core.doctypes.cash_report import CashReport
from cabinet_core.doctypes.contracts import Contract
from cabinet_core.doctypes.correction_request import CorrectionRequest
from cabinet_core.doctypes.invoices import CorrectingInvoice, CostInvoice, Proforma, VatInvoice
from cabinet_core.hookspecs import Register, hookimpl

BUILT_IN_TYPES = (
    CostInvoice,
    Proforma,
    VatInvoice,
    CorrectingInvoice,
    CorrectionRequest,
    Contract,
    Bill,
    CashReport,
)


@hookimpl
def register_document_types(register: Register) -> None:
    """Cost invoice, proforma, VAT invoice, KOR, correction request, contract, bill, cash report."""
    for document_type in BUILT_IN_TYPES:
        register(document_type())

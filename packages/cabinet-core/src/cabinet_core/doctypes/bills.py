"""The rachunek (bill) a contractor issues for each payment under a civil-law contract."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from cabinet_core.doctypes.base import FieldSpec
from cabinet_core.doctypes.common import BaseDocumentType, pl_en, sales_workflow
from cabinet_core.doctypes.contracts import CONTRACT_KIND_FIELD
from cabinet_core.doctypes.invoice_effects import SALES_EFFECTS
from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError


def _money_positive(name: str, amount: object) -> Iterable[FieldError]:
    if isinstance(amount, Decimal) and amount <= 0:
        yield FieldError(
            field=f"extra.{name}",
            code="not_positive",
            message=N_("The amount must be greater than zero."),
        )


class Bill(BaseDocumentType):
    """A bill (rachunek) for work under a civil-law contract; not an invoice, never in KSeF.

    ``related_id`` may point at the :class:`Contract`; its number and date are copied into
    ``extra`` so the bill reads alone.
    """

    key = "bill"
    label = pl_en("Rachunek", "Bill")
    series_pattern = "R/{seq}/{YYYY}"
    workflow = sales_workflow(cancellable_from=("draft", "issued"))
    buyer_required = True
    sendable_states = frozenset({"issued", "sent", "paid"})
    effects = SALES_EFFECTS
    fields = (
        FieldSpec(
            name="contract_number",
            kind="text",
            label=pl_en("Numer umowy", "Contract number"),
            required=True,
        ),
        FieldSpec(
            name="contract_date",
            kind="date",
            label=pl_en("Data umowy", "Contract date"),
            required=True,
        ),
        CONTRACT_KIND_FIELD,
        FieldSpec(name="period_from", kind="date", label=pl_en("Okres od", "Period from")),
        FieldSpec(name="period_to", kind="date", label=pl_en("Okres do", "Period to")),
        FieldSpec(
            name="gross_amount",
            kind="money",
            label=pl_en("Kwota brutto", "Gross amount"),
            required=True,
        ),
        FieldSpec(
            name="hours",
            kind="decimal",
            label=pl_en("Liczba godzin", "Hours worked"),
        ),
    )

    def amount(self, document: Document) -> Decimal | None:
        """The gross amount billed."""
        value = self.value(document, "gross_amount")
        return value if isinstance(value, Decimal) else None

    def check(self, document: Document) -> Iterable[FieldError]:
        """Work is billed after the contract; the period runs forward; the amount is positive."""
        contract_date = self.value(document, "contract_date")
        if isinstance(contract_date, date) and contract_date > document.issue_date:
            yield FieldError(
                field="extra.contract_date",
                code="after_issue_date",
                message=N_("The contract must be dated before the bill."),
            )
        start, end = self.value(document, "period_from"), self.value(document, "period_to")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            yield FieldError(
                field="extra.period_to",
                code="before_start",
                message=N_("The end date cannot be before the start date."),
            )
        yield from _money_positive("gross_amount", self.value(document, "gross_amount"))
        hours = self.value(document, "hours")
        if isinstance(hours, Decimal) and hours <= 0:
            yield FieldError(
                field="extra.hours",
                code="not_positive",
                message=N_("The number of hours must be greater than zero."),
            )

"""The cash report (raport kasowy): one cash desk's receipts and payments over a period.

``extra["entries"]`` lists the period's operations in order, each a mapping with ``date``,
``description``, ``document_number`` and either ``receipt`` (przychód, KP) or ``payment``
(rozchód, KW). The balance may never go negative, checked after every entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core.doctypes.base import FieldSpec, Gender, State, Transition, Workflow
from cabinet_core.doctypes.common import (
    BOOKKEEPING,
    CLIENT_SIDE,
    DRAFT,
    BaseDocumentType,
    parse_field,
    pl_en,
)
from cabinet_core.entities import Document
from cabinet_core.errors import N_, FieldError
from cabinet_core.money import round_money

CASH_REPORT_WORKFLOW = Workflow(
    states=(
        DRAFT,
        State(key="closed", label=pl_en("Zamknięty", "Closed")),
        State(key="approved", label=pl_en("Zatwierdzony", "Approved"), final=True),
    ),
    transitions=(
        Transition(
            key="close",
            source=("draft",),
            target="closed",
            roles=CLIENT_SIDE,
            label=pl_en("Zamknij raport", "Close the report"),
            assigns_number=True,
        ),
        Transition(
            key="approve",
            source=("closed",),
            target="approved",
            roles=BOOKKEEPING,
            label=pl_en("Zatwierdź", "Approve"),
        ),
        Transition(
            key="reopen",
            source=("closed",),
            target="draft",
            roles=BOOKKEEPING,
            label=pl_en("Zwróć do poprawy", "Return for correction"),
            needs_comment=True,
        ),
    ),
)

_DATE = FieldSpec(name="date", kind="date", label=pl_en("Data", "Date"))
_AMOUNT = FieldSpec(name="amount", kind="money", label=pl_en("Kwota", "Amount"))


@attrs.frozen(kw_only=True)
class CashEntry:
    """One operation: money in (``receipt``, KP) or out (``payment``, KW)."""

    on: date
    description: str
    document_number: str
    receipt: Decimal
    payment: Decimal


@attrs.frozen(kw_only=True)
class CashBalance:
    """The report's sums: closing = opening + receipts − payments."""

    opening: Decimal
    receipts: Decimal
    payments: Decimal
    closing: Decimal


class CashReport(BaseDocumentType):
    """A cash report (raport kasowy) for one cash desk, currency and period (at most monthly)."""

    key = "cash_report"
    label = pl_en("Raport kasowy", "Cash report")
    gender = Gender.MASCULINE
    series_pattern = "RK/{seq}/{YYYY}"
    workflow = CASH_REPORT_WORKFLOW
    structured_extra = ("entries",)
    # A closed report waits for the accountant's approval (or to be reopened).
    review_states = frozenset({"closed"})
    fields = (
        FieldSpec(name="cash_desk", kind="text", label=pl_en("Kasa", "Cash desk"), default="KASA"),
        FieldSpec(
            name="period_from", kind="date", label=pl_en("Okres od", "Period from"), required=True
        ),
        FieldSpec(
            name="period_to", kind="date", label=pl_en("Okres do", "Period to"), required=True
        ),
        FieldSpec(
            name="opening_balance",
            kind="money",
            label=pl_en("Saldo początkowe", "Opening balance"),
            required=True,
        ),
    )

    def entries(self, document: Document) -> tuple[CashEntry, ...]:
        """The readable entries of ``document`` (unreadable ones are reported by validate)."""
        entries, _ = self._read_entries(document.extra.get("entries", ()))
        return entries

    def balance(self, document: Document) -> CashBalance:
        """Opening balance, sums of receipts and payments, and the closing balance."""
        opening = self.value(document, "opening_balance") or Decimal(0)
        entries = self.entries(document)
        receipts = sum((entry.receipt for entry in entries), Decimal(0))
        payments = sum((entry.payment for entry in entries), Decimal(0))
        currency = document.currency
        return CashBalance(
            opening=round_money(opening, currency),
            receipts=round_money(receipts, currency),
            payments=round_money(payments, currency),
            closing=round_money(opening + receipts - payments, currency),
        )

    def amount(self, document: Document) -> Decimal | None:
        """The closing balance."""
        return self.balance(document).closing

    def _read_entries(self, raw: Any) -> tuple[tuple[CashEntry, ...], list[FieldError]]:
        errors: list[FieldError] = []
        entries: list[CashEntry] = []
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            return (), [
                FieldError(field="extra.entries", code="invalid", message=N_("Enter a list."))
            ]
        for index, item in enumerate(raw):
            prefix = f"extra.entries.{index}"
            if not isinstance(item, Mapping):
                errors.append(FieldError(field=prefix, code="invalid", message=N_("Enter a row.")))
                continue
            try:
                on = parse_field(_DATE, item.get("date"))
            except ValueError:
                errors.append(
                    FieldError(
                        field=f"{prefix}.date",
                        code="invalid",
                        message=N_("Enter a date as YYYY-MM-DD."),
                    )
                )
                continue
            amounts = {}
            for side in ("receipt", "payment"):
                value = item.get(side)
                if value is None or value == "":
                    amounts[side] = Decimal(0)
                    continue
                try:
                    amounts[side] = parse_field(_AMOUNT, value)
                except ValueError:
                    errors.append(
                        FieldError(
                            field=f"{prefix}.{side}", code="invalid", message=N_("Enter an amount.")
                        )
                    )
            if len(amounts) < 2:
                continue
            if (amounts["receipt"] > 0) == (amounts["payment"] > 0) or min(amounts.values()) < 0:
                errors.append(
                    FieldError(
                        field=prefix,
                        code="one_side",
                        message=N_("Each row is either a receipt or a payment, above zero."),
                    )
                )
                continue
            entries.append(
                CashEntry(
                    on=on,
                    description=str(item.get("description", "")).strip(),
                    document_number=str(item.get("document_number", "")).strip(),
                    receipt=amounts["receipt"],
                    payment=amounts["payment"],
                )
            )
        return tuple(entries), errors

    def check(self, document: Document) -> Iterable[FieldError]:
        """Period forward and inside one month; entries in order inside it; never below zero."""
        start, end = self.value(document, "period_from"), self.value(document, "period_to")
        period_ok = isinstance(start, date) and isinstance(end, date)
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                period_ok = False
                yield FieldError(
                    field="extra.period_to",
                    code="before_start",
                    message=N_("The end date cannot be before the start date."),
                )
            elif (start.year, start.month) != (end.year, end.month):
                yield FieldError(
                    field="extra.period_to",
                    code="longer_than_month",
                    message=N_("A cash report covers at most one calendar month."),
                )
        opening = self.value(document, "opening_balance")
        if isinstance(opening, Decimal) and opening < 0:
            yield FieldError(
                field="extra.opening_balance",
                code="negative",
                message=N_("The cash balance cannot be negative."),
            )
        entries, errors = self._read_entries(document.extra.get("entries", ()))
        yield from errors
        balance = opening if isinstance(opening, Decimal) else Decimal(0)
        previous: date | None = None
        for index, entry in enumerate(entries):
            prefix = f"extra.entries.{index}"
            if (
                period_ok
                and isinstance(start, date)
                and isinstance(end, date)
                and not start <= entry.on <= end
            ):
                yield FieldError(
                    field=f"{prefix}.date",
                    code="outside_period",
                    message=N_("The date is outside the report's period."),
                )
            if previous is not None and entry.on < previous:
                yield FieldError(
                    field=f"{prefix}.date",
                    code="not_chronological",
                    message=N_("Enter the operations in date order."),
                )
            previous = entry.on
            balance += entry.receipt - entry.payment
            if balance < 0:
                yield FieldError(
                    field=prefix,
                    code="negative_balance",
                    message=N_("The cash balance would go below zero here."),
                    params={"balance": str(balance)},
                )

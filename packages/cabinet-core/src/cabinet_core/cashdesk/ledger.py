"""The cash book's arithmetic: slips in chronological order with the running balance.

The order is the slips' date, then the order they were written in (their id; a slip not yet
stored comes last on its day). poland.md §6: the balance may never be negative, checked after
every entry, not only at the end of a period.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from cabinet_core.cashdesk.entities import CashSlip, SlipKind

__all__ = ["Balance", "LedgerLine", "balance_of", "chronological", "first_negative", "running"]


@attrs.frozen(kw_only=True)
class LedgerLine:
    """One slip in the book with the balance after it."""

    slip: CashSlip
    receipt: Decimal
    payment: Decimal
    balance: Decimal


@attrs.frozen(kw_only=True)
class Balance:
    """A period's sums: ``closing`` = ``opening`` + ``receipts`` − ``payments``."""

    opening: Decimal
    receipts: Decimal
    payments: Decimal
    closing: Decimal


def _key(slip: CashSlip) -> tuple[object, int]:
    return (slip.on, slip.id if slip.id is not None else sys.maxsize)


def chronological(slips: Iterable[CashSlip]) -> list[CashSlip]:
    """``slips`` in the book's order."""
    return sorted(slips, key=_key)


def running(opening: Decimal, slips: Iterable[CashSlip]) -> list[LedgerLine]:
    """Every slip in order with the balance after it, starting from ``opening``."""
    balance = opening
    lines = []
    for slip in chronological(slips):
        balance += slip.kind.sign * slip.amount
        lines.append(
            LedgerLine(
                slip=slip,
                receipt=slip.amount if slip.kind is SlipKind.KP else Decimal("0.00"),
                payment=slip.amount if slip.kind is SlipKind.KW else Decimal("0.00"),
                balance=balance,
            )
        )
    return lines


def first_negative(opening: Decimal, slips: Iterable[CashSlip]) -> LedgerLine | None:
    """The first entry after which the balance is below zero, or ``None``."""
    return next((line for line in running(opening, slips) if line.balance < 0), None)


def balance_of(opening: Decimal, lines: Sequence[LedgerLine]) -> Balance:
    """The sums of ``lines`` (one period's) opened at ``opening``."""
    receipts = sum((line.receipt for line in lines), Decimal("0.00"))
    payments = sum((line.payment for line in lines), Decimal("0.00"))
    return Balance(
        opening=opening,
        receipts=receipts,
        payments=payments,
        closing=opening + receipts - payments,
    )

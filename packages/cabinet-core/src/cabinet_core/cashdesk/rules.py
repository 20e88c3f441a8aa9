"""The rules a cash desk's input follows, as field errors: amounts (above zero, whole cents),
dates (not before :data:`EARLIEST`, not in the future), text lengths (the columns'), and the
report periods (poland.md §6: at most a calendar month, continuous, no gaps or overlaps)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from cabinet_core.cashdesk.entities import CashDeskReport
from cabinet_core.errors import N_, FieldError

__all__ = [
    "CENT",
    "EARLIEST",
    "LIMITS",
    "MAX_AMOUNT",
    "amount_errors",
    "date_errors",
    "length_errors",
    "period_errors",
]

#: The earliest date a cash operation may carry (older books are not kept in the cabinet).
EARLIEST = date(2000, 1, 1)
MAX_AMOUNT = Decimal(10) ** 12
CENT = Decimal("0.01")
LIMITS = {"name": 100, "symbol": 20, "party_name": 300, "title": 500}


def length_errors(values: dict[str, str]) -> list[FieldError]:
    """A field error for each text longer than its column (:data:`LIMITS`) allows."""
    return [
        FieldError(
            field=field,
            code="too_long",
            message=N_("Use at most %(max)s characters."),
            params={"max": LIMITS[field]},
        )
        for field, value in values.items()
        if len(value) > LIMITS[field]
    ]


def amount_errors(amount: object, field: str = "amount") -> list[FieldError]:
    """Why ``amount`` cannot be a slip's amount: not a number, not above zero, too large, or
    finer than a cent (an empty list when it can)."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return [FieldError(field=field, code="number", message=N_("Enter an amount."))]
    if amount <= 0:
        return [FieldError(field=field, code="positive", message=N_("Enter an amount above zero."))]
    if amount >= MAX_AMOUNT:
        return [FieldError(field=field, code="too_large", message=N_("The number is too large."))]
    if amount != amount.quantize(CENT):
        return [
            FieldError(
                field=field,
                code="precision",
                message=N_("Use at most %(places)s decimal places."),
                params={"places": 2},
            )
        ]
    return []


def date_errors(on: object, field: str, today: date) -> list[FieldError]:
    """Why ``on`` cannot date a cash operation: not a date, before :data:`EARLIEST`, or after
    ``today``."""
    if not isinstance(on, date):
        return [FieldError(field=field, code="invalid", message=N_("Enter a date as YYYY-MM-DD."))]
    if on < EARLIEST:
        return [
            FieldError(
                field=field,
                code="too_early",
                message=N_("Enter a date from %(date)s on."),
                params={"date": EARLIEST.isoformat()},
            )
        ]
    if on > today:
        return [
            FieldError(
                field=field, code="future", message=N_("A cash operation cannot be in the future.")
            )
        ]
    return []


def period_errors(start: date, end: date, previous: list[CashDeskReport]) -> list[FieldError]:
    """Why a desk's next report cannot cover ``start``..``end`` after its ``previous``
    reports (oldest first): backwards, longer than a calendar month, or not starting the day
    after the last one ends (a gap or an overlap, with the day it must start)."""
    if start < EARLIEST:
        return date_errors(start, "period_from", date.max)
    if end < start:
        return [
            FieldError(
                field="period_to",
                code="before_start",
                message=N_("The end date cannot be before the start date."),
            )
        ]
    if (start.year, start.month) != (end.year, end.month):
        return [
            FieldError(
                field="period_to",
                code="longer_than_month",
                message=N_("A cash report covers at most one calendar month."),
            )
        ]
    if not previous:
        return []
    last = previous[-1]
    expected = last.period_to + timedelta(days=1)
    if start > expected:
        return [
            FieldError(
                field="period_from",
                code="gap",
                message=N_(
                    "The report must start on %(date)s, the day after the previous report "
                    "%(number)s ends: reports of a desk leave no gap."
                ),
                params={"date": expected.isoformat(), "number": last.number},
            )
        ]
    if start < expected:
        return [
            FieldError(
                field="period_from",
                code="overlap",
                message=N_(
                    "The report must start on %(date)s, the day after the previous report "
                    "%(number)s ends: reports of a desk do not overlap."
                ),
                params={"date": expected.isoformat(), "number": last.number},
            )
        ]
    return []

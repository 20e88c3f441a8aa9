"""A VAT settlement period: a month (JPK_V7M) or a quarter."""

from __future__ import annotations

import re
from datetime import date, timedelta

import attrs

__all__ = ["Period"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
#: JPK_V7M(3) is used for settlement periods from February 2026; the registers reach back to
#: the first year the current VAT rates applied.
FIRST_YEAR = 2011


@attrs.frozen(kw_only=True)
class Period:
    """A calendar month (``quarter`` False) or quarter of ``year``; ``number`` is 1-12 or 1-4."""

    year: int
    number: int
    quarter: bool = False

    def __attrs_post_init__(self) -> None:
        limit = 4 if self.quarter else 12
        if not 1 <= self.number <= limit or not FIRST_YEAR <= self.year <= 2100:
            raise ValueError(f"no such period: {self.year}/{self.number}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11`` (a month) or ``2026-Q4`` (a quarter); ``ValueError`` otherwise."""
        text = text.strip()
        if match := _MONTH.match(text):
            return cls(year=int(match[1]), number=int(match[2]))
        if match := _QUARTER.match(text):
            return cls(year=int(match[1]), number=int(match[2]), quarter=True)
        raise ValueError(f"not a period: {text!r}")

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls(year=day.year, number=day.month)

    @property
    def first_day(self) -> date:
        month = (self.number - 1) * 3 + 1 if self.quarter else self.number
        return date(self.year, month, 1)

    @property
    def last_day(self) -> date:
        months = 3 if self.quarter else 1
        month = self.first_day.month + months
        year = self.year + (month - 1) // 12
        return date(year, (month - 1) % 12 + 1, 1) - timedelta(days=1)

    @property
    def months(self) -> tuple[Period, ...]:
        """The months the period covers."""
        if not self.quarter:
            return (self,)
        first = self.first_day.month
        return tuple(Period(year=self.year, number=first + step) for step in range(3))

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}" if self.quarter else f"{self.year}-{self.number:02d}"

"""Money: a ``Decimal`` amount with its ISO 4217 currency, and the one rounding rule.

Polish invoices round to full grosze, a half grosz and more upwards (art. 106e ust. 11 ustawy o
VAT), which is :data:`decimal.ROUND_HALF_UP` at the currency's minor unit. :func:`round_money` is
the only place in the SDK that applies it; everything else calls it by name. Floats are refused
everywhere: a binary float cannot hold 0.1, and a grosz lost that way is a wrong invoice.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import attrs

__all__ = [
    "SUPPORTED_CURRENCIES",
    "CurrencyMismatch",
    "Money",
    "allocate",
    "minor_units",
    "parse_amount",
    "round_money",
]

#: Currencies a document may be issued in (NBP table A covers the foreign ones).
SUPPORTED_CURRENCIES: tuple[str, ...] = ("PLN", "EUR", "USD")

# ISO 4217 minor units that differ from the usual two digits.
_MINOR_UNITS_EXCEPTIONS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"),
        0,
    ),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies met in one operation."""


def _check_currency(currency: str) -> str:
    if not isinstance(currency, str) or not _CURRENCY_CODE.fullmatch(currency):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return currency


def minor_units(currency: str) -> int:
    """How many decimal places the currency's minor unit has (PLN 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS_EXCEPTIONS.get(_check_currency(currency), 2)


@functools.lru_cache(maxsize=256)
def _quantum(currency: str) -> Decimal:
    # Every printed figure is rounded through here; the currency check is worth doing once.
    return Decimal(1).scaleb(-minor_units(currency))


def _as_decimal(value: object, what: str) -> Decimal:
    # bool is an int subclass, and True grosze is surely a bug.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal or an int, not {type(value).__name__}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, not {result}")
    return result


def _amount(value: object) -> Decimal:
    return _as_decimal(value, "amount")


def round_money(amount: Decimal, currency: str = "PLN") -> Decimal:
    """Round to the currency's minor unit, halves away from zero (art. 106e ust. 11).

    This is the SDK's one named rounding rule: every amount printed on a document passes
    through here, exactly once per printed figure.
    """
    return _as_decimal(amount, "amount").quantize(_quantum(currency), rounding=ROUND_HALF_UP)


@attrs.frozen
class Money:
    """An amount in one currency. Arithmetic keeps full precision; :meth:`quantized` rounds.

    Adding, subtracting or comparing amounts in different currencies raises
    :class:`CurrencyMismatch`; a float anywhere raises :class:`TypeError`.
    """

    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(converter=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency`` (the start value for sums)."""
        return cls(Decimal(0), currency)

    @classmethod
    def total(cls, items: Iterable[Money], currency: str) -> Money:
        """The sum of ``items``; an empty iterable gives zero in ``currency``."""
        result = cls.zero(currency)
        for item in items:
            result = result + item
        return result

    def quantized(self) -> Money:
        """This amount rounded to the currency's minor unit with :func:`round_money`."""
        return Money(round_money(self.amount, self.currency), self.currency)

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot mix {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * _as_decimal(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def allocate(money: Money, ratios: Sequence[Decimal | int]) -> list[Money]:
    """Split ``money`` (rounded first) in proportion to ``ratios`` without losing a minor unit.

    Each share is rounded down to the minor unit; the units left over go one each to the shares
    with the largest remainders (earlier shares win ties), so the parts always sum to the
    rounded whole.
    """
    if not ratios:
        raise ValueError("allocate needs at least one ratio")
    # Fractions keep the shares exact; Decimal division would round at 28 digits.
    weights = [Fraction(_as_decimal(ratio, "ratio")) for ratio in ratios]
    if any(weight < 0 for weight in weights):
        raise ValueError("ratios must not be negative")
    total_weight = sum(weights, Fraction(0))
    if total_weight == 0:
        raise ValueError("ratios must not all be zero")
    whole = money.quantized()
    quantum = _quantum(money.currency)
    units = int(abs(whole.amount) / quantum)
    exact = [units * weight / total_weight for weight in weights]
    floors = [math.floor(share) for share in exact]
    leftover = units - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for index in by_remainder[:leftover]:
        floors[index] += 1
    sign = -1 if whole.amount < 0 else 1
    return [Money(sign * count * quantum, money.currency) for count in floors]


_SIGNS = {"-": -1, "\u2212": -1, "+": 1}
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_AMOUNT_FORMS = (
    # 1234,56  1234.56  1234
    re.compile(r"(?P<int>\d+)(?:[.,](?P<frac>\d+))?", re.ASCII),
    # 1 234,56  1 234.56 (the space may be a no-break or thin space; normalised before matching)
    re.compile(r"(?P<int>\d{1,3}(?: \d{3})+)(?:[.,](?P<frac>\d+))?", re.ASCII),
    # 1.234,56 (Polish grouping with dots) and 1,234.56 (English grouping with commas)
    re.compile(r"(?P<int>\d{1,3}(?:\.\d{3})+),(?P<frac>\d+)", re.ASCII),
    re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+)\.(?P<frac>\d+)", re.ASCII),
)


def parse_amount(text: str) -> Decimal:
    """Read an amount as people type it: ``1 234,56``, ``1234.56``, ``1\u00a0234,56``, ``-12,5``.

    Digits may be grouped in threes by spaces (also no-break and thin spaces), or by dots when
    the decimal mark is a comma and vice versa. Anything else (letters, exponents, ``NaN``, two
    decimal marks, a bare sign) raises :class:`ValueError`. The value is returned exactly as
    typed, not rounded.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_amount needs a str, not {type(text).__name__}")
    body = _SPACES.sub(" ", text.strip())
    sign = 1
    if body[:1] in _SIGNS:
        sign = _SIGNS[body[0]]
        body = body[1:].lstrip()
    for form in _AMOUNT_FORMS:
        match = form.fullmatch(body)
        if match is None:
            continue
        digits = re.sub(r"\D", "", match["int"])
        frac = match["frac"]
        value = Decimal(f"{digits}.{frac}" if frac else digits)
        return value if sign > 0 else -value
    raise ValueError(f"not an amount: {text!r}")

"""The two roundings a bill uses, each in one place."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

GROSZ = Decimal("0.01")
ZLOTY = Decimal("1")


def to_grosz(amount: Decimal) -> Decimal:
    """Contributions, health and costs: to the grosz, half up."""
    return amount.quantize(GROSZ, rounding=ROUND_HALF_UP)


def to_zloty(amount: Decimal) -> Decimal:
    """Tax bases and taxes (Ordynacja podatkowa art. 63 § 1): < 50 gr down, ≥ 50 gr up.

    Kept with two decimals (``690.00``) so it adds up with the other amounts."""
    return amount.quantize(ZLOTY, rounding=ROUND_HALF_UP).quantize(GROSZ)

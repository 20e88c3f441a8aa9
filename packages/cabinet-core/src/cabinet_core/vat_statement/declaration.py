"""The VAT-7 declaration part of JPK_V7M(3) (``Deklaracja/PozycjeSzczegolowe``), from the
period's ``K_`` sums (poland.md §4).

Each ``P_`` position is a whole-złoty amount (``TKwotaC``) rounded half-up from the sum of its
same-numbered ``K_`` field; the derived positions are computed from those rounded positions, so
``P_38`` may differ from the rounded ``PodatekNalezny`` by a złoty (the sample: 74.49 → 75).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import attrs

__all__ = ["Declaration", "compute_declaration", "whole_zloty"]

#: Positions copied from the same-numbered ``K_`` sums, in the schema's order.
_FROM_K = (
    "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24",
    "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "360",
)  # fmt: skip
_BASES = ("10", "11", "13", "15", "17", "19", "21", "22", "23", "25", "27", "29", "31")
_TAX_PLUS = ("16", "18", "20", "24", "26", "28", "30", "32", "33", "34")
_TAX_MINUS = ("35", "36", "360")
_PURCHASE = ("40", "41", "42", "43", "44", "45", "46", "47")
#: Pairs the schema writes together (both or neither) and optional lone positions.
PAIRS = {
    "P_15": "P_16",
    "P_17": "P_18",
    "P_19": "P_20",
    "P_23": "P_24",
    "P_25": "P_26",
    "P_27": "P_28",
    "P_29": "P_30",
    "P_31": "P_32",
    "P_40": "P_41",
    "P_42": "P_43",
}
#: The order of the positions the cabinet writes.
ORDER = (
    *(f"P_{n}" for n in _FROM_K),
    "P_37",
    "P_38",
    "P_39",
    *(f"P_{n}" for n in _PURCHASE),
    "P_48",
    "P_51",
    "P_53",
    "P_62",
)
#: Positions the schema requires even when zero.
REQUIRED = frozenset({"P_38", "P_51"})


def whole_zloty(amount: Decimal) -> int:
    """``amount`` rounded half-up to whole złoty (Ordynacja podatkowa art. 63 § 1)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@attrs.frozen(kw_only=True)
class Declaration:
    """The declaration's positions (``P_10`` … ``P_62``) in whole złoty."""

    positions: Mapping[str, int]

    def __getitem__(self, name: str) -> int:
        return self.positions.get(name, 0)

    @property
    def tax_payable(self) -> int:
        """``P_51``: the tax to pay to the tax office."""
        return self["P_51"]

    @property
    def surplus_carried(self) -> int:
        """``P_62``: the surplus of input tax carried to the next period."""
        return self["P_62"]

    def written(self) -> list[tuple[str, int]]:
        """The positions as the XML writes them: required ones always, the rest when non-zero,
        a pair's partner whenever one of the pair is written."""
        present = {name for name, value in self.positions.items() if value != 0} | REQUIRED
        for first, second in PAIRS.items():
            if first in present or second in present:
                present |= {first, second}
        # P_12 and P_14 only exist with their base (P_11, P_13).
        for base, part in (("P_11", "P_12"), ("P_13", "P_14")):
            if part in present:
                present.add(base)
        return [(name, self[name]) for name in ORDER if name in present]


def compute_declaration(
    sales: Mapping[str, Decimal],
    purchases: Mapping[str, Decimal],
    *,
    surplus_from_previous: int = 0,
) -> Declaration:
    """The declaration of a month whose registers sum to ``sales`` and ``purchases``
    (``K_`` field → PLN); ``surplus_from_previous`` is ``P_39`` (the last period's ``P_62``)."""
    if surplus_from_previous < 0:
        raise ValueError("the surplus from the previous period cannot be negative")
    p: dict[str, int] = {}
    for number in _FROM_K:
        p[f"P_{number}"] = whole_zloty(sales.get(f"K_{number}", Decimal(0)))
    for number in _PURCHASE:
        p[f"P_{number}"] = whole_zloty(purchases.get(f"K_{number}", Decimal(0)))
    p["P_37"] = sum(p[f"P_{n}"] for n in _BASES)
    p["P_38"] = sum(p[f"P_{n}"] for n in _TAX_PLUS) - sum(p[f"P_{n}"] for n in _TAX_MINUS)
    p["P_39"] = surplus_from_previous
    p["P_48"] = p["P_39"] + sum(p[f"P_{n}"] for n in ("41", "43", "44", "45", "46", "47"))
    # P_49 (cash-register relief), P_50 (tax withheld) and P_52 are not kept by the cabinet: 0.
    p["P_51"] = max(0, p["P_38"] - p["P_48"])
    p["P_53"] = max(0, p["P_48"] - p["P_38"])
    # No refund is requested (P_54 = 0): the whole surplus is carried forward.
    p["P_62"] = p["P_53"]
    return Declaration(positions=p)

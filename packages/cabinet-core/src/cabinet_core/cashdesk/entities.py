"""The cash desk's records: the desk, its slips (KP, KW) and its reports (raport kasowy).

They know nothing of storage or JSON, like :mod:`cabinet_core.entities`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import attrs

__all__ = ["CashDesk", "CashDeskReport", "CashSlip", "SlipKind"]


class SlipKind(enum.StrEnum):
    """A receipt (KP, *kasa przyjmie*) or a payment (KW, *kasa wyda*)."""

    KP = "KP"
    KW = "KW"

    @property
    def sign(self) -> int:
        """+1 for money in, −1 for money out."""
        return 1 if self is SlipKind.KP else -1


@attrs.frozen(kw_only=True)
class CashDesk:
    """A client's cash desk (kasa) in one currency; a client may keep several (PLN, EUR …).

    ``symbol`` ends every number the desk gives (``KP/3/2026/KASA``), so two desks' slips never
    share a number."""

    id: int | None = None
    client_id: int
    name: str
    symbol: str
    currency: str = "PLN"
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class CashSlip:
    """A cash receipt (KP, *dowód wpłaty*) or payment (KW, *dowód wypłaty*).

    The payer (KP) or recipient (KW) is ``party_name``, taken from the counterparty
    ``counterparty_id`` or typed; ``document_id`` is the invoice the slip pays, if any.
    ``number`` and ``seq`` come from the desk's yearly series and never change."""

    id: int | None = None
    desk_id: int
    client_id: int | None = None
    kind: SlipKind
    number: str | None = None
    seq: int | None = None
    on: date
    party_name: str = ""
    counterparty_id: int | None = None
    title: str = ""
    amount: Decimal
    document_id: int | None = None
    created_by: int | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class CashDeskReport:
    """A cash report (*raport kasowy*) of one desk for one period (at most a calendar month).

    Only the desk's first report states ``initial_balance``; every later report opens with the
    previous one's closing balance, computed from the slips, so it can never drift.
    ``prepared_by``/``approved_by`` are the names printed as *sporządził* / *zatwierdził*."""

    id: int | None = None
    desk_id: int
    client_id: int | None = None
    number: str | None = None
    period_from: date
    period_to: date
    status: str = "open"
    initial_balance: Decimal | None = None
    prepared_by: str = ""
    approved_by: str = ""
    created_at: datetime | None = None

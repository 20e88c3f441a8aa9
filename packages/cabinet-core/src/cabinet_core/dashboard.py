"""What a dashboard shows: counts of what needs attention, each with the list it links to, and
a client's money picture (należności i zobowiązania: receivables and payables).

The values here are computed by ``cabinet.dashboard`` (:mod:`cabinet_core.services.dashboard`)
with SQL counts and sums; no document is loaded to draw a dashboard.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import attrs

from cabinet_core.entities import Role

__all__ = [
    "Attention",
    "ClientAttention",
    "Dashboard",
    "DocumentSelection",
    "MoneyPicture",
]


@attrs.frozen(kw_only=True)
class DocumentSelection:
    """Which documents a count or a sum covers, in the documents list's own filters, so the
    number on the dashboard is the number of rows its link shows.

    ``unpaid`` keeps documents not paid in full; ``due_before`` those whose due date is before
    that day (and not paid in full); ``issued_from``/``issued_to`` bound the issue date.
    """

    doc_types: tuple[str, ...]
    statuses: tuple[str, ...]
    unpaid: bool = False
    due_before: date | None = None
    due_from: date | None = None
    issued_from: date | None = None
    issued_to: date | None = None

    @property
    def empty(self) -> bool:
        """No type or no state: the selection matches nothing."""
        return not self.doc_types or not self.statuses

    def link(self, client_id: int | None = None) -> str:
        """The documents list showing these documents (of one client with ``client_id``); the
        list has no "due from" filter, so a selection of not-yet-overdue documents links to
        all the unpaid ones."""
        params: dict[str, str] = {}
        if client_id is not None:
            params["client_id"] = str(client_id)
        params["doc_type"] = ",".join(self.doc_types)
        params["status"] = ",".join(self.statuses)
        if self.unpaid or self.due_before is not None or self.due_from is not None:
            params["unpaid"] = "1"
        if self.due_before is not None:
            params["due_before"] = self.due_before.isoformat()
        if self.issued_from is not None:
            params["date_from"] = self.issued_from.isoformat()
        if self.issued_to is not None:
            params["date_to"] = self.issued_to.isoformat()
        return "/documents?" + urlencode(params)


@attrs.frozen(kw_only=True)
class Attention:
    """One thing waiting for someone: what (``key``), how many, and where to see them.

    ``key`` is one of ``review`` (documents of ``doc_type`` waiting for the firm), ``returned``
    (back with the client to fix), ``overdue_receivables``, ``overdue_payables``,
    ``ksef_rejected``, ``ksef_waiting``, ``unread_chat``, ``failed_deliveries`` (of
    ``subscriber``: ``mail`` or a CRM backend's name), ``unread_notifications``.
    """

    key: str
    count: int
    link: str
    doc_type: str | None = None
    subscriber: str | None = None


@attrs.frozen(kw_only=True)
class ClientAttention:
    """One client's row on a staff dashboard."""

    client_id: int
    name: str
    review: int
    returned: int
    overdue_receivables: int
    ksef_rejected: int

    @property
    def total(self) -> int:
        return self.review + self.returned + self.overdue_receivables + self.ksef_rejected


@attrs.frozen(kw_only=True)
class MoneyPicture:
    """A client's money in PLN (foreign-currency documents at their stored NBP rate).

    Receivables are its unpaid sales invoices, payables its unpaid cost invoices, in the states
    in which their types count in the VAT registers; "due" ones are not yet overdue. A partly
    paid document counts with its whole gross amount (the cabinet does not keep instalments).
    Sales and costs are the month's net amounts by issue date.
    """

    month: date
    receivables_due: Decimal
    receivables_due_count: int
    receivables_overdue: Decimal
    receivables_overdue_count: int
    payables_due: Decimal
    payables_due_count: int
    payables_overdue: Decimal
    payables_overdue_count: int
    sales_month: Decimal
    costs_month: Decimal
    links: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Dashboard:
    """Everything a home page shows for one user: ``attention`` in display order, the staff
    member's ``clients`` (most waiting first), and a client's ``money``."""

    role: Role
    today: date
    attention: tuple[Attention, ...]
    clients: tuple[ClientAttention, ...] = ()
    money: MoneyPicture | None = None

    def count(self, key: str, *, doc_type: str | None = None) -> int:
        """The total of the ``key`` items (of ``doc_type`` when given)."""
        return sum(
            item.count
            for item in self.attention
            if item.key == key and (doc_type is None or item.doc_type == doc_type)
        )

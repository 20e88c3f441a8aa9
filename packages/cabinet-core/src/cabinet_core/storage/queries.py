"""List queries: pages, the document query and its search.

``search`` on documents matches the number, either party's name (case-insensitive, Polish
letters too), a NIP typed with or without dashes, or the gross amount typed as "1 234,56".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa

from cabinet_core.entities import PaymentMethod, PaymentStatus
from cabinet_core.storage import schema as t
from cabinet_core.storage.mapping import digits, fold

T = TypeVar("T")

#: The orders a document list accepts; ``id`` breaks ties so paging is stable.
DOCUMENT_ORDERS: Mapping[str, tuple[sa.ColumnElement[Any], ...]] = {
    "-issue_date": (t.documents.c.issue_date.desc(), t.documents.c.id.desc()),
    "issue_date": (t.documents.c.issue_date.asc(), t.documents.c.id.asc()),
    "-id": (t.documents.c.id.desc(),),
    "id": (t.documents.c.id.asc(),),
    "number": (t.documents.c.number.asc(), t.documents.c.id.asc()),
    "-number": (t.documents.c.number.desc(), t.documents.c.id.desc()),
    "gross": (t.documents.c.gross.asc(), t.documents.c.id.asc()),
    "-gross": (t.documents.c.gross.desc(), t.documents.c.id.desc()),
}


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a list, with the number of items on all pages."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen(kw_only=True)
class DocumentQuery:
    """What a document list asks for; services fill ``client_ids`` from the actor's access.

    ``search`` matches the number, either party's name or NIP, or the gross amount typed the
    Polish way ("1 234,56") or the plain way ("1234.56"). ``summary=True`` leaves the lines
    out (``lines`` is empty): a list page shows only the header and totals, and so costs at most
    two queries (the page, and its count when the page is full) however many it shows.
    """

    client_ids: tuple[int, ...] | None = None
    doc_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    search: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    counterparty_id: int | None = None
    #: Documents pointing at this one (a proforma's invoice, an invoice's corrections …).
    related_id: int | None = None
    currency: str | None = None
    payment_status: PaymentStatus | None = None
    payment_method: PaymentMethod | None = None
    #: Only documents not paid in full.
    unpaid: bool = False
    #: Only documents due before this day and not paid in full (the overdue ones).
    due_before: date | None = None
    #: Only documents with a greater id (a sync walking the whole cabinet in id order).
    after_id: int | None = None
    order: str = attrs.field(default="-issue_date")
    limit: int = 50
    offset: int = 0
    summary: bool = False

    @order.validator
    def _known_order(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in DOCUMENT_ORDERS:
            raise ValueError(f"unknown order {value!r}; use one of {sorted(DOCUMENT_ORDERS)}")


_AMOUNT = re.compile(r"^-?(\d{1,3}([ \u00a0.]\d{3})+|\d+)([.,]\d{1,2})?$")


def parse_amount(text: str) -> Decimal | None:
    """Read an amount typed into a search box ("123,45", "1 234,56", "1.234,56", "99.9").

    Returns ``None`` when the text is not an amount. A dot followed by exactly three digits is a
    thousands separator, as Polish users type it.
    """
    text = text.strip()
    match = _AMOUNT.match(text)
    if not match:
        return None
    integer, fraction = match.group(1), match.group(3) or ""
    digits = re.sub(r"[ \u00a0.]", "", integer)
    sign = "-" if text.startswith("-") else ""
    try:
        return Decimal(f"{sign}{digits}.{fraction[1:] or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None


def like(column: sa.ColumnElement[Any], term: str) -> sa.ColumnElement[bool]:
    return column.contains(term, autoescape=True)


def page(items: Sequence[T], total: int, limit: int, offset: int) -> Page[T]:
    return Page(items=tuple(items), total=total, limit=limit, offset=offset)


def document_search(term: str) -> sa.ColumnElement[bool]:
    d = t.documents
    conditions = [like(d.c.search_key, fold(term))]
    nip_digits = digits(term)
    # "123-456-78-90" finds the NIP stored as digits.
    if len(nip_digits) >= 3 and re.fullmatch(r"[\d\s-]+", term):
        conditions.append(like(d.c.search_key, nip_digits))
    amount = parse_amount(term)
    if amount is not None:
        conditions.append(d.c.gross == amount)
    return sa.or_(*conditions)

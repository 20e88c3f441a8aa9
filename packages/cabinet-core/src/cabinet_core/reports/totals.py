"""A report's rows and totals, and the columns every view of it (page, API, CSV, XLSX) shows.

Amounts arrive from SQL as sums of grosze or of stored amounts and become ``Decimal`` here,
once. A row is one group in one currency: amounts in different currencies are
never added together; the PLN columns (converted at each document's own NBP rate, the VAT in PLN
as the document stated it) are what adds up across currencies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from cabinet_core.errors import N_
from cabinet_core.reports.query import Grouping, ReportKind, ReportQuery

__all__ = ["Amounts", "Column", "DocumentInfo", "Report", "ReportRow", "columns", "grosze"]

_CENT = Decimal("0.01")


def grosze(value: int | None) -> Decimal | None:
    """Whole grosze (or cents) from SQL as a 2-place ``Decimal``; ``None`` stays ``None``."""
    if value is None:
        return None
    return (Decimal(int(value)) * _CENT).quantize(_CENT)


def amount(value: object) -> Decimal:
    """A sum from SQL (``Decimal`` on PostgreSQL, a float or an integer on SQLite) rounded to
    the grosz, half up."""
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


@attrs.frozen
class Amounts:
    """Net, VAT and gross of one group."""

    net: Decimal
    vat: Decimal
    gross: Decimal


@attrs.frozen(kw_only=True)
class DocumentInfo:
    """What a document-list row shows of its document."""

    id: int
    number: str | None
    doc_type: str
    issue_date: date
    due_date: date | None
    status: str
    payment_status: str
    client: str
    counterparty: str


@attrs.frozen(kw_only=True)
class ReportRow:
    """One group (or a total) in one currency.

    ``paid``/``unpaid``/``overdue`` split the gross amount by payment (a partly paid document
    counts as unpaid: the cabinet does not record how much of it was paid). PLN amounts leave
    out foreign-currency documents without a rate (the report counts them in ``unconverted``).
    The sums a kind of report does not show (payments in an accounts report, net and VAT in a
    payments report) are not computed and read zero.
    """

    key: str
    label: str
    currency: str
    count: int
    amounts: Amounts
    pln: Amounts | None
    paid: Decimal
    unpaid: Decimal
    overdue: Decimal
    paid_pln: Decimal | None
    unpaid_pln: Decimal | None
    overdue_pln: Decimal | None
    document: DocumentInfo | None = None


@attrs.frozen(kw_only=True)
class Report:
    """A report as every view shows it: its columns, rows (at most ``limit`` of them on a
    page: ``truncated`` says there were more; exports have them all), totals per currency and
    the grand total in PLN, and the chart's bars (label → PLN amount)."""

    query: ReportQuery
    columns: tuple[Column, ...]
    rows: tuple[ReportRow, ...]
    truncated: bool
    totals: tuple[ReportRow, ...]
    total_pln: ReportRow
    chart: tuple[tuple[str, Decimal], ...]
    unconverted: int

    def table(self) -> list[list[Any]]:
        """Header-less cells of the rows then the totals, as the exports write them."""
        return [[column.value(row) for column in self.columns] for row in self.all_rows()]

    def all_rows(self) -> tuple[ReportRow, ...]:
        """The rows followed by the totals per currency and the PLN total."""
        return (*self.rows, *self.totals, self.total_pln)


@attrs.frozen
class Column:
    """One column: its key (the API's and the CSV's header), label (an English msgid, the
    page and the XLSX translate it), kind (``text``, ``date``, ``int``, ``money``) and how a
    row gives its value."""

    key: str
    label: str
    kind: str
    value: Callable[[ReportRow], Any]


def _doc(getter: Callable[[DocumentInfo], Any]) -> Callable[[ReportRow], Any]:
    return lambda row: getter(row.document) if row.document is not None else None


def _pln(getter: Callable[[Amounts], Decimal]) -> Callable[[ReportRow], Decimal | None]:
    return lambda row: getter(row.pln) if row.pln is not None else None


_GROUP_LABELS = {
    Grouping.MONTH: N_("Month"),
    Grouping.COUNTERPARTY: N_("Counterparty"),
    Grouping.PRODUCT: N_("Product or service"),
    Grouping.VAT_RATE: N_("VAT rate"),
    Grouping.CLIENT: N_("Client"),
    Grouping.DOCUMENT: N_("Number"),
}


def columns(query: ReportQuery, *, with_client: bool) -> tuple[Column, ...]:
    """The columns of ``query``'s report; ``with_client`` adds the client to a document list
    (staff see documents of several clients)."""
    head: list[Column] = [
        Column("group", _GROUP_LABELS[query.group_by], "text", lambda row: row.label)
    ]
    if query.group_by is Grouping.DOCUMENT:
        head += [
            Column("issue_date", N_("Issued"), "date", _doc(lambda d: d.issue_date)),
            Column("doc_type", N_("Type"), "text", _doc(lambda d: d.doc_type)),
            Column("status", N_("Status"), "text", _doc(lambda d: d.status)),
        ]
        if with_client:
            head.append(Column("client", N_("Client"), "text", _doc(lambda d: d.client)))
        head.append(
            Column("counterparty", N_("Counterparty"), "text", _doc(lambda d: d.counterparty))
        )
        if query.kind is ReportKind.PAYMENTS:
            head.append(Column("due_date", N_("Due"), "date", _doc(lambda d: d.due_date)))
    head += [
        Column("currency", N_("Currency"), "text", lambda row: row.currency),
        Column("count", N_("Documents"), "int", lambda row: row.count),
    ]
    if query.kind is ReportKind.PAYMENTS:
        return (
            *head,
            Column("gross", N_("Gross"), "money", lambda row: row.amounts.gross),
            Column("paid", N_("Paid amount"), "money", lambda row: row.paid),
            Column("unpaid", N_("Unpaid amount"), "money", lambda row: row.unpaid),
            Column("overdue", N_("Overdue amount"), "money", lambda row: row.overdue),
            Column("gross_pln", N_("Gross PLN"), "money", _pln(lambda a: a.gross)),
            Column("unpaid_pln", N_("Unpaid PLN"), "money", lambda row: row.unpaid_pln),
            Column("overdue_pln", N_("Overdue PLN"), "money", lambda row: row.overdue_pln),
        )
    return (
        *head,
        Column("net", N_("Net"), "money", lambda row: row.amounts.net),
        Column("vat", N_("VAT"), "money", lambda row: row.amounts.vat),
        Column("gross", N_("Gross"), "money", lambda row: row.amounts.gross),
        Column("net_pln", N_("Net PLN"), "money", _pln(lambda a: a.net)),
        Column("vat_pln", N_("VAT PLN"), "money", _pln(lambda a: a.vat)),
        Column("gross_pln", N_("Gross PLN"), "money", _pln(lambda a: a.gross)),
    )


def chart_value(query: ReportQuery, row: ReportRow) -> Decimal:
    """What a row adds to its chart bar: the gross in PLN (accounts) or the unpaid gross in
    PLN (payments); a row without a rate adds nothing."""
    if query.kind is ReportKind.PAYMENTS:
        return row.unpaid_pln or Decimal("0.00")
    return row.pln.gross if row.pln is not None else Decimal("0.00")


def chart_bars(query: ReportQuery, rows: Sequence[ReportRow]) -> tuple[tuple[str, Decimal], ...]:
    """One bar per group label (currencies of the same group added in PLN), in row order."""
    bars: dict[str, Decimal] = {}
    for row in rows:
        bars[row.label] = bars.get(row.label, Decimal("0.00")) + chart_value(query, row)
    return tuple(bars.items())

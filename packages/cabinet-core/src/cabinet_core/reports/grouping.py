"""The report's SQL: one aggregate statement per table (SQLAlchemy Core, SQLite and PostgreSQL).

Documents are counted whole (their stored net, VAT and gross, already rounded to grosze; a
correction's are its differences; on SQLite, whose ``NUMERIC`` is a double, the sum is
compensated and then rounded to the grosz, exact far beyond any cabinet's totals) unless the
report works by line (:attr:`ReportQuery.by_line`): then each line counts its own value with
its own rounded VAT (the per-line view of :func:`cabinet_core.vat.line_amounts`), a
correction's "before" lines negatively, summed as whole grosze (``CAST(ROUND(x * 100) AS
BIGINT)``: exact integers on both databases), so a product's or a rate's share may differ by a
grosz from the documents' per-rate totals.

PLN: a PLN document as it is; a foreign one at its stored NBP rate (``fx_rate``), its VAT in PLN
as the document stated it (``vat_pln``); a foreign document without a rate adds nothing in PLN
and is counted in ``unconverted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from cabinet_core.reports.query import Grouping, ReportKind, ReportQuery
from cabinet_core.reports.totals import Amounts, DocumentInfo, ReportRow, amount, grosze
from cabinet_core.storage import schema as t

__all__ = ["Scope", "aggregate", "row_of"]

_d = t.documents
_l = t.document_lines
_c = t.clients

PAID = "paid"
#: The sums each kind of report shows (the others are left out of its statement).
ACCOUNT_MEASURES = ("net", "vat", "gross", "net_pln", "vat_pln", "gross_pln")
PAYMENT_MEASURES = (
    "gross",
    "gross_pln",
    "paid",
    "unpaid",
    "overdue",
    "paid_pln",
    "unpaid_pln",
    "overdue_pln",
)


class Scope:
    """What the service decided before any SQL: the clients (``None``: all), the document
    types the report's ledger covers, today's date (for overdue) and each VAT rate code's
    percent in tenths (23 % → 230)."""

    def __init__(
        self,
        *,
        client_ids: tuple[int, ...] | None,
        doc_types: tuple[str, ...],
        today: date,
        permille: Mapping[str, int],
    ) -> None:
        self.client_ids = client_ids
        self.doc_types = doc_types
        self.today = today
        self.permille = permille


def _grosze(expr: Any) -> sa.ColumnElement[int]:
    return sa.cast(sa.func.round(expr * 100), sa.BigInteger)


def _round(expr: Any) -> sa.ColumnElement[int]:
    return sa.cast(sa.func.round(expr), sa.BigInteger)


def _measures(query: ReportQuery, scope: Scope) -> dict[str, sa.ColumnElement[Any]]:
    """Per source row: a line's net, VAT and gross in whole grosze (computed here, so kept
    exact as integers), or a document's stored amounts; in the document's currency and in
    PLN."""
    foreign = _d.c.currency != "PLN"
    if query.by_line:
        value = _grosze(_l.c.quantity * _l.c.unit_price)
        permille = sa.case(
            {code: tenths for code, tenths in scope.permille.items()},
            value=_l.c.vat_rate,
            else_=0,
        )
        # A real literal keeps both databases from integer division.
        of_net = _round(value * permille / sa.literal_column("1000.0"))
        in_gross = _round(value * permille / (sa.literal_column("1000.0") + permille))
        gross_prices = _d.c.price_mode == "gross"
        vat: sa.ColumnElement[Any] = sa.case((gross_prices, in_gross), else_=of_net)
        net: sa.ColumnElement[Any] = sa.case((gross_prices, value - in_gross), else_=value)
        sign = sa.case((_l.c.before, -1), else_=1)
        net, vat = net * sign, vat * sign
        net_pln = sa.case((foreign, _round(net * _d.c.fx_rate)), else_=net)
        vat_pln = sa.case((foreign, _round(vat * _d.c.fx_rate)), else_=vat)
        gross, gross_pln = net + vat, net_pln + vat_pln
    else:
        # Whole documents: their stored amounts as they are (already rounded to grosze), so the
        # statement costs little more than the bare sums; only the PLN side is converted.
        net, vat, gross = _d.c.net, _d.c.vat, _d.c.gross
        net_in_pln = sa.func.round(_d.c.net * _d.c.fx_rate, 2)
        vat_in_pln = sa.func.coalesce(_d.c.vat_pln, sa.func.round(_d.c.vat * _d.c.fx_rate, 2))
        net_pln = sa.case((foreign, net_in_pln), else_=net)
        vat_pln = sa.case((foreign, vat_in_pln), else_=vat)
        gross_pln = sa.case((foreign, net_in_pln + vat_in_pln), else_=gross)
    paid = _d.c.payment_status == PAID
    overdue = sa.and_(
        _d.c.payment_status != PAID, _d.c.due_date.is_not(None), _d.c.due_date < scope.today
    )
    zero = sa.literal(0)
    return {
        "net": net,
        "vat": vat,
        "gross": gross,
        "net_pln": net_pln,
        "vat_pln": vat_pln,
        "gross_pln": gross_pln,
        "paid": sa.case((paid, gross), else_=zero),
        "unpaid": sa.case((paid, zero), else_=gross),
        "overdue": sa.case((overdue, gross), else_=zero),
        "paid_pln": sa.case((paid, gross_pln), else_=zero),
        "unpaid_pln": sa.case((paid, zero), else_=gross_pln),
        "overdue_pln": sa.case((overdue, gross_pln), else_=zero),
    }


def _filters(query: ReportQuery, scope: Scope) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if scope.client_ids is not None:
        where.append(_d.c.client_id.in_(scope.client_ids) if scope.client_ids else sa.false())
    where.append(_d.c.doc_type.in_(scope.doc_types) if scope.doc_types else sa.false())
    if not query.drafts:
        # Numbered means issued (or registered when received): what the books hold.
        where.append(_d.c.number.is_not(None))
    if query.date_from is not None:
        where.append(_d.c.issue_date >= query.date_from)
    if query.date_to is not None:
        where.append(_d.c.issue_date <= query.date_to)
    if query.statuses:
        where.append(_d.c.status.in_(query.statuses))
    if query.currency is not None:
        where.append(_d.c.currency == query.currency)
    if query.payment_method is not None:
        where.append(_d.c.payment_method == query.payment_method.value)
    if query.payment_status is not None:
        where.append(_d.c.payment_status == query.payment_status.value)
    if query.counterparty_id is not None:
        where.append(_d.c.counterparty_id == query.counterparty_id)
    if query.counterparty is not None:
        where.append(sa.func.lower(_d.c.counterparty_name).contains(query.counterparty.lower()))
    if query.overdue:
        where += [
            _d.c.payment_status != PAID,
            _d.c.due_date.is_not(None),
            _d.c.due_date < scope.today,
        ]
    if query.product_id is not None:
        where.append(_l.c.product_id == query.product_id)
    if query.product is not None:
        where.append(sa.func.lower(_l.c.name).contains(query.product.lower()))
    return where


def _keys(grouping: Grouping | None) -> list[sa.ColumnElement[Any]]:
    """The group's key columns (none: the totals per currency)."""
    if grouping is None:
        return []
    if grouping is Grouping.MONTH:
        return [
            sa.cast(sa.extract("year", _d.c.issue_date), sa.Integer).label("year"),
            sa.cast(sa.extract("month", _d.c.issue_date), sa.Integer).label("month"),
        ]
    if grouping is Grouping.COUNTERPARTY:
        return [
            sa.func.coalesce(_d.c.counterparty_name, "").label("name"),
            sa.func.coalesce(_d.c.counterparty_nip, "").label("nip"),
        ]
    if grouping is Grouping.PRODUCT:
        return [_l.c.name.label("name")]
    if grouping is Grouping.VAT_RATE:
        return [_l.c.vat_rate.label("name")]
    if grouping is Grouping.CLIENT:
        return [_c.c.id.label("client_id"), _c.c.name.label("name")]
    return [
        _d.c.issue_date.label("issue_date"),
        _d.c.id.label("id"),
        _d.c.number.label("number"),
        _d.c.doc_type.label("doc_type"),
        _d.c.status.label("status"),
        _d.c.due_date.label("due_date"),
        _d.c.payment_status.label("payment_status"),
        _c.c.name.label("client"),
        sa.func.coalesce(_d.c.counterparty_name, "").label("counterparty"),
    ]


def aggregate(query: ReportQuery, scope: Scope, grouping: Grouping | None) -> sa.Select[Any]:
    """The statement of one table: a row per group and currency (``grouping`` ``None``: per
    currency, the totals), ordered as the table shows it."""
    measures = _measures(query, scope)
    keys = _keys(grouping)
    source: sa.FromClause = _d
    if query.by_line:
        source = source.join(_l, _l.c.document_id == _d.c.id)
    if grouping in (Grouping.CLIENT, Grouping.DOCUMENT):
        source = source.join(_c, _c.c.id == _d.c.client_id)
    foreign_without_rate = sa.and_(_d.c.currency != "PLN", _d.c.fx_rate.is_(None))
    count: sa.ColumnElement[Any]
    unconverted: sa.ColumnElement[Any]
    if query.by_line:
        # A document has several lines here: count it once.
        count = sa.func.count(sa.distinct(_d.c.id))
        unconverted = sa.func.count(sa.distinct(sa.case((foreign_without_rate, _d.c.id))))
    else:
        count = sa.func.count()
        unconverted = sa.func.sum(sa.case((foreign_without_rate, 1), else_=0))
    # PLN sums skip documents without a rate (NULL), which ``unconverted`` counts.
    wanted = PAYMENT_MEASURES if query.kind is ReportKind.PAYMENTS else ACCOUNT_MEASURES
    columns = [
        *keys,
        _d.c.currency.label("currency"),
        count.label("count"),
        unconverted.label("unconverted"),
        *(sa.func.sum(measures[name]).label(name) for name in wanted),
    ]
    statement = sa.select(*columns).select_from(source).where(*_filters(query, scope))
    group_columns = [*keys, _d.c.currency]
    statement = statement.group_by(*group_columns)
    if grouping is Grouping.DOCUMENT:
        return statement.order_by(_d.c.issue_date, _d.c.id, _d.c.currency)
    return statement.order_by(*keys, _d.c.currency)


def _label(grouping: Grouping | None, row: RowMapping) -> tuple[str, str]:
    """The row's key and label as text."""
    if grouping is None:
        return "total", ""
    if grouping is Grouping.MONTH:
        text = f"{int(row['year']):04d}-{int(row['month']):02d}"
        return text, text
    if grouping is Grouping.COUNTERPARTY:
        name, nip = row["name"], row["nip"]
        return f"{name}|{nip}", f"{name} ({nip})" if nip else name
    if grouping is Grouping.CLIENT:
        return str(row["client_id"]), row["name"]
    if grouping is Grouping.DOCUMENT:
        return str(row["id"]), row["number"] or f"#{row['id']}"
    return row["name"], row["name"]


def row_of(grouping: Grouping | None, row: RowMapping, *, by_line: bool) -> ReportRow:
    """A :class:`ReportRow` from one result row of :func:`aggregate` (``by_line``: the sums
    are whole grosze, else amounts)."""
    key, label = _label(grouping, row)

    # PLN sums leave out foreign documents without a rate (``unconverted`` counts them).
    def money(name: str) -> Any:
        value = row.get(name) or 0
        return grosze(int(value)) if by_line else amount(value)

    pln = money

    document = None
    if grouping is Grouping.DOCUMENT:
        document = DocumentInfo(
            id=int(row["id"]),
            number=row["number"],
            doc_type=row["doc_type"],
            issue_date=row["issue_date"],
            due_date=row["due_date"],
            status=row["status"],
            payment_status=row["payment_status"],
            client=row["client"],
            counterparty=row["counterparty"],
        )
    return ReportRow(
        key=key,
        label=label,
        currency=row["currency"],
        count=int(row["count"]),
        amounts=Amounts(money("net"), money("vat"), money("gross")),
        pln=Amounts(money("net_pln"), money("vat_pln"), money("gross_pln")),
        paid=money("paid"),
        unpaid=money("unpaid"),
        overdue=money("overdue"),
        paid_pln=pln("paid_pln"),
        unpaid_pln=pln("unpaid_pln"),
        overdue_pln=pln("overdue_pln"),
        document=document,
    )

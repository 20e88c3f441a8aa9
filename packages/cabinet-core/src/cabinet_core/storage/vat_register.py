"""What the VAT registers read, and the accountant's marks on documents (table ``vat_marks``).

One statement reads a register: the client's documents of the register's types in the states
that count, whose period date (sale, issue or receipt, each type says which; the issue date
when it is empty) falls in the period; a second reads the GTU codes their lines carry. Rows are
streamed (``yield_per``), never collected, so a month of any size keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.converter import converter
from cabinet_core.entities import Party
from cabinet_core.storage import schema as t
from cabinet_core.vat_statement.registers import RegisterEntry, VatMark, ksef_number_of

__all__ = ["RegisterSelection", "get_mark", "put_mark", "register_entries", "vat_marks"]

vat_marks = sa.Table(
    "vat_marks",
    t.metadata,
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("non_deductible", sa.Boolean, nullable=False),
    sa.Column("fixed_asset", sa.Boolean, nullable=False),
    sa.Column("markers", sa.JSON, nullable=False),
    sa.Column("document_kind", sa.String(10)),
    sa.Column("ksef_marker", sa.String(10)),
    sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("updated_at", t.UtcDateTime, nullable=False),
)

_d = t.documents
_m = vat_marks
_BATCH = 500


@attrs.frozen(kw_only=True)
class RegisterSelection:
    """One document type's part of a register: its key, the states that count and the date
    column that places a document in a period."""

    doc_type: str
    states: frozenset[str]
    basis: str


def _period_filter(
    selections: Sequence[RegisterSelection], start: date, end: date
) -> sa.ColumnElement[bool]:
    parts = []
    for selection in selections:
        column = _d.c[selection.basis]
        day = (
            column if selection.basis == "issue_date" else sa.func.coalesce(column, _d.c.issue_date)
        )
        parts.append(
            sa.and_(
                _d.c.doc_type == selection.doc_type,
                _d.c.status.in_(sorted(selection.states)),
                day >= start,
                day <= end,
            )
        )
    return sa.or_(*parts) if parts else sa.false()


def _mark_of(row: RowMapping) -> VatMark | None:
    if row["m_document_id"] is None:
        return None
    return VatMark(
        document_id=row["m_document_id"],
        client_id=row["client_id"],
        non_deductible=bool(row["non_deductible"]),
        fixed_asset=bool(row["fixed_asset"]),
        markers=tuple(row["markers"] or ()),
        document_kind=row["document_kind"],
        ksef_marker=row["ksef_marker"],
    )


def _party(raw: Any) -> Party | None:
    return None if raw is None else converter.structure(raw, Party)


def register_entries(
    connection: Connection,
    *,
    client_id: int,
    selections: Sequence[RegisterSelection],
    start: date,
    end: date,
    buyer_side: bool,
) -> Iterator[RegisterEntry]:
    """The documents of one register in period order (period date, then number, then id);
    ``buyer_side`` reads the seller as the counterparty (a purchase register)."""
    where = sa.and_(_d.c.client_id == client_id, _period_filter(selections, start, end))
    gtu_query = (
        sa.select(t.document_lines.c.document_id, t.document_lines.c.gtu)
        .where(
            t.document_lines.c.gtu.is_not(None),
            t.document_lines.c.document_id.in_(sa.select(_d.c.id).where(where)),
        )
        .distinct()
    )
    gtu: dict[int, list[str]] = {}
    for document_id, code in connection.execute(gtu_query):
        gtu.setdefault(document_id, []).append(code)
    party = _d.c.seller if buyer_side else _d.c.buyer
    day = sa.func.coalesce(_d.c.sale_date, _d.c.issue_date)
    if buyer_side:
        day = sa.func.coalesce(_d.c.receipt_date, _d.c.issue_date)
    query = (
        sa.select(
            _d.c.id,
            _d.c.client_id,
            _d.c.doc_type,
            _d.c.number,
            _d.c.issue_date,
            _d.c.sale_date,
            _d.c.receipt_date,
            _d.c.currency,
            party.label("party"),
            _d.c.totals,
            _d.c.fx_rate,
            _d.c.fx_table,
            _d.c.fx_date,
            _d.c.extra,
            _m.c.document_id.label("m_document_id"),
            _m.c.non_deductible,
            _m.c.fixed_asset,
            _m.c.markers,
            _m.c.document_kind,
            _m.c.ksef_marker,
        )
        .select_from(_d.outerjoin(_m, _m.c.document_id == _d.c.id))
        .where(where)
        .order_by(day, _d.c.issue_date, _d.c.id)
    )
    result = connection.execution_options(yield_per=_BATCH).execute(query).mappings()
    for row in result:
        extra = row["extra"] or {}
        seller_number = extra.get("seller_invoice_number")
        yield RegisterEntry(
            document_id=row["id"],
            doc_type=row["doc_type"],
            number=row["number"],
            seller_number=seller_number if isinstance(seller_number, str) else None,
            issue_date=row["issue_date"],
            sale_date=row["sale_date"],
            receipt_date=row["receipt_date"],
            currency=row["currency"],
            counterparty=_party(row["party"]),
            totals=row["totals"],
            fx_rate=row["fx_rate"],
            fx_table=row["fx_table"],
            fx_date=row["fx_date"],
            ksef_number=ksef_number_of(extra),
            line_gtu=tuple(gtu.get(row["id"], ())),
            mark=_mark_of(row),
        )


def get_mark(connection: Connection, document_id: int) -> VatMark | None:
    """The accountant's mark on a document, if any."""
    row = (
        connection.execute(sa.select(_m).where(_m.c.document_id == document_id)).mappings().first()
    )
    if row is None:
        return None
    return VatMark(
        document_id=row["document_id"],
        client_id=row["client_id"],
        non_deductible=bool(row["non_deductible"]),
        fixed_asset=bool(row["fixed_asset"]),
        markers=tuple(row["markers"] or ()),
        document_kind=row["document_kind"],
        ksef_marker=row["ksef_marker"],
        updated_by=row["updated_by"],
    )


def put_mark(connection: Connection, mark: VatMark, now: datetime) -> None:
    """Store ``mark`` (replacing the document's earlier one)."""
    values = {
        "client_id": mark.client_id,
        "non_deductible": mark.non_deductible,
        "fixed_asset": mark.fixed_asset,
        "markers": list(mark.markers),
        "document_kind": mark.document_kind,
        "ksef_marker": mark.ksef_marker,
        "updated_by": mark.updated_by,
        "updated_at": now,
    }
    updated = connection.execute(
        sa.update(_m).where(_m.c.document_id == mark.document_id).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(_m).values(document_id=mark.document_id, **values))

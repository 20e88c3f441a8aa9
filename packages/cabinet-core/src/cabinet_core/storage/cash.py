"""The SQL of the cash desks: desks, KP/KW slips and cash reports.

The services call these with their transaction's connection (``tx.connection``), so a slip, its
audit entry and the invoice's payment status commit together. Slips and reports carry their
desk's ``client_id``, read by a join (the desk is the only owner).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.cashdesk.entities import CashDesk, CashDeskReport, CashSlip, SlipKind
from cabinet_core.storage import schema as t

__all__ = [
    "add_desk",
    "add_report",
    "add_slip",
    "balance_before",
    "delete_slip",
    "get_desk",
    "get_report",
    "get_slip",
    "list_desks",
    "list_reports",
    "list_slips",
    "release_number",
    "slips_paying",
    "update_report",
    "update_slip",
]

_desk = t.cash_desks
_report = t.cash_reports
_slip = t.cash_slips


def _desk_from(row: RowMapping) -> CashDesk:
    return CashDesk(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        symbol=row["symbol"],
        currency=row["currency"],
        created_at=row["created_at"],
    )


def _report_from(row: RowMapping) -> CashDeskReport:
    return CashDeskReport(
        id=row["id"],
        desk_id=row["desk_id"],
        client_id=row["client_id"],
        number=row["number"],
        period_from=row["period_from"],
        period_to=row["period_to"],
        status=row["status"],
        initial_balance=row["initial_balance"],
        prepared_by=row["prepared_by"],
        approved_by=row["approved_by"],
        created_at=row["created_at"],
    )


def _slip_from(row: RowMapping) -> CashSlip:
    return CashSlip(
        id=row["id"],
        desk_id=row["desk_id"],
        client_id=row["client_id"],
        kind=SlipKind(row["kind"]),
        number=row["number"],
        seq=row["seq"],
        on=row["on_date"],
        party_name=row["party_name"],
        counterparty_id=row["counterparty_id"],
        title=row["title"],
        amount=row["amount"],
        document_id=row["document_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def _slip_values(slip: CashSlip) -> dict[str, Any]:
    return {
        "kind": slip.kind.value,
        "on_date": slip.on,
        "party_name": slip.party_name,
        "counterparty_id": slip.counterparty_id,
        "title": slip.title,
        "amount": slip.amount,
        "document_id": slip.document_id,
    }


# -- desks
def add_desk(connection: Connection, desk: CashDesk, now: datetime) -> CashDesk:
    """Insert ``desk``; the desk as stored."""
    values = {
        "client_id": desk.client_id,
        "name": desk.name,
        "symbol": desk.symbol,
        "currency": desk.currency,
        "created_at": desk.created_at or now,
    }
    desk_id = connection.execute(sa.insert(_desk).returning(_desk.c.id), values).scalar_one()
    found = get_desk(connection, int(desk_id))
    assert found is not None
    return found


def get_desk(connection: Connection, desk_id: int, *, lock: bool = False) -> CashDesk | None:
    """The desk, or ``None``; ``lock`` holds its row until the transaction ends, so two writers
    of one desk's book take turns (PostgreSQL; SQLite's writer lock already serialises them)
    and neither checks the balance against a book the other is changing."""
    query = sa.select(_desk).where(_desk.c.id == desk_id)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    return _desk_from(row) if row is not None else None


def list_desks(connection: Connection, client_ids: Iterable[int] | None) -> list[CashDesk]:
    """The desks of ``client_ids`` (``None``: every client), by client and symbol."""
    query = sa.select(_desk).order_by(_desk.c.client_id, _desk.c.symbol)
    if client_ids is not None:
        query = query.where(_desk.c.client_id.in_(tuple(client_ids)))
    return [_desk_from(row) for row in connection.execute(query).mappings()]


def symbol_taken(connection: Connection, client_id: int, symbol: str) -> bool:
    """Whether the client already has a desk with ``symbol`` (compared case-blind)."""
    query = sa.select(_desk.c.id).where(
        _desk.c.client_id == client_id, sa.func.lower(_desk.c.symbol) == symbol.lower()
    )
    return connection.execute(query).first() is not None


# -- reports
_REPORT_COLUMNS = (*_report.c, _desk.c.client_id)
_REPORTS = sa.select(*_REPORT_COLUMNS).select_from(_report.join(_desk))


def add_report(connection: Connection, report: CashDeskReport, now: datetime) -> CashDeskReport:
    """Insert ``report``; the report as stored."""
    values = {
        "desk_id": report.desk_id,
        "number": report.number,
        "period_from": report.period_from,
        "period_to": report.period_to,
        "status": report.status,
        "initial_balance": report.initial_balance,
        "prepared_by": report.prepared_by,
        "approved_by": report.approved_by,
        "created_at": report.created_at or now,
    }
    report_id = connection.execute(sa.insert(_report).returning(_report.c.id), values).scalar_one()
    found = get_report(connection, int(report_id))
    assert found is not None
    return found


def update_report(connection: Connection, report: CashDeskReport) -> CashDeskReport:
    """Write the report's state and signatures."""
    assert report.id is not None
    connection.execute(
        sa.update(_report)
        .where(_report.c.id == report.id)
        .values(
            status=report.status,
            prepared_by=report.prepared_by,
            approved_by=report.approved_by,
        )
    )
    found = get_report(connection, report.id)
    assert found is not None
    return found


def get_report(connection: Connection, report_id: int) -> CashDeskReport | None:
    """The report, or ``None``."""
    row = connection.execute(_REPORTS.where(_report.c.id == report_id)).mappings().first()
    return _report_from(row) if row is not None else None


def list_reports(connection: Connection, desk_id: int) -> list[CashDeskReport]:
    """The desk's reports, oldest period first."""
    query = _REPORTS.where(_report.c.desk_id == desk_id).order_by(_report.c.period_from)
    return [_report_from(row) for row in connection.execute(query).mappings()]


# -- slips
_SLIPS = sa.select(*_slip.c, _desk.c.client_id).select_from(_slip.join(_desk))


def add_slip(
    connection: Connection, slip: CashSlip, *, number: str, seq: int, now: datetime
) -> CashSlip:
    """Insert ``slip`` with its ``number``; the slip as stored."""
    values = {
        **_slip_values(slip),
        "desk_id": slip.desk_id,
        "number": number,
        "seq": seq,
        "created_by": slip.created_by,
        "created_at": slip.created_at or now,
    }
    slip_id = connection.execute(sa.insert(_slip).returning(_slip.c.id), values).scalar_one()
    found = get_slip(connection, int(slip_id))
    assert found is not None
    return found


def update_slip(connection: Connection, slip: CashSlip) -> CashSlip:
    """Write what may change on a slip (never its number, kind or desk)."""
    assert slip.id is not None
    values = _slip_values(slip)
    del values["kind"]
    connection.execute(sa.update(_slip).where(_slip.c.id == slip.id).values(**values))
    found = get_slip(connection, slip.id)
    assert found is not None
    return found


def delete_slip(connection: Connection, slip_id: int) -> None:
    """Remove the slip."""
    connection.execute(sa.delete(_slip).where(_slip.c.id == slip_id))


def get_slip(connection: Connection, slip_id: int) -> CashSlip | None:
    """The slip, or ``None``."""
    row = connection.execute(_SLIPS.where(_slip.c.id == slip_id)).mappings().first()
    return _slip_from(row) if row is not None else None


def list_slips(
    connection: Connection,
    desk_id: int,
    *,
    start: date | None = None,
    end: date | None = None,
    kind: SlipKind | None = None,
) -> list[CashSlip]:
    """The desk's slips dated ``start``..``end`` (both optional), in the book's order."""
    query = _SLIPS.where(_slip.c.desk_id == desk_id)
    if start is not None:
        query = query.where(_slip.c.on_date >= start)
    if end is not None:
        query = query.where(_slip.c.on_date <= end)
    if kind is not None:
        query = query.where(_slip.c.kind == kind.value)
    query = query.order_by(_slip.c.on_date, _slip.c.id)
    return [_slip_from(row) for row in connection.execute(query).mappings()]


def balance_before(connection: Connection, desk_id: int, day: date) -> Decimal:
    """Receipts minus payments of the desk's slips dated before ``day`` (one aggregate)."""
    signed = sa.case((_slip.c.kind == SlipKind.KP.value, _slip.c.amount), else_=-_slip.c.amount)
    # Typed as money so both databases hand back a Decimal rounded to the cent (SQLite keeps
    # NUMERIC as REAL and sums in binary; the column type's result processor rounds it back).
    total = sa.type_coerce(sa.func.coalesce(sa.func.sum(signed), 0), t.MONEY)
    query = sa.select(total).where(_slip.c.desk_id == desk_id, _slip.c.on_date < day)
    value = connection.execute(query).scalar_one()
    return Decimal(value).quantize(Decimal("0.01"))


def slips_paying(connection: Connection, document_id: int) -> list[CashSlip]:
    """Every slip linked to the document ``document_id``."""
    query = _SLIPS.where(_slip.c.document_id == document_id).order_by(_slip.c.id)
    return [_slip_from(row) for row in connection.execute(query).mappings()]


def last_seq(connection: Connection, desk_id: int, kind: SlipKind, year: int) -> int:
    """The highest sequence number of the desk's ``kind`` slips dated in ``year`` (0: none)."""
    query = sa.select(sa.func.max(_slip.c.seq)).where(
        _slip.c.desk_id == desk_id,
        _slip.c.kind == kind.value,
        _slip.c.on_date >= date(year, 1, 1),
        _slip.c.on_date <= date(year, 12, 31),
    )
    return int(connection.execute(query).scalar() or 0)


def release_number(connection: Connection, client_id: int, series: str, seq: int) -> None:
    """Give back the last number of ``series`` (``seq``), so the next slip takes it again and
    the series stays gapless after the last slip is removed."""
    s = t.number_series
    connection.execute(
        sa.update(s)
        .where(s.c.client_id == client_id, s.c.series == series, s.c.value == seq)
        .values(value=seq - 1)
    )

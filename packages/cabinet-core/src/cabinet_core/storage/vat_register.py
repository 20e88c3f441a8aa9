"""What the VAT registers read, and the accountant's marks on documents (table ``vat_marks``).

One statement reads a register: the client's documents of the register's types in the states
that count, whose period date (sale, issue or receipt, each type says which; the issue date
when it is empty) falls in the period; a second reads the markers their lines carry (GTU,
procedures, not deductible), and only when some line is marked not deductible a third reads the
values of those documents' lines. Rows are streamed (``yield_per``), never collected, so a month
of any size keeps memory flat.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cabinet_core.entities import Address, Party
from cabinet_core.money import round_money
from cabinet_core.storage import schema as t
from cabinet_core.vat_statement.registers import (
    KSEF_NUMBER_EXTRA,
    RegisterEntry,
    VatMark,
    entry_of,
    ksef_number_of,
)

__all__ = [
    "RegisterSelection",
    "get_mark",
    "put_mark",
    "register_entries",
    "register_params",
    "register_queries",
    "vat_marks",
]

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
#: The register row needs only the counterparty's country of its address.
_ADDRESSES = {None: Address(), "PL": Address()}

# A register reads one client's documents of a type by the date that places them in a period
# (the sale or receipt date, the issue date when that is empty). These indexes, with
# ``ix_documents_list`` (client, type, issue date), let both halves of that condition be index
# ranges instead of a scan of every document the client has.
ix_documents_vat_sale = sa.Index(
    "ix_documents_vat_sale", _d.c.client_id, _d.c.doc_type, _d.c.sale_date
)
ix_documents_vat_receipt = sa.Index(
    "ix_documents_vat_receipt", _d.c.client_id, _d.c.doc_type, _d.c.receipt_date
)
_BATCH = 500
T = TypeVar("T")
#: What tells one state of a register document from another (see :func:`register_entries`).
Stamp = tuple[object, ...]
_ZERO = Decimal("0.00")


@attrs.frozen(kw_only=True)
class RegisterSelection:
    """One document type's part of a register: its key, the states that count and the date
    column that places a document in a period."""

    doc_type: str
    states: frozenset[str]
    basis: str


_CLIENT = sa.bindparam("vat_client_id", type_=sa.Integer)
_START = sa.bindparam("vat_start", type_=sa.Date)
_END = sa.bindparam("vat_end", type_=sa.Date)


def _period_filter(selections: tuple[RegisterSelection, ...]) -> sa.ColumnElement[bool]:
    """``documents.id`` among the register's documents of the period.

    One ``SELECT id`` per type and half of ``coalesce(basis, issue_date)`` in the period, joined
    by ``UNION ALL``: each is a range on one index (``ix_documents_vat_sale``/``_receipt`` or
    ``ix_documents_list``), where a single ``OR`` of them makes the planners scan every document
    of the client.
    """
    parts: list[sa.Select[Any]] = []
    for selection in selections:
        common = (
            _d.c.client_id == _CLIENT,
            _d.c.doc_type == selection.doc_type,
            _d.c.status.in_(sorted(selection.states)),
        )
        if selection.basis == "issue_date":
            parts.append(sa.select(_d.c.id).where(*common, _d.c.issue_date.between(_START, _END)))
            continue
        column = _d.c[selection.basis]
        parts.append(sa.select(_d.c.id).where(*common, column.between(_START, _END)))
        parts.append(
            sa.select(_d.c.id).where(
                *common, column.is_(None), _d.c.issue_date.between(_START, _END)
            )
        )
    if not parts:
        return sa.false()
    return _d.c.id.in_(sa.union_all(*parts))


#: ``raw_decode``, not ``json.loads``: no checks for whitespace around the value (the database's
#: own JSON text has none; each check is a regular expression per row).
_JSON = json.JSONDecoder()


def _json(value: Any) -> Any:
    """A JSON column selected as text (see :func:`_text`); a driver that decodes JSON itself
    (psycopg) hands back the value already."""
    return _JSON.raw_decode(value)[0] if isinstance(value, str) else value


#: An exchange rate's places (``Numeric(12, 6)``), as SQLAlchemy's ``Numeric`` formats them.
_RATE_FORMAT = f"%.{t.RATE.scale}f"


def _rate(value: Any) -> Decimal:
    """An exchange rate as the driver returns it: a ``Decimal`` (psycopg), or the number SQLite
    keeps a ``NUMERIC`` as, taken to the column's places exactly as SQLAlchemy does."""
    if isinstance(value, Decimal):
        return value
    return Decimal(_RATE_FORMAT % value)


def _text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``column`` read as the database's text: SQLAlchemy's SQLite date parsing costs more than
    the whole rest of a register row, and :func:`date.fromisoformat` is exact and fast."""
    return sa.type_coerce(column, sa.String)


@attrs.frozen
class _DriverStatement:
    """A register statement compiled once for one dialect, run as the driver's SQL
    (:meth:`Connection.exec_driver_sql`): the statement is not compiled, its cache not looked up
    and its parameters and result values not processed on every call; the caller decodes the
    few values that need it (dates and JSON read as text, the exchange rate)."""

    sql: str
    #: The parameters' names in the SQL's order (a positional paramstyle), else ``None``.
    order: tuple[str, ...] | None
    #: The values of the parameters fixed by the statement (types, states, JSON paths), as the
    #: driver takes them.
    fixed: Mapping[str, Any]
    #: The parameters given per call (:func:`register_params`) and their bind processors.
    given: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> Any:
        merged = dict(self.fixed)
        for name, process in self.given.items():
            value = values[name]
            merged[name] = value if process is None else process(value)
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        return connection.exec_driver_sql(self.sql, self.parameters(values))


@functools.lru_cache(maxsize=128)
def _driver_statement(dialect: sa.Dialect, query: sa.Select[Any]) -> _DriverStatement:
    compiled = query.compile(dialect=dialect)
    given = register_params(0, date.min, date.min)
    state = compiled.construct_expanded_state(given)
    processors: dict[str, Any] = dict(state.processors)
    for name, bind in compiled.binds.items():
        if name not in processors:
            processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
    fixed = {}
    for name, value in state.parameters.items():
        if name in given:
            continue
        process = processors.get(name)
        fixed[name] = value if process is None else process(value)
    return _DriverStatement(
        sql=state.statement,
        order=tuple(state.positiontup) if compiled.positional and state.positiontup else None,
        fixed=fixed,
        given={name: processors.get(name) for name in given},
    )


def register_params(client_id: int, start: date, end: date) -> dict[str, Any]:
    """The values :func:`register_queries` are executed with."""
    return {"vat_client_id": client_id, "vat_start": start, "vat_end": end}


@functools.lru_cache(maxsize=64)
def register_queries(
    selections: tuple[RegisterSelection, ...], *, buyer_side: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two statements a register needs: its lines' markers, and its documents (with only
    the JSON members a row uses, extracted by the database). Built once per register shape and
    run with :func:`register_params`, so SQLAlchemy's compiled cache serves every later call."""
    where = _period_filter(selections)
    lines = t.document_lines
    gtu_query = sa.select(
        lines.c.document_id, lines.c.gtu, lines.c.procedures, lines.c.non_deductible
    ).where(
        sa.or_(
            lines.c.gtu.is_not(None),
            lines.c.procedures.is_not(None),
            lines.c.non_deductible.is_(True),
        ),
        lines.c.document_id.in_(sa.select(_d.c.id).where(where)),
    )
    party = _d.c.seller if buyer_side else _d.c.buyer
    day = sa.func.coalesce(_d.c.receipt_date if buyer_side else _d.c.sale_date, _d.c.issue_date)
    query = (
        sa.select(
            _d.c.id,
            _d.c.doc_type,
            _d.c.number,
            _text(_d.c.issue_date).label("issue_date"),
            _text(_d.c.sale_date).label("sale_date"),
            _text(_d.c.receipt_date).label("receipt_date"),
            _d.c.currency,
            party["name"].as_string().label("party_name"),
            party["nip"].as_string().label("party_nip"),
            party["vat_eu"].as_string().label("party_vat_eu"),
            party[("address", "country")].as_string().label("party_country"),
            _text(_d.c.totals).label("totals"),
            _d.c.fx_rate,
            _d.c.fx_table,
            _text(_d.c.fx_date).label("fx_date"),
            _d.c.extra["seller_invoice_number"].as_string().label("seller_number"),
            _d.c.extra[KSEF_NUMBER_EXTRA].as_string().label("ksef_number"),
            _m.c.document_id.label("m_document_id"),
            _m.c.client_id.label("m_client_id"),
            _m.c.non_deductible,
            _m.c.fixed_asset,
            _text(_m.c.markers).label("markers"),
            _m.c.document_kind,
            _m.c.ksef_marker,
            _d.c.version,
            _text(_d.c.updated_at).label("updated_at"),
        )
        .select_from(_d.outerjoin(_m, _m.c.document_id == _d.c.id))
        .where(where)
        .order_by(day, _d.c.issue_date, _d.c.id)
    )
    return gtu_query, query


def register_entries(
    connection: Connection,
    *,
    client_id: int,
    selections: Sequence[RegisterSelection],
    start: date,
    end: date,
    buyer_side: bool,
    reuse: Mapping[tuple[int, Stamp], T] | None = None,
) -> Iterator[RegisterEntry | T]:
    """The documents of one register in period order (period date, then issue date, then id);
    ``buyer_side`` reads the seller as the counterparty (a purchase register).

    Each entry carries a ``stamp`` that changes whenever the document or its mark changes (its
    version and ``updated_at``, the mark's values). For a document whose ``(id, stamp)`` is in
    ``reuse`` (what the caller built from it before), that value is yielded instead of a new
    entry: no JSON decoded, no objects built."""
    gtu_query, query = register_queries(tuple(selections), buyer_side=buyer_side)
    params = register_params(client_id, start, end)
    gtu: dict[int, list[str]] = {}
    procedures: dict[int, list[str]] = {}
    marked: set[int] = set()
    dialect = connection.dialect
    for document_id, code, line_procedures, non_deductible_line in _driver_statement(
        dialect, gtu_query
    ).execute(connection, params):
        if code is not None:
            gtu.setdefault(document_id, []).append(code)
        if line_procedures:
            procedures.setdefault(document_id, []).extend(_json(line_procedures))
        if non_deductible_line:
            marked.add(document_id)
    shares = _non_deductible_shares(connection, marked) if buyer_side and marked else {}
    result = _driver_statement(dialect, query).execute(
        connection.execution_options(yield_per=_BATCH), params
    )
    # A counterparty appears on many rows of a month: one Party per distinct one.
    parties: dict[tuple[Any, ...], Party] = {}
    fromiso = date.fromisoformat
    # Unpacked in the select's column order: attribute access per column costs more here than
    # everything the row's arithmetic does. The batch size is given: without it a driver
    # statement's partitions on SQLite are one row each (a fetch call per row).
    for (
        document_id,
        doc_type,
        number,
        issue_date,
        sale_date,
        receipt_date,
        currency,
        party_name,
        party_nip,
        party_vat_eu,
        party_country,
        totals,
        fx_rate,
        fx_table,
        fx_date,
        seller_number,
        ksef_number,
        mark_id,
        mark_client_id,
        non_deductible,
        fixed_asset,
        markers,
        document_kind,
        ksef_marker,
        version,
        updated_at,
    ) in itertools.chain.from_iterable(result.partitions(_BATCH)):
        # The mark's own values, not its time: a pinned clock must not hide a change.
        stamp = (
            version,
            updated_at,
            mark_id,
            non_deductible,
            fixed_asset,
            markers if markers is None or isinstance(markers, str) else repr(markers),
            document_kind,
            ksef_marker,
        )
        if reuse is not None:
            known = reuse.get((document_id, stamp))
            if known is not None:
                yield known
                continue
        party_key = (party_name, party_nip, party_vat_eu, party_country)
        party = parties.get(party_key)
        if party is None and party_name is not None:
            party = parties[party_key] = Party(
                name=party_name,
                nip=party_nip,
                vat_eu=party_vat_eu,
                address=_ADDRESSES.get(party_country) or Address(country=party_country or "PL"),
            )
        yield entry_of(
            {
                "document_id": document_id,
                "doc_type": doc_type,
                "number": number,
                "seller_number": seller_number,
                # Dates are selected as text (SQLite's; PostgreSQL hands back dates), decoded
                # here inline: a helper's four calls a row were a tenth of the loop.
                "issue_date": fromiso(issue_date) if issue_date.__class__ is str else issue_date,
                "sale_date": fromiso(sale_date) if sale_date.__class__ is str else sale_date,
                "receipt_date": fromiso(receipt_date)
                if receipt_date.__class__ is str
                else receipt_date,
                "currency": currency,
                "counterparty": party,
                "totals": _json(totals),
                "fx_rate": fx_rate if fx_rate is None else _rate(fx_rate),
                "fx_table": fx_table,
                "fx_date": fromiso(fx_date) if fx_date.__class__ is str else fx_date,
                "ksef_number": ksef_number_of(ksef_number),
                "stamp": stamp,
                "line_gtu": tuple(gtu.get(document_id, ())),
                "line_procedures": tuple(procedures.get(document_id, ())),
                "non_deductible_share": shares.get(document_id),
                "mark": None
                if mark_id is None
                else VatMark(
                    document_id=mark_id,
                    client_id=mark_client_id,
                    non_deductible=bool(non_deductible),
                    fixed_asset=bool(fixed_asset),
                    markers=tuple(_json(markers) or ()),
                    document_kind=document_kind,
                    ksef_marker=ksef_marker,
                ),
            }
        )


_LINE_VALUES = (
    sa.select(
        t.document_lines.c.document_id,
        t.document_lines.c.vat_rate,
        t.document_lines.c.quantity,
        t.document_lines.c.unit_price,
        t.document_lines.c.before,
        t.document_lines.c.non_deductible,
    )
    .where(t.document_lines.c.document_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(t.document_lines.c.document_id)
)


def _non_deductible_shares(
    connection: Connection, document_ids: set[int]
) -> dict[int, dict[str, Decimal]]:
    """Per document and VAT rate, the marked lines' share of the rate's line values (a
    correction's "before" lines count negative, as its totals are differences)."""
    marked: dict[int, dict[str, Decimal]] = {}
    every: dict[int, dict[str, Decimal]] = {}
    for document_id, rate, quantity, unit_price, before, non_deductible in connection.execute(
        _LINE_VALUES, {"ids": sorted(document_ids)}
    ):
        value = round_money(Decimal(quantity) * Decimal(unit_price), "PLN")
        if before:
            value = -value
        rates = every.setdefault(document_id, {})
        rates[rate] = rates.get(rate, _ZERO) + value
        if non_deductible:
            chosen = marked.setdefault(document_id, {})
            chosen[rate] = chosen.get(rate, _ZERO) + value
    shares: dict[int, dict[str, Decimal]] = {}
    for document_id, rates in marked.items():
        found = {}
        for rate, value in rates.items():
            total = every[document_id][rate]
            if total != 0 and value != 0:
                found[rate] = min(value / total, Decimal(1))
        shares[document_id] = found
    return shares


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

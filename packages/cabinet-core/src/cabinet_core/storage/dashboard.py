"""The SQL of the dashboards: counts and PLN sums per client over document selections, failed
deliveries per subscriber, unread notifications by kind, KSeF submissions by state.

Every function is one aggregate statement; none reads a document row into Python.
``tx.dashboard`` (:class:`DashboardQueries`) binds them to a transaction's connection.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cabinet_core.dashboard import DocumentSelection
from cabinet_core.entities import PaymentStatus
from cabinet_core.storage import schema as t

__all__ = ["DashboardQueries", "selection_condition"]

_d = t.documents


def selection_condition(selection: DocumentSelection) -> sa.ColumnElement[bool]:
    """The WHERE of ``selection`` (the same rules the documents list applies)."""
    parts: list[sa.ColumnElement[bool]] = [
        _d.c.doc_type.in_(selection.doc_types),
        _d.c.status.in_(selection.statuses),
    ]
    if selection.unpaid or selection.due_before is not None or selection.due_from is not None:
        parts.append(_d.c.payment_status != PaymentStatus.PAID.value)
    if selection.due_before is not None:
        parts.append(_d.c.due_date < selection.due_before)
    if selection.due_from is not None:
        # Not overdue: no due date yet, or one from this day on.
        parts.append(sa.or_(_d.c.due_date.is_(None), _d.c.due_date >= selection.due_from))
    if selection.issued_from is not None:
        parts.append(_d.c.issue_date >= selection.issued_from)
    if selection.issued_to is not None:
        parts.append(_d.c.issue_date <= selection.issued_to)
    return sa.and_(*parts)


def _pln(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``column`` in PLN: as it is for PLN documents, times the stored rate for others (a
    foreign document without a rate adds nothing rather than a wrong amount)."""
    return sa.case((_d.c.currency == "PLN", column), else_=column * _d.c.fx_rate)


@functools.lru_cache(maxsize=32)
def _sums_query(live: tuple[tuple[str, tuple[DocumentSelection, str]], ...]) -> sa.Select[Any]:
    """The statement of :meth:`DashboardQueries.document_sums`, the client a bound parameter.
    Every client's home page asks the same selections (they change with the day), and building
    the expression costs more than running it: built once per set of selections."""
    conditions = {name: selection_condition(sel) for name, (sel, _) in live}
    columns: list[sa.ColumnElement[Any]] = []
    for name, (_, amount) in live:
        cond = conditions[name]
        columns.append(sa.func.sum(sa.case((cond, 1), else_=0)).label(f"{name}_n"))
        columns.append(sa.func.sum(sa.case((cond, _pln(_d.c[amount])), else_=0)).label(f"{name}_s"))
    return sa.select(*columns).where(
        _d.c.client_id == sa.bindparam("client_id"), sa.or_(*conditions.values())
    )


_n = t.notifications
#: Asked on every page (the header's count): built once, not per call.
_UNREAD = (
    sa.select(_n.c.kind, sa.func.count())
    .where(_n.c.user_id == sa.bindparam("_user_id"), _n.c.read_at.is_(None))
    .group_by(_n.c.kind)
)


class DashboardQueries:
    """The dashboard statements bound to one transaction's connection (``tx.dashboard``)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def document_counts(
        self,
        selections: Mapping[str, DocumentSelection],
        *,
        client_ids: Sequence[int] | None,
    ) -> dict[int, dict[str, int]]:
        """Client id → selection name → how many of the client's documents it matches, for
        the clients ``client_ids`` (``None``: every client); clients with none are absent."""
        live = {name: sel for name, sel in selections.items() if not sel.empty}
        if not live or (client_ids is not None and not client_ids):
            return {}
        conditions = {name: selection_condition(sel) for name, sel in live.items()}
        columns = [
            sa.func.sum(sa.case((cond, 1), else_=0)).label(name)
            for name, cond in conditions.items()
        ]
        query = (
            sa.select(_d.c.client_id, *columns)
            .where(sa.or_(*conditions.values()))
            .group_by(_d.c.client_id)
        )
        if client_ids is not None:
            query = query.where(_d.c.client_id.in_(list(client_ids)))
        result: dict[int, dict[str, int]] = {}
        for row in self.connection.execute(query).mappings():
            result[int(row["client_id"])] = {name: int(row[name] or 0) for name in live}
        return result

    def document_sums(
        self,
        selections: Mapping[str, tuple[DocumentSelection, str]],
        *,
        client_id: int,
    ) -> dict[str, tuple[int, Decimal]]:
        """Selection name → (count, sum in PLN of the named amount column, ``gross`` or
        ``net``) over one client's documents; every name is present (zero when none)."""
        result: dict[str, tuple[int, Decimal]] = {name: (0, Decimal(0)) for name in selections}
        live = {name: pair for name, pair in selections.items() if not pair[0].empty}
        if not live:
            return result
        query = _sums_query(tuple(live.items()))
        row = self.connection.execute(query, {"client_id": client_id}).mappings().one()
        for name in live:
            total = row[f"{name}_s"]
            result[name] = (int(row[f"{name}_n"] or 0), Decimal(str(total or 0)))
        return result

    def failed_deliveries(self) -> dict[str, int]:
        """Subscriber → how many deliveries failed for good (waiting for a retry by hand)."""
        d = t.outbox_deliveries
        query = (
            sa.select(d.c.subscriber, sa.func.count())
            .where(d.c.failed_at.is_not(None))
            .group_by(d.c.subscriber)
            .order_by(d.c.subscriber)
        )
        return {str(sub): int(n) for sub, n in self.connection.execute(query)}

    def unread_notifications(self, user_id: int) -> dict[str, int]:
        """Notification kind → how many of the user's are unread (every page's header)."""
        rows = self.connection.execute(_UNREAD, {"_user_id": user_id})
        return {str(kind): int(count) for kind, count in rows}

    def ksef_states(self, *, client_ids: Sequence[int] | None) -> dict[str, int]:
        """KSeF submission state → how many, over ``client_ids`` (``None``: every client)."""
        s = t.ksef_submissions
        query = sa.select(s.c.state, sa.func.count()).group_by(s.c.state)
        if client_ids is not None:
            if not client_ids:
                return {}
            query = query.where(s.c.client_id.in_(list(client_ids)))
        return {str(state): int(count) for state, count in self.connection.execute(query)}

    def client_names(self, client_ids: Collection[int]) -> dict[int, str]:
        """Client id → name."""
        if not client_ids:
            return {}
        c = t.clients
        query = sa.select(c.c.id, c.c.name).where(c.c.id.in_(list(client_ids)))
        return {int(i): str(name) for i, name in self.connection.execute(query)}

    def first_clients(self, limit: int) -> dict[int, str]:
        """The first ``limit`` active clients by name: id → name."""
        c = t.clients
        query = (
            sa.select(c.c.id, c.c.name)
            .where(c.c.active.is_(True))
            .order_by(c.c.name_key, c.c.id)
            .limit(limit)
        )
        return {int(i): str(name) for i, name in self.connection.execute(query)}

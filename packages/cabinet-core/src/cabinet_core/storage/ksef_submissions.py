"""The SQL of KSeF: submissions per document, the clients with KSeF on, received KSeF numbers.

:class:`cabinet_core.storage.Tx` exposes these as ``*_ksef_*`` methods; the services and the
KSeF port call those, never this module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.converter import converter, json_value
from cabinet_core.ksef.submission import (
    KsefListItem,
    KsefMode,
    KsefOfflineMode,
    KsefState,
    KsefSubmission,
    VerificationCode,
)
from cabinet_core.storage import schema as t

__all__ = [
    "KsefTables",
    "add_received",
    "enabled",
    "enabled_client_ids",
    "find_by_number",
    "get",
    "known_numbers",
    "listing",
    "put",
    "received_document",
    "set_enabled",
    "set_upo",
    "upo",
    "waiting",
]

_s = t.ksef_submissions
_c = t.ksef_clients
_r = t.ksef_received
_l = t.ksef_leases
#: Every column but the UPO bytes, plus whether they are there (lists never carry the bytes).
_COLUMNS = (*(c for c in _s.c if c.name != "upo"), _s.c.upo.is_not(None).label("has_upo"))


def _from_row(row: RowMapping) -> KsefSubmission:
    return KsefSubmission(
        document_id=row["document_id"],
        client_id=row["client_id"],
        state=KsefState(row["state"]),
        mode=KsefMode(row["mode"]),
        invoice_hash=row["invoice_hash"],
        session_reference=row["session_reference"],
        invoice_reference=row["invoice_reference"],
        ksef_number=row["ksef_number"],
        acquired_at=row["acquired_at"],
        has_upo=bool(row["has_upo"]),
        error_code=row["error_code"],
        error_description=row["error_description"],
        error_details=tuple(str(d) for d in row["error_details"] or ()),
        attempts=row["attempts"],
        verification=tuple(
            converter.structure(code, VerificationCode) for code in row["verification"] or ()
        ),
        queued_at=row["queued_at"],
        sent_at=row["sent_at"],
        updated_at=row["updated_at"],
        offline_mode=KsefOfflineMode(row["offline_mode"]) if row["offline_mode"] else None,
        send_by=row["send_by"],
        corrected_hash=row["corrected_hash"],
    )


def _values(submission: KsefSubmission, now: datetime) -> dict[str, Any]:
    return {
        "client_id": submission.client_id,
        "state": submission.state.value,
        "mode": submission.mode.value,
        "invoice_hash": submission.invoice_hash,
        "session_reference": submission.session_reference,
        "invoice_reference": submission.invoice_reference,
        "ksef_number": submission.ksef_number,
        "acquired_at": submission.acquired_at,
        "error_code": submission.error_code,
        "error_description": submission.error_description,
        "error_details": list(submission.error_details),
        "attempts": submission.attempts,
        "verification": json_value(list(submission.verification)),
        "queued_at": submission.queued_at,
        "sent_at": submission.sent_at,
        "updated_at": now,
        "offline_mode": submission.offline_mode.value if submission.offline_mode else None,
        "send_by": submission.send_by,
        "corrected_hash": submission.corrected_hash,
    }


def get(connection: Connection, document_id: int) -> KsefSubmission | None:
    """The submission of ``document_id``, or ``None``."""
    row = (
        connection.execute(sa.select(*_COLUMNS).where(_s.c.document_id == document_id))
        .mappings()
        .first()
    )
    return _from_row(row) if row is not None else None


def put(connection: Connection, submission: KsefSubmission, now: datetime) -> KsefSubmission:
    """Insert or replace the submission of its document (the UPO stays); as stored."""
    values = _values(submission, now)
    updated = connection.execute(
        sa.update(_s).where(_s.c.document_id == submission.document_id).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(_s).values(document_id=submission.document_id, **values))
    stored = get(connection, submission.document_id)
    assert stored is not None
    return stored


def upo(connection: Connection, document_id: int) -> bytes | None:
    """The stored UPO of ``document_id``."""
    value = connection.execute(
        sa.select(_s.c.upo).where(_s.c.document_id == document_id)
    ).scalar_one_or_none()
    return bytes(value) if value is not None else None


def set_upo(connection: Connection, document_id: int, content: bytes) -> None:
    """Store the UPO of ``document_id`` (its submission exists)."""
    connection.execute(sa.update(_s).where(_s.c.document_id == document_id).values(upo=content))


def find_by_number(connection: Connection, ksef_number: str) -> KsefSubmission | None:
    """The submission holding ``ksef_number``, if any."""
    row = (
        connection.execute(sa.select(*_COLUMNS).where(_s.c.ksef_number == ksef_number).limit(1))
        .mappings()
        .first()
    )
    return _from_row(row) if row is not None else None


def waiting(
    connection: Connection,
    states: Collection[KsefState],
    *,
    client_id: int | None,
    limit: int,
) -> list[KsefSubmission]:
    """Submissions in ``states``, least recently changed first (what the plugin polls)."""
    query = sa.select(*_COLUMNS).where(_s.c.state.in_([s.value for s in states]))
    if client_id is not None:
        query = query.where(_s.c.client_id == client_id)
    query = query.order_by(_s.c.updated_at, _s.c.document_id).limit(limit)
    return [_from_row(row) for row in connection.execute(query).mappings()]


def listing(
    connection: Connection,
    *,
    states: Collection[KsefState],
    client_ids: Sequence[int] | None,
    limit: int,
    offset: int,
) -> tuple[list[KsefListItem], int]:
    """Submissions in ``states`` of ``client_ids`` (``None``: every client), most recently
    changed first, each with its document's number, type and state and its client's name; and
    how many there are."""
    d, c = t.documents, t.clients
    where: list[sa.ColumnElement[bool]] = [_s.c.state.in_([s.value for s in states])]
    if client_ids is not None:
        where.append(_s.c.client_id.in_(list(client_ids)))
    query = (
        sa.select(
            *_COLUMNS,
            d.c.number,
            d.c.doc_type,
            d.c.status,
            d.c.issue_date,
            d.c.counterparty_name,
            c.c.name.label("client_name"),
        )
        .select_from(_s.join(d, d.c.id == _s.c.document_id).join(c, c.c.id == _s.c.client_id))
        .where(*where)
        .order_by(_s.c.updated_at.desc(), _s.c.document_id.desc())
    )
    rows = list(connection.execute(query.limit(limit).offset(offset)).mappings())
    total = int(
        connection.execute(sa.select(sa.func.count()).select_from(_s).where(*where)).scalar_one()
    )
    items = [
        KsefListItem(
            submission=_from_row(row),
            number=row["number"],
            doc_type=row["doc_type"],
            status=row["status"],
            issue_date=row["issue_date"],
            client_name=row["client_name"],
            buyer_name=row["counterparty_name"] or "",
        )
        for row in rows
    ]
    return items, total


def enabled(connection: Connection, client_id: int) -> bool:
    """Whether the client's invoices go to KSeF."""
    value = connection.execute(
        sa.select(_c.c.enabled).where(_c.c.client_id == client_id)
    ).scalar_one_or_none()
    return bool(value)


def set_enabled(connection: Connection, client_id: int, on: bool, now: datetime) -> bool:
    """Switch KSeF on or off for the client; whether that changed anything."""
    if enabled(connection, client_id) == on:
        return False
    updated = connection.execute(
        sa.update(_c).where(_c.c.client_id == client_id).values(enabled=on, updated_at=now)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(_c).values(client_id=client_id, enabled=on, updated_at=now))
    return True


def enabled_client_ids(connection: Connection) -> list[int]:
    """The clients with KSeF on, in id order."""
    query = sa.select(_c.c.client_id).where(_c.c.enabled.is_(True)).order_by(_c.c.client_id)
    return list(connection.scalars(query))


def known_numbers(connection: Connection, client_id: int, numbers: Iterable[str]) -> frozenset[str]:
    """Which of ``numbers`` the client already received."""
    wanted = list(dict.fromkeys(numbers))
    found: set[str] = set()
    # In chunks: a metadata page holds up to 250 numbers, and SQLite caps bound parameters.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = sa.select(_r.c.ksef_number).where(
            _r.c.client_id == client_id, _r.c.ksef_number.in_(chunk)
        )
        found.update(connection.scalars(query))
    return frozenset(found)


def received_document(connection: Connection, client_id: int, ksef_number: str) -> int | None:
    """The document a received KSeF number was imported as (``None``: unknown, or deleted)."""
    return connection.execute(
        sa.select(_r.c.document_id).where(
            _r.c.client_id == client_id, _r.c.ksef_number == ksef_number
        )
    ).scalar_one_or_none()


def add_received(
    connection: Connection, client_id: int, ksef_number: str, document_id: int, now: datetime
) -> None:
    """Remember that ``ksef_number`` was imported as ``document_id``."""
    connection.execute(
        sa.insert(_r).values(
            client_id=client_id, ksef_number=ksef_number, document_id=document_id, imported_at=now
        )
    )


def take_lease(
    connection: Connection, client_id: int, holder: str, until: datetime, now: datetime
) -> bool:
    """Take (or renew) the client's lease for ``holder`` until ``until``; whether it is
    ``holder``'s now. One conditional UPDATE, else an INSERT that yields to a concurrent one:
    on PostgreSQL the row lock serialises two takers and READ COMMITTED re-reads the winner's
    row, so two processes never both get it."""
    renewed = connection.execute(
        sa.update(_l)
        .where(_l.c.client_id == client_id, sa.or_(_l.c.until <= now, _l.c.holder == holder))
        .values(holder=holder, until=until)
    )
    if renewed.rowcount == 1:
        return True
    values = {"client_id": client_id, "holder": holder, "until": until}
    statement: sa.Insert
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = (
            postgresql.insert(_l)
            .values(values)
            .on_conflict_do_nothing(index_elements=["client_id"])
        )
    else:
        from sqlalchemy.dialects import sqlite

        statement = (
            sqlite.insert(_l).values(values).on_conflict_do_nothing(index_elements=["client_id"])
        )
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT here.
    return connection.execute(statement.returning(_l.c.client_id)).first() is not None


def release_lease(connection: Connection, client_id: int, holder: str) -> None:
    """Give the client's lease up, if ``holder`` has it."""
    connection.execute(sa.delete(_l).where(_l.c.client_id == client_id, _l.c.holder == holder))


class KsefTables:
    """The functions above bound to one transaction's connection and the store's clock
    (``tx.ksef``)."""

    def __init__(self, connection: Connection, clock: Callable[[], datetime]) -> None:
        self.connection = connection
        self.clock = clock

    def get(self, document_id: int) -> KsefSubmission | None:
        return get(self.connection, document_id)

    def put(self, submission: KsefSubmission) -> KsefSubmission:
        return put(self.connection, submission, self.clock())

    def upo(self, document_id: int) -> bytes | None:
        return upo(self.connection, document_id)

    def set_upo(self, document_id: int, content: bytes) -> None:
        set_upo(self.connection, document_id, content)

    def find_by_number(self, ksef_number: str) -> KsefSubmission | None:
        return find_by_number(self.connection, ksef_number)

    def waiting(
        self, states: Collection[KsefState], *, client_id: int | None, limit: int
    ) -> list[KsefSubmission]:
        return waiting(self.connection, states, client_id=client_id, limit=limit)

    def listing(
        self,
        *,
        states: Collection[KsefState],
        client_ids: Sequence[int] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[KsefListItem], int]:
        return listing(
            self.connection, states=states, client_ids=client_ids, limit=limit, offset=offset
        )

    def enabled(self, client_id: int) -> bool:
        return enabled(self.connection, client_id)

    def set_enabled(self, client_id: int, on: bool) -> bool:
        return set_enabled(self.connection, client_id, on, self.clock())

    def enabled_client_ids(self) -> list[int]:
        return enabled_client_ids(self.connection)

    def take_lease(self, client_id: int, holder: str, until: datetime) -> bool:
        return take_lease(self.connection, client_id, holder, until, self.clock())

    def release_lease(self, client_id: int, holder: str) -> None:
        release_lease(self.connection, client_id, holder)

    def known_numbers(self, client_id: int, numbers: Iterable[str]) -> frozenset[str]:
        return known_numbers(self.connection, client_id, numbers)

    def received_document(self, client_id: int, ksef_number: str) -> int | None:
        return received_document(self.connection, client_id, ksef_number)

    def add_received(self, client_id: int, ksef_number: str, document_id: int) -> None:
        add_received(self.connection, client_id, ksef_number, document_id, self.clock())

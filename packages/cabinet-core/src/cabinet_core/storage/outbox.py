"""The outbox as a per-subscriber queue: one message, one delivery row per recipient.

A message (table ``outbox``) is written with the change it reports; in the same transaction it
gets one row in ``outbox_deliveries`` per subscriber that must receive it (each active CRM
backend but the one it came from, or the mail delivery). Every delivery has its own attempts,
backoff, lease and failure, so a CRM that refuses a message never makes another CRM receive it
again and never holds up the mail.

Every statement here works on a whole batch: a claim is one ``SELECT … FOR UPDATE SKIP LOCKED``
(PostgreSQL) plus one ``UPDATE … RETURNING`` and one read of the messages, and marking a batch
delivered is one ``UPDATE``. :class:`cabinet_core.storage.Store` and ``Tx`` expose these as
methods; this module holds the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cabinet_core.converter import json_value
from cabinet_core.entities import OutboxMessage
from cabinet_core.errors import N_, NotFound
from cabinet_core.storage import mapping
from cabinet_core.storage import schema as t

__all__ = ["OUTBOX_STATUSES"]

#: The states a delivery can be listed by.
OUTBOX_STATUSES = ("pending", "delivered", "failed")

_o = t.outbox
_d = t.outbox_deliveries
_DELIVERY_STATE = (
    _d.c.subscriber,
    _d.c.attempts,
    _d.c.next_attempt_at,
    _d.c.delivered_at,
    _d.c.failed_at,
    _d.c.last_error,
)


_INSERT_MESSAGE = sa.insert(_o).returning(_o.c.id)
_INSERT_DELIVERY = sa.insert(_d)
# Several messages in one INSERT … VALUES (…), (…) RETURNING id ("insertmanyvalues").
_INSERT_MESSAGES = sa.insert(_o).returning(_o.c.id)


def _joined(*, outer: bool) -> sa.Select[Any]:
    """Messages with their delivery state, one row per delivery (and, ``outer``, one row for a
    message nobody subscribes to)."""
    source = _o.outerjoin(_d, _d.c.message_id == _o.c.id) if outer else _o.join(_d)
    return sa.select(*_o.c, *_DELIVERY_STATE).select_from(source)


def _status_filter(status: str) -> tuple[sa.ColumnElement[bool], ...]:
    if status == "pending":
        return (_d.c.delivered_at.is_(None), _d.c.failed_at.is_(None))
    if status == "delivered":
        return (_d.c.delivered_at.is_not(None),)
    if status == "failed":
        return (_d.c.failed_at.is_not(None),)
    raise ValueError(f"unknown outbox status {status!r}")


def add(
    connection: Connection,
    message: OutboxMessage,
    subscribers: Iterable[str],
    now: datetime,
    *,
    json_ready: bool = False,
) -> OutboxMessage:
    """Insert ``message`` and one pending delivery per subscriber; the message as stored (as
    its delivery reads, when it has exactly one subscriber). ``json_ready`` says the payload
    holds JSON values only (:func:`cabinet_core.sync.encode_payload` made it), so it is not
    walked again: for a whole document that walk cost more than the insert (bench/core.py)."""
    topic = str(message.topic)
    created_at = message.created_at or now
    values = {
        "topic": topic,
        "entity": message.entity,
        "entity_id": message.entity_id,
        "payload": message.payload if json_ready else json_value(message.payload),
        "origin": message.origin,
        "created_at": created_at,
    }
    # Only the id comes back: the payload can be a whole document, not worth reading again. The
    # statements are built once with the values as parameters: building them per call cost
    # more than the database work (bench/core.py).
    message_id = connection.execute(_INSERT_MESSAGE, values).scalar_one()
    names = list(dict.fromkeys(subscribers))
    rows = [
        {
            "message_id": message_id,
            "subscriber": name,
            "attempts": 0,
            "next_attempt_at": message.next_attempt_at,
        }
        for name in names
    ]
    if rows:
        # One subscriber (the usual case) is a plain INSERT, not the executemany path.
        connection.execute(_INSERT_DELIVERY, rows[0] if len(rows) == 1 else rows)
    return attrs.evolve(
        message,
        id=message_id,
        topic=topic,
        created_at=created_at,
        attempts=0,
        delivered_at=None,
        failed_at=None,
        last_error=None,
        subscriber=names[0] if len(names) == 1 else None,
    )


def add_many(
    connection: Connection,
    messages: Sequence[tuple[OutboxMessage, Sequence[str]]],
    now: datetime,
) -> None:
    """Insert messages whose payloads hold JSON values only, each with one pending delivery per
    subscriber, in three statements whatever their number (a use case that records a change
    and a move writes two messages; one statement each cost more than the database work,
    bench/core.py). Ids follow the order of ``messages``."""
    if not messages:
        return
    values = [
        {
            "topic": str(message.topic),
            "entity": message.entity,
            "entity_id": message.entity_id,
            "payload": message.payload,
            "origin": message.origin,
            "created_at": message.created_at or now,
        }
        for message, _ in messages
    ]
    if len(values) == 1:
        ids = [connection.execute(_INSERT_MESSAGE, values[0]).scalar_one()]
    else:
        # One statement assigns its rows' ids in the order of its VALUES on both databases
        # (SQLite's next rowid, PostgreSQL's nextval per row), whatever order RETURNING
        # gives them back in; asking SQLAlchemy to keep that order made it one INSERT per row.
        ids = sorted(connection.execute(_INSERT_MESSAGES, values).scalars())
    rows = [
        {
            "message_id": message_id,
            "subscriber": name,
            "attempts": 0,
            "next_attempt_at": message.next_attempt_at,
        }
        for message_id, (message, names) in zip(ids, messages, strict=True)
        for name in dict.fromkeys(names)
    ]
    if rows:
        connection.execute(_INSERT_DELIVERY, rows[0] if len(rows) == 1 else rows)


def about(connection: Connection, entity: str, entity_id: int) -> list[OutboxMessage]:
    """Every message about one entity, one entry per delivery, newest message first (a
    message nobody subscribes to appears once, with no delivery state)."""
    query = (
        _joined(outer=True)
        .where(_o.c.entity == entity, _o.c.entity_id == entity_id)
        .order_by(_o.c.id.desc(), _d.c.subscriber)
    )
    return [mapping.outbox_from_row(row) for row in connection.execute(query).mappings()]


def pending_about(connection: Connection, subscriber: str, entity: str, entity_id: int) -> bool:
    """Whether a message about the entity still waits for delivery to ``subscriber``."""
    query = (
        sa.select(_d.c.message_id)
        .select_from(_o.join(_d))
        .where(
            _o.c.entity == entity,
            _o.c.entity_id == entity_id,
            _d.c.subscriber == subscriber,
            *_status_filter("pending"),
        )
        .limit(1)
    )
    return connection.execute(query).first() is not None


def claim(
    connection: Connection,
    *,
    dialect: str,
    subscriber: str,
    limit: int,
    now: datetime,
    lease_seconds: int,
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due deliveries of ``subscriber``, oldest message first."""
    claimable = (
        _d.c.subscriber == subscriber,
        _d.c.delivered_at.is_(None),
        _d.c.failed_at.is_(None),
        sa.or_(_d.c.next_attempt_at.is_(None), _d.c.next_attempt_at <= now),
        sa.or_(_d.c.claimed_until.is_(None), _d.c.claimed_until <= now),
    )
    due = sa.select(_d.c.message_id).where(*claimable).order_by(_d.c.message_id).limit(limit)
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(connection.scalars(due))
    if not ids:
        return []
    leased = connection.execute(
        sa.update(_d)
        # Checked again: should a row slip past the lock, a claim that committed in the
        # meantime makes this UPDATE skip it (READ COMMITTED re-reads the new version).
        .where(_d.c.message_id.in_(ids), *claimable)
        .values(
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=_d.c.attempts + 1,
        )
        .returning(_d.c.message_id, _d.c.attempts, _d.c.next_attempt_at, _d.c.last_error)
    ).all()
    state = {
        message_id: {
            "subscriber": subscriber,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
            "last_error": last_error,
        }
        for message_id, attempts, next_attempt_at, last_error in leased
    }
    if not state:
        return []
    messages = connection.execute(sa.select(_o).where(_o.c.id.in_(list(state)))).mappings()
    claimed = [mapping.outbox_from_row(row, state[row["id"]]) for row in messages]
    return sorted(claimed, key=lambda message: message.id or 0)


def mark_delivered(
    connection: Connection, subscriber: str, message_ids: Sequence[int], now: datetime
) -> None:
    """Mark ``subscriber``'s deliveries of ``message_ids`` done, in one statement."""
    if not message_ids:
        return
    connection.execute(
        sa.update(_d)
        .where(_d.c.subscriber == subscriber, _d.c.message_id.in_(list(message_ids)))
        .values(delivered_at=now, claimed_until=None, last_error=None, next_attempt_at=None)
    )


def refunded_attempts() -> sa.ColumnElement[Any]:
    """The attempt count less the one a claim added, never below zero (an SQL expression
    for :func:`update_one`)."""
    return sa.case((_d.c.attempts > 0, _d.c.attempts - 1), else_=0)


def update_one(
    connection: Connection,
    subscriber: str | None,
    message_id: int,
    *,
    undelivered_only: bool = False,
    failed_only: bool = False,
    **values: Any,
) -> bool:
    """Update one message's delivery to ``subscriber`` (all its deliveries when ``None``);
    whether a row changed (``False``: none matched the ``…_only`` condition);
    :class:`NotFound` when the message has no such delivery."""
    statement = sa.update(_d).where(_d.c.message_id == message_id).values(**values)
    if subscriber is not None:
        statement = statement.where(_d.c.subscriber == subscriber)
    if undelivered_only:
        statement = statement.where(_d.c.delivered_at.is_(None))
    if failed_only:
        statement = statement.where(_d.c.failed_at.is_not(None))
    if connection.execute(statement).rowcount == 0:
        exists = sa.select(_d.c.message_id).where(_d.c.message_id == message_id)
        if subscriber is not None:
            exists = exists.where(_d.c.subscriber == subscriber)
        if connection.execute(exists).first() is None:
            raise NotFound(N_("Not found"), entity="outbox", id=message_id)
        return False
    return True


def listing(
    connection: Connection, *, status: str | None, subscriber: str | None, limit: int
) -> list[OutboxMessage]:
    """Deliveries by status (all messages when ``None``), oldest first for pending, newest
    first otherwise."""
    if status is None:
        query = _joined(outer=subscriber is None)
        order: tuple[sa.ColumnElement[Any], ...] = (_o.c.id.desc(), _d.c.subscriber)
    else:
        query = _joined(outer=False).where(*_status_filter(status))
        if status == "pending":
            order = (_o.c.id, _d.c.subscriber)
        else:
            order = (_o.c.id.desc(), _d.c.subscriber)
    if subscriber is not None:
        query = query.where(_d.c.subscriber == subscriber)
    query = query.order_by(*order).limit(limit)
    return [mapping.outbox_from_row(row) for row in connection.execute(query).mappings()]

"""The SQL of the live chat: a conversation's pages, read markers, unread counts, the inbox.

The chat service calls these with its transaction's connection (``tx.connection``). Message
ids grow with time, so "newest" and "older than" are read by id.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cabinet_core.entities import ChatAttachment, ChatMessage
from cabinet_core.storage import mapping
from cabinet_core.storage import schema as t

__all__ = [
    "add_attachment",
    "get_attachment",
    "history",
    "last_message_ids",
    "last_read",
    "mark_read",
    "messages_by_id",
    "unread_counts",
    "with_attachments",
]

_msg = t.chat_messages
_read = t.chat_reads
_file = t.chat_attachments


def _attachment_from(row: RowMapping) -> ChatAttachment:
    return ChatAttachment(
        id=row["id"],
        message_id=row["message_id"],
        client_id=row["client_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=row["created_at"],
    )


def add_attachment(connection: Connection, attachment: ChatAttachment) -> ChatAttachment:
    """Store a file's record for a message."""
    values = attrs.asdict(attachment, recurse=False)
    values.pop("id")
    row = connection.execute(sa.insert(_file).values(**values).returning(_file)).mappings().one()
    return _attachment_from(row)


def get_attachment(connection: Connection, attachment_id: int) -> ChatAttachment | None:
    """One attachment's record, or ``None``."""
    row = connection.execute(sa.select(_file).where(_file.c.id == attachment_id)).mappings()
    found = row.first()
    return None if found is None else _attachment_from(found)


def with_attachments(connection: Connection, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` with their files filled in (one query for all of them)."""
    ids = [m.id for m in messages if m.id is not None]
    if not ids:
        return list(messages)
    files: dict[int, list[ChatAttachment]] = {}
    query = sa.select(_file).where(_file.c.message_id.in_(ids)).order_by(_file.c.id)
    for row in connection.execute(query).mappings():
        files.setdefault(row["message_id"], []).append(_attachment_from(row))
    return [
        attrs.evolve(m, attachments=tuple(files[m.id])) if m.id in files else m for m in messages
    ]


def history(
    connection: Connection, client_id: int, *, before: int | None, limit: int
) -> tuple[list[ChatMessage], bool]:
    """The ``limit`` newest messages of a conversation older than ``before`` (all when
    ``None``), oldest first, and whether older ones remain."""
    query = sa.select(_msg).where(_msg.c.client_id == client_id)
    if before is not None:
        query = query.where(_msg.c.id < before)
    rows = list(connection.execute(query.order_by(_msg.c.id.desc()).limit(limit + 1)).mappings())
    more = len(rows) > limit
    return [mapping.chat_from_row(row) for row in reversed(rows[:limit])], more


def last_read(connection: Connection, user_id: int, client_id: int) -> int:
    """The id of the newest message ``user_id`` has read in the conversation (0: none)."""
    value = connection.execute(
        sa.select(_read.c.last_read_id).where(
            _read.c.user_id == user_id, _read.c.client_id == client_id
        )
    ).scalar()
    return int(value or 0)


def mark_read(connection: Connection, user_id: int, client_id: int, message_id: int) -> int:
    """Move the user's marker forward to ``message_id`` (never back); the marker now."""
    current = connection.execute(
        sa.select(_read.c.last_read_id).where(
            _read.c.user_id == user_id, _read.c.client_id == client_id
        )
    ).scalar()
    if current is None:
        connection.execute(
            sa.insert(_read).values(user_id=user_id, client_id=client_id, last_read_id=message_id)
        )
        return message_id
    if message_id > current:
        connection.execute(
            sa.update(_read)
            .where(_read.c.user_id == user_id, _read.c.client_id == client_id)
            .values(last_read_id=message_id)
        )
        return message_id
    return int(current)


def unread_counts(
    connection: Connection, user_id: int, client_ids: Sequence[int] | None
) -> dict[int, int]:
    """Per conversation, messages others wrote past the user's marker (only those with any);
    ``client_ids`` limits the conversations (``None``: all)."""
    marker = sa.func.coalesce(_read.c.last_read_id, 0)
    query = (
        sa.select(_msg.c.client_id, sa.func.count(_msg.c.id))
        .select_from(
            _msg.outerjoin(
                _read, sa.and_(_read.c.client_id == _msg.c.client_id, _read.c.user_id == user_id)
            )
        )
        .where(
            _msg.c.id > marker,
            sa.or_(_msg.c.author_id.is_(None), _msg.c.author_id != user_id),
        )
        .group_by(_msg.c.client_id)
    )
    if client_ids is not None:
        if not client_ids:
            return {}
        query = query.where(_msg.c.client_id.in_(client_ids))
    return {int(client): int(count) for client, count in connection.execute(query)}


def last_message_ids(connection: Connection, client_ids: Sequence[int] | None) -> dict[int, int]:
    """Per conversation with any message, the id of its newest one."""
    query = sa.select(_msg.c.client_id, sa.func.max(_msg.c.id)).group_by(_msg.c.client_id)
    if client_ids is not None:
        if not client_ids:
            return {}
        query = query.where(_msg.c.client_id.in_(client_ids))
    return {int(client): int(last) for client, last in connection.execute(query)}


def messages_by_id(connection: Connection, ids: Sequence[int]) -> dict[int, ChatMessage]:
    """The messages with these ids, by id."""
    if not ids:
        return {}
    rows = connection.execute(sa.select(_msg).where(_msg.c.id.in_(ids))).mappings()
    return {row["id"]: mapping.chat_from_row(row) for row in rows}

"""Gapless per-series document numbers.

A ``number_series`` row per (client, series key) holds the last number handed out. Taking the
next one is a single upsert::

    INSERT INTO number_series (client_id, series, value) VALUES (:client, :series, 1)
    ON CONFLICT (client_id, series) DO UPDATE SET value = number_series.value + 1
    RETURNING value

run inside the transaction that saves the document. On PostgreSQL the upsert keeps the row
locked until that transaction ends, so a concurrent creator waits and then reads the committed
value (READ COMMITTED re-checks the conflicting row); on SQLite the transaction already holds the
database's writer lock (``BEGIN IMMEDIATE``). Either way a rollback undoes the increment, so a
number is only ever used by a committed document: no gaps, no duplicates. The price is that
creations in one series are serialised; they are short transactions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cabinet_core.storage.schema import number_series

__all__ = ["current_number", "dialect_insert", "next_number"]


def dialect_insert(connection: Connection, table: sa.Table) -> Any:
    """An INSERT that offers ``on_conflict_do_update`` on both supported databases."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def next_number(connection: Connection, client_id: int, series: str) -> int:
    """Increment and return the client's counter for ``series`` (1 on first use)."""
    s = number_series
    statement = (
        dialect_insert(connection, s)
        .values(client_id=client_id, series=series, value=1)
        .on_conflict_do_update(
            index_elements=[s.c.client_id, s.c.series], set_={"value": s.c.value + 1}
        )
        .returning(s.c.value)
    )
    return int(connection.execute(statement).scalar_one())


def current_number(connection: Connection, client_id: int, series: str) -> int:
    """The last number handed out in ``series`` (0 before the first)."""
    s = number_series
    value = connection.execute(
        sa.select(s.c.value).where(s.c.client_id == client_id, s.c.series == series)
    ).scalar()
    return int(value or 0)

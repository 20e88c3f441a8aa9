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

import functools
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


@functools.cache
def _next_number_statement(dialect: str) -> Any:
    # Built once per dialect, the values bound at execution: building it on every call cost
    # more than the upsert itself (bench/core.py).
    s = number_series
    insert = postgresql.insert(s) if dialect == "postgresql" else sqlite.insert(s)
    return (
        insert.values(client_id=sa.bindparam("_client_id"), series=sa.bindparam("_series"), value=1)
        .on_conflict_do_update(
            index_elements=[s.c.client_id, s.c.series], set_={"value": s.c.value + 1}
        )
        .returning(s.c.value)
    )


def next_number(connection: Connection, client_id: int, series: str) -> int:
    """Increment and return the client's counter for ``series`` (1 on first use)."""
    statement = _next_number_statement(connection.dialect.name)
    parameters = {"_client_id": client_id, "_series": series}
    return int(connection.execute(statement, parameters).scalar_one())


def current_number(connection: Connection, client_id: int, series: str) -> int:
    """The last number handed out in ``series`` (0 before the first)."""
    s = number_series
    value = connection.execute(
        sa.select(s.c.value).where(s.c.client_id == client_id, s.c.series == series)
    ).scalar()
    return int(value or 0)

"""Storage: SQLAlchemy Core on SQLite (WAL, the embedded default) or PostgreSQL (by URL).

:class:`Store` opens the database and runs the Alembic migrations shipped in this package;
:class:`Tx` is one transaction through which services read and write entities.
"""

from __future__ import annotations

from cabinet_core.storage.store import DocumentQuery, Page, Store, Tx, parse_amount

__all__ = ["DocumentQuery", "Page", "Store", "Tx", "parse_amount"]

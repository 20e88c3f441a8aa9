"""Storage: SQLAlchemy Core on SQLite (WAL, the embedded default) or PostgreSQL (by URL).

:class:`Store` opens the database and runs the Alembic migrations shipped in this package;
:class:`Tx` is one transaction through which services read and write entities. Modules:
``schema`` (tables), ``mapping`` (entity <-> row), ``queries`` (pages, document search),
``numbering`` (gapless series), ``store`` (Store and Tx).
"""

from __future__ import annotations

from cabinet_core.storage.queries import DocumentQuery, Page, parse_amount
from cabinet_core.storage.store import Store, Tx, utcnow

__all__ = ["DocumentQuery", "Page", "Store", "Tx", "parse_amount", "utcnow"]

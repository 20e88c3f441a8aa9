"""Alembic environment: always run from :meth:`cabinet_core.storage.Store.migrate`.

The store hands over its open connection (``config.attributes["connection"]``), so migrations
run in the store's transaction with its SQLite pragmas; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from cabinet_core.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cabinet_core.storage.Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; batch mode makes later revisions portable.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""Personal API tokens get scopes and an optional expiry.

``api_tokens`` gains ``scopes`` (space-separated: ``read``, ``write``, ``admin``) and
``expires_at``. Tokens made before could do everything their user could; they keep reading and
writing (``read write``) but lose what only ``admin`` may do (tokens, users, passwords), which
must now be granted on purpose to a new token. They never expire.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=100), nullable=False, server_default="read write")
        )
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("scopes")

"""A client's assigned accountant.

A new table ``client_accountants`` (one row per client that has one: ``client_id``,
``accountant_id``). Without a row, every accountant serves the client, as before. A table of
its own rather than a column of ``clients``: on SQLite a column with a foreign key means
rebuilding ``clients`` in batch mode, and dropping the old table with foreign keys on would
delete every client's documents (``ON DELETE CASCADE``).

Revision ID: 0018_client_accountant
Revises: 0017_ksef_exchange
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_client_accountant"
down_revision = "0017_ksef_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_accountants",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("accountant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_accountants_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["accountant_id"],
            ["users.id"],
            name=op.f("fk_client_accountants_accountant_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_accountants")),
    )
    op.create_index(
        op.f("ix_client_accountants_accountant_id"),
        "client_accountants",
        ["accountant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_client_accountants_accountant_id"), table_name="client_accountants")
    op.drop_table("client_accountants")

"""Registry numbers for the CRM's requisites: a client's KRS, a counterparty's REGON and KRS.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both engines (SQLite >= 3.35 drops columns itself): batch mode would
# recreate ``clients`` on SQLite, and dropping it cascades to every document.
def upgrade() -> None:
    op.add_column("clients", sa.Column("krs", sa.String(length=10), nullable=True))
    op.add_column("counterparties", sa.Column("regon", sa.String(length=14), nullable=True))
    op.add_column("counterparties", sa.Column("krs", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("counterparties", "krs")
    op.drop_column("counterparties", "regon")
    op.drop_column("clients", "krs")

"""KSeF: a lease per client (several worker processes never work for one client at once), and
on each submission its offline mode, the date it must reach KSeF by, and the hash of the
rejected offline invoice it technically corrects.

Revision ID: 0017_ksef_exchange
Revises: 0016_vat_line_markers
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_ksef_exchange"
down_revision = "0016_vat_line_markers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ksef_leases",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id"),
    )
    with op.batch_alter_table("ksef_submissions") as batch:
        batch.add_column(sa.Column("offline_mode", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("send_by", sa.Date(), nullable=True))
        batch.add_column(sa.Column("corrected_hash", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ksef_submissions") as batch:
        batch.drop_column("corrected_hash")
        batch.drop_column("send_by")
        batch.drop_column("offline_mode")
    op.drop_table("ksef_leases")

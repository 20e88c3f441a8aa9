"""JPK_V7M(3) markers per product and per line, and purchase lines not deductible.

``products`` gains ``procedures`` (a JSON list of procedure markers such as ``TP`` or
``MR_UZ``; null for none); ``document_lines`` gains ``procedures`` likewise and
``non_deductible`` (a purchase line whose VAT is not deducted; false for every existing line, so
the registers of past months do not change).

Revision ID: 0016_vat_line_markers
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_vat_line_markers"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("procedures", sa.JSON(), nullable=True))
    with op.batch_alter_table("document_lines") as batch:
        batch.add_column(sa.Column("procedures", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("non_deductible", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("document_lines") as batch:
        batch.drop_column("non_deductible")
        batch.drop_column("procedures")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("procedures")

"""The accountant's marks on documents for the VAT registers: ``vat_marks``.

One row per marked document: not deductible, a fixed asset, GTU and procedure markers, the
JPK document kind and the KSeF marker of a document without a KSeF number. Two indexes on
``documents`` let a register read a client's month by sale or receipt date.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vat_marks",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("non_deductible", sa.Boolean(), nullable=False),
        sa.Column("fixed_asset", sa.Boolean(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("document_kind", sa.String(length=10), nullable=True),
        sa.Column("ksef_marker", sa.String(length=10), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index("ix_vat_marks_client_id", "vat_marks", ["client_id"])
    # The registers read a client's documents of a type by sale or receipt date.
    op.create_index("ix_documents_vat_sale", "documents", ["client_id", "doc_type", "sale_date"])
    op.create_index(
        "ix_documents_vat_receipt", "documents", ["client_id", "doc_type", "receipt_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_documents_vat_receipt", table_name="documents")
    op.drop_index("ix_documents_vat_sale", table_name="documents")
    op.drop_index("ix_vat_marks_client_id", table_name="vat_marks")
    op.drop_table("vat_marks")

"""Invoicing: annex-15 lines (split payment), attachments, list and delivery indices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``document_lines.annex15``, the ``attachments`` table and the new indices."""
    # The server default fills the rows that exist already (SQLite needs one for NOT NULL too).
    op.add_column(
        "document_lines",
        sa.Column("annex15", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_attachments_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_attachments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_attachments_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(
        op.f("ix_attachments_document_id"), "attachments", ["document_id"], unique=False
    )
    op.drop_index("ix_documents_client_type_date", table_name="documents")
    op.create_index(
        "ix_documents_client_type_date",
        "documents",
        ["client_id", "doc_type", "issue_date", "id"],
        unique=False,
    )
    op.drop_index("ix_documents_client_date", table_name="documents")
    op.create_index(
        "ix_documents_client_date", "documents", ["client_id", "issue_date", "id"], unique=False
    )
    op.create_index("ix_outbox_entity", "outbox", ["entity", "entity_id", "id"], unique=False)


def downgrade() -> None:
    """Back to revision 0001 (attachment rows are lost; their files stay on disk)."""
    op.drop_index("ix_outbox_entity", table_name="outbox")
    op.drop_index("ix_documents_client_date", table_name="documents")
    op.create_index(
        "ix_documents_client_date", "documents", ["client_id", "issue_date"], unique=False
    )
    op.drop_index("ix_documents_client_type_date", table_name="documents")
    op.create_index(
        "ix_documents_client_type_date",
        "documents",
        ["client_id", "doc_type", "issue_date"],
        unique=False,
    )
    op.drop_index(op.f("ix_attachments_document_id"), table_name="attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("document_lines") as batch:
        batch.drop_column("annex15")

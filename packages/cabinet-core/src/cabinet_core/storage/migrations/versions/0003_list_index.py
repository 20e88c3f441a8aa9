"""A covering index for document lists (page ids and counts from the index alone).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = [
    "client_id",
    "doc_type",
    "issue_date",
    "id",
    "status",
    "currency",
    "payment_status",
    "payment_method",
    "counterparty_id",
    "gross",
    "search_key",
]


def upgrade() -> None:
    """Replace ``ix_documents_client_type_date`` by ``ix_documents_list`` (same leading
    columns, plus every list filter and the search text)."""
    op.create_index("ix_documents_list", "documents", _COLUMNS, unique=False)
    op.drop_index("ix_documents_client_type_date", table_name="documents")


def downgrade() -> None:
    """Back to revision 0002's narrower index."""
    op.create_index(
        "ix_documents_client_type_date",
        "documents",
        ["client_id", "doc_type", "issue_date", "id"],
        unique=False,
    )
    op.drop_index("ix_documents_list", table_name="documents")

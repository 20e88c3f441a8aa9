"""Read markers for the live chat: ``chat_reads`` (one row per user and conversation), and an
index to read a conversation's newest page by id.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("last_read_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "client_id"),
    )
    op.create_index("ix_chat_messages_client_id_id", "chat_messages", ["client_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_client_id_id", table_name="chat_messages")
    op.drop_table("chat_reads")

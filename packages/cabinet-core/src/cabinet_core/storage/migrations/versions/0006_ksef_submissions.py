"""KSeF: each document's submission state, the clients with KSeF on, received KSeF numbers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ksef_submissions",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("invoice_hash", sa.String(length=100), nullable=True),
        sa.Column("session_reference", sa.String(length=100), nullable=True),
        sa.Column("invoice_reference", sa.String(length=100), nullable=True),
        sa.Column("ksef_number", sa.String(length=40), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upo", sa.LargeBinary(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_description", sa.Text(), nullable=False),
        sa.Column("error_details", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("verification", sa.JSON(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ksef_submissions_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_ksef_submissions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_ksef_submissions")),
    )
    op.create_index(
        "ix_ksef_submissions_ksef_number", "ksef_submissions", ["ksef_number"], unique=False
    )
    op.create_index(
        "ix_ksef_submissions_state", "ksef_submissions", ["state", "updated_at"], unique=False
    )
    op.create_index(
        "ix_ksef_submissions_client", "ksef_submissions", ["client_id", "state"], unique=False
    )
    op.create_table(
        "ksef_clients",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ksef_clients_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_ksef_clients")),
    )
    op.create_table(
        "ksef_received",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("ksef_number", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ksef_received_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_ksef_received_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("client_id", "ksef_number", name=op.f("pk_ksef_received")),
    )


def downgrade() -> None:
    op.drop_table("ksef_received")
    op.drop_table("ksef_clients")
    op.drop_index("ix_ksef_submissions_client", table_name="ksef_submissions")
    op.drop_index("ix_ksef_submissions_state", table_name="ksef_submissions")
    op.drop_index("ix_ksef_submissions_ksef_number", table_name="ksef_submissions")
    op.drop_table("ksef_submissions")

"""Cash desks, their KP/KW slips and their cash reports (raport kasowy).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    op.create_table(
        "cash_desks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "client_id",
            sa.Integer,
            sa.ForeignKey("clients.id", ondelete="CASCADE", name="fk_cash_desks_client_id_clients"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cash_desks"),
        sa.UniqueConstraint("client_id", "symbol", name="uq_cash_desks_symbol"),
    )
    op.create_table(
        "cash_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "desk_id",
            sa.Integer,
            sa.ForeignKey(
                "cash_desks.id", ondelete="CASCADE", name="fk_cash_reports_desk_id_cash_desks"
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("initial_balance", MONEY),
        sa.Column("prepared_by", sa.String(300), nullable=False),
        sa.Column("approved_by", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cash_reports"),
        sa.UniqueConstraint("desk_id", "period_from", name="uq_cash_reports_period"),
    )
    op.create_table(
        "cash_slips",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "desk_id",
            sa.Integer,
            sa.ForeignKey(
                "cash_desks.id", ondelete="CASCADE", name="fk_cash_slips_desk_id_cash_desks"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(2), nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("party_name", sa.String(300), nullable=False),
        sa.Column(
            "counterparty_id",
            sa.Integer,
            sa.ForeignKey(
                "counterparties.id",
                ondelete="SET NULL",
                name="fk_cash_slips_counterparty_id_counterparties",
            ),
        ),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey(
                "documents.id", ondelete="SET NULL", name="fk_cash_slips_document_id_documents"
            ),
        ),
        sa.Column(
            "created_by",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_cash_slips_created_by_users"),
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cash_slips"),
        sa.UniqueConstraint("desk_id", "number", name="uq_cash_slips_number"),
    )
    op.create_index("ix_cash_slips_document_id", "cash_slips", ["document_id"])
    op.create_index("ix_cash_slips_desk_on", "cash_slips", ["desk_id", "on_date", "id"])


def downgrade() -> None:
    op.drop_table("cash_slips")
    op.drop_table("cash_reports")
    op.drop_table("cash_desks")

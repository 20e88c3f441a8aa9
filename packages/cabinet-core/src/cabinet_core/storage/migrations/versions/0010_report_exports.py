"""Report exports run by the worker: ``report_exports`` (one row per background export job).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the export-job table and its indices."""
    op.create_table(
        "report_exports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_done", sa.Integer, nullable=False),
        sa.Column("rows_total", sa.Integer),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_report_exports_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_report_exports"),
    )
    op.create_index("ix_report_exports_user_id", "report_exports", ["user_id"])
    op.create_index("ix_report_exports_status", "report_exports", ["status", "id"])


def downgrade() -> None:
    """Drop the export-job table."""
    op.drop_index("ix_report_exports_status", table_name="report_exports")
    op.drop_index("ix_report_exports_user_id", table_name="report_exports")
    op.drop_table("report_exports")

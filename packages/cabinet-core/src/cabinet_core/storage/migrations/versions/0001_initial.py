"""The initial schema: clients, users, documents, numbering, outbox and the rest.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of :mod:`cabinet_core.storage.schema` as of this revision."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_client_id"), "audit_log", ["client_id"], unique=False)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"], unique=False)
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("nip", sa.String(length=20), nullable=True),
        sa.Column("regon", sa.String(length=14), nullable=True),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("bank_accounts", sa.JSON(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("allowed_templates", sa.JSON(), nullable=False),
        sa.Column("default_template", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("auto_send", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index(op.f("ix_clients_manager_id"), "clients", ["manager_id"], unique=False)
    op.create_index(op.f("ix_clients_name_key"), "clients", ["name_key"], unique=False)
    op.create_index(op.f("ix_clients_nip"), "clients", ["nip"], unique=False)
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_key_at", "login_attempts", ["key", "at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["delivered_at", "failed_at", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "counterparties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("nip", sa.String(length=20), nullable=True),
        sa.Column("vat_eu", sa.String(length=20), nullable=True),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_counterparties_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counterparties")),
    )
    op.create_index(
        "ix_counterparties_client_name", "counterparties", ["client_id", "name_key"], unique=False
    )
    op.create_table(
        "number_series",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_number_series_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "series", name=op.f("pk_number_series")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("name_key", sa.String(length=500), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", sa.String(length=10), nullable=False),
        sa.Column("gtu", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_products_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index("ix_products_client_name", "products", ["client_id", "name_key"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_users_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_key", name=op.f("uq_users_email_key")),
    )
    op.create_index(op.f("ix_users_client_id"), "users", ["client_id"], unique=False)
    # clients and users refer to each other; the manager link is added once both exist
    # (batch mode: SQLite cannot ALTER TABLE ADD CONSTRAINT, so Alembic copies the empty table).
    with op.batch_alter_table("clients") as batch:
        batch.create_foreign_key(
            op.f("fk_clients_manager_id_users"),
            "users",
            ["manager_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_chat_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_chat_messages_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("external_id", name=op.f("uq_chat_messages_external_id")),
    )
    op.create_index(
        op.f("ix_chat_messages_client_id"), "chat_messages", ["client_id"], unique=False
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("series", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("sale_date", sa.Date(), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("payment_method", sa.String(length=10), nullable=False),
        sa.Column("payment_status", sa.String(length=20), nullable=False),
        sa.Column("seller", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("buyer", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("counterparty_id", sa.Integer(), nullable=True),
        sa.Column("counterparty_name", sa.String(length=300), nullable=True),
        sa.Column("counterparty_nip", sa.String(length=20), nullable=True),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("bank_account", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("price_mode", sa.String(length=10), nullable=False),
        sa.Column("vat_method", sa.String(length=10), nullable=False),
        sa.Column("fx_currency", sa.String(length=3), nullable=True),
        sa.Column("fx_rate", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("fx_date", sa.Date(), nullable=True),
        sa.Column("fx_table", sa.String(length=50), nullable=True),
        sa.Column("fx_source", sa.String(length=20), nullable=True),
        sa.Column("totals", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("net", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("vat", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("gross", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("vat_pln", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_documents_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counterparty_id"],
            ["counterparties.id"],
            name=op.f("fk_documents_counterparty_id_counterparties"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_documents_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["related_id"],
            ["documents.id"],
            name=op.f("fk_documents_related_id_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(
        "ix_documents_client_date", "documents", ["client_id", "issue_date"], unique=False
    )
    op.create_index(
        "ix_documents_client_type_date",
        "documents",
        ["client_id", "doc_type", "issue_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_documents_counterparty_id"), "documents", ["counterparty_id"], unique=False
    )
    op.create_index(
        op.f("ix_documents_counterparty_name"), "documents", ["counterparty_name"], unique=False
    )
    op.create_index(
        op.f("ix_documents_counterparty_nip"), "documents", ["counterparty_nip"], unique=False
    )
    op.create_index(op.f("ix_documents_gross"), "documents", ["gross"], unique=False)
    op.create_index(op.f("ix_documents_number"), "documents", ["number"], unique=False)
    op.create_index(op.f("ix_documents_related_id"), "documents", ["related_id"], unique=False)
    op.create_table(
        "news",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("important", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_news_author_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news")),
        sa.UniqueConstraint("external_id", name=op.f("uq_news_external_id")),
    )
    op.create_index(op.f("ix_news_published_at"), "news", ["published_at"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_user_read", "notifications", ["user_id", "read_at"], unique=False
    )
    op.create_table(
        "document_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("vat_rate", sa.String(length=10), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("gtu", sa.String(length=10), nullable=True),
        sa.Column("before", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_lines_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_document_lines_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_lines")),
        sa.UniqueConstraint("document_id", "position", name="uq_document_lines_position"),
    )
    op.create_index(
        op.f("ix_document_lines_product_id"), "document_lines", ["product_id"], unique=False
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    with op.batch_alter_table("clients") as batch:
        batch.drop_constraint(op.f("fk_clients_manager_id_users"), type_="foreignkey")
    op.drop_index(op.f("ix_document_lines_product_id"), table_name="document_lines")
    op.drop_table("document_lines")
    op.drop_index("ix_notifications_user_read", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_news_published_at"), table_name="news")
    op.drop_table("news")
    op.drop_index(op.f("ix_documents_related_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_number"), table_name="documents")
    op.drop_index(op.f("ix_documents_gross"), table_name="documents")
    op.drop_index(op.f("ix_documents_counterparty_nip"), table_name="documents")
    op.drop_index(op.f("ix_documents_counterparty_name"), table_name="documents")
    op.drop_index(op.f("ix_documents_counterparty_id"), table_name="documents")
    op.drop_index("ix_documents_client_type_date", table_name="documents")
    op.drop_index("ix_documents_client_date", table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_chat_messages_client_id"), table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_users_client_id"), table_name="users")
    op.drop_table("users")
    op.drop_index("ix_products_client_name", table_name="products")
    op.drop_table("products")
    op.drop_table("number_series")
    op.drop_index("ix_counterparties_client_name", table_name="counterparties")
    op.drop_table("counterparties")
    op.drop_table("settings")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_login_attempts_key_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_clients_nip"), table_name="clients")
    op.drop_index(op.f("ix_clients_name_key"), table_name="clients")
    op.drop_index(op.f("ix_clients_manager_id"), table_name="clients")
    op.drop_table("clients")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_client_id"), table_name="audit_log")
    op.drop_table("audit_log")

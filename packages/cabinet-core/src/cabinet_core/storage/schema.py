"""The database schema (SQLAlchemy Core), one for SQLite and PostgreSQL.

Money is ``Numeric(18, 2)``, quantities and unit prices ``Numeric(18, 6)``, exchange rates
``Numeric(12, 6)``; never a float column. Snapshots that are read and written whole (a document's
parties, addresses, bank accounts, VAT rows, ``extra``, outbox payloads) are JSON columns written
through :mod:`cabinet_core.converter`. Timestamps are stored in UTC (:class:`UtcDateTime`).

The Alembic migrations in ``storage/migrations`` create exactly this; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["UtcDateTime", "metadata"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

MONEY = sa.Numeric(18, 2)
QUANTITY = sa.Numeric(18, 6)
UNIT_PRICE = sa.Numeric(18, 6)
RATE = sa.Numeric(12, 6)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on both databases.

    SQLite has no time zones and PostgreSQL returns ``timestamptz`` in the session's zone; this
    stores UTC and always hands back an aware UTC value, so entities compare equal after a round
    trip. A naive value is taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive for SQLite, which would otherwise store the offset text)."""
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UtcDateTime, nullable=False)


clients = sa.Table(
    "clients",
    metadata,
    _id(),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_key", sa.String(300), nullable=False, index=True),
    sa.Column("nip", sa.String(20), index=True),
    sa.Column("regon", sa.String(14)),
    sa.Column("krs", sa.String(10)),
    sa.Column("address", sa.JSON, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("bank_accounts", sa.JSON, nullable=False),
    # The FK to users is added by the migration after both tables exist (they refer to each other).
    sa.Column(
        "manager_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL", use_alter=True),
        index=True,
    ),
    sa.Column("allowed_templates", sa.JSON, nullable=False),
    sa.Column("default_template", sa.String(100)),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("auto_send", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    _created(),
)

#: The accountant assigned to a client (no row: every accountant serves it). A table of its own
#: rather than a column of ``clients``: adding a column with a foreign key to ``clients`` on
#: SQLite means rebuilding the table, and dropping the old one would cascade to its documents.
client_accountants = sa.Table(
    "client_accountants",
    metadata,
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "accountant_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False),
    # The lower-cased e-mail: unique, so two accounts never differ only in case.
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id", ondelete="CASCADE"), index=True),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    _created(),
)

counterparties = sa.Table(
    "counterparties",
    metadata,
    _id(),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_key", sa.String(300), nullable=False),
    sa.Column("nip", sa.String(20)),
    sa.Column("vat_eu", sa.String(20)),
    sa.Column("regon", sa.String(14)),
    sa.Column("krs", sa.String(10)),
    sa.Column("address", sa.JSON, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    _created(),
    sa.Index("ix_counterparties_client_name", "client_id", "name_key"),
)

products = sa.Table(
    "products",
    metadata,
    _id(),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("name_key", sa.String(500), nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("unit_price", UNIT_PRICE, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("vat_rate", sa.String(10), nullable=False),
    sa.Column("gtu", sa.String(10)),
    # JPK_V7M(3) procedure markers (a JSON list: ["TP", "MR_UZ"]), none when null.
    sa.Column("procedures", sa.JSON(none_as_null=True)),
    _created(),
    sa.Index("ix_products_client_name", "client_id", "name_key"),
)

documents = sa.Table(
    "documents",
    metadata,
    _id(),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("doc_type", sa.String(50), nullable=False),
    sa.Column("status", sa.String(50), nullable=False),
    sa.Column("number", sa.String(100), index=True),
    sa.Column("series", sa.String(100)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("sale_date", sa.Date),
    sa.Column("receipt_date", sa.Date),
    sa.Column("due_date", sa.Date),
    sa.Column("payment_method", sa.String(10), nullable=False),
    sa.Column("payment_status", sa.String(20), nullable=False),
    sa.Column("seller", sa.JSON(none_as_null=True)),
    sa.Column("buyer", sa.JSON(none_as_null=True)),
    sa.Column(
        "counterparty_id",
        sa.Integer,
        sa.ForeignKey("counterparties.id", ondelete="SET NULL"),
        index=True,
    ),
    # Denormalised for lists and search: the party on the other side from the client, and a
    # lower-cased text of number, both parties' names and NIPs (LIKE on SQLite is ASCII-only
    # case-insensitive, so "Łódź" must be folded before it is stored).
    sa.Column("counterparty_name", sa.String(300), index=True),
    sa.Column("counterparty_nip", sa.String(20), index=True),
    sa.Column("search_key", sa.Text, nullable=False),
    sa.Column("bank_account", sa.JSON(none_as_null=True)),
    sa.Column("price_mode", sa.String(10), nullable=False),
    sa.Column("vat_method", sa.String(10), nullable=False),
    sa.Column("fx_currency", sa.String(3)),
    sa.Column("fx_rate", RATE),
    sa.Column("fx_date", sa.Date),
    sa.Column("fx_table", sa.String(50)),
    sa.Column("fx_source", sa.String(20)),
    # The totals as computed (exact Decimal strings); the columns below repeat them for lists.
    sa.Column("totals", sa.JSON(none_as_null=True)),
    sa.Column("net", MONEY, nullable=False),
    sa.Column("vat", MONEY, nullable=False),
    sa.Column("gross", MONEY, nullable=False, index=True),
    sa.Column("vat_pln", MONEY),
    sa.Column("template", sa.String(100)),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column(
        "related_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="SET NULL"), index=True
    ),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    _created(),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Lists are one client's documents of one type, newest first. This index serves the WHERE
    # and the ORDER BY (issue_date, id) together and covers every list filter and the search
    # text, so a page's ids and its count come from the index alone (index-only on PostgreSQL,
    # "covering" on SQLite), never from the scattered table rows of a client among thousands;
    # only the page's own rows are then read (Tx.list_documents). ``search_key`` stays well
    # below PostgreSQL's index entry limit: names are at most 300 characters (limits.py).
    sa.Index(
        "ix_documents_list",
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
    ),
    sa.Index("ix_documents_client_date", "client_id", "issue_date", "id"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    _id(),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Deleting a (draft) document deletes its attachment rows; the files are content-addressed
    # and may be shared, so they stay in the file store.
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    _created(),
)

document_lines = sa.Table(
    "document_lines",
    metadata,
    _id(),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("quantity", QUANTITY, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("unit_price", UNIT_PRICE, nullable=False),
    sa.Column("vat_rate", sa.String(10), nullable=False),
    sa.Column(
        "product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="SET NULL"), index=True
    ),
    sa.Column("gtu", sa.String(10)),
    sa.Column("before", sa.Boolean, nullable=False),
    # Goods or services listed in annex 15 to the VAT Act (FA(3) ``P_12_Zal_15``): they decide
    # whether the invoice falls under split payment (MPP).
    sa.Column("annex15", sa.Boolean, nullable=False, server_default=sa.false()),
    # JPK_V7M(3) procedure markers of the line (a JSON list), none when null; a purchase line
    # whose VAT is not deducted.
    sa.Column("procedures", sa.JSON(none_as_null=True)),
    sa.Column("non_deductible", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("document_id", "position", name="uq_document_lines_position"),
)

number_series = sa.Table(
    "number_series",
    metadata,
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("series", sa.String(100), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

news = sa.Table(
    "news",
    metadata,
    _id(),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("important", sa.Boolean, nullable=False),
    sa.Column("published_at", UtcDateTime, nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("external_id", sa.String(200), unique=True),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    _id(),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("body", sa.Text, nullable=False),
    _created(),
    sa.Column("external_id", sa.String(200), unique=True),
    sa.Index("ix_chat_messages_client_id_id", "client_id", "id"),
)

#: Files sent with chat messages (the bytes are in the file store under ``sha256``).
chat_attachments = sa.Table(
    "chat_attachments",
    metadata,
    _id(),
    sa.Column(
        "message_id",
        sa.Integer,
        sa.ForeignKey("chat_messages.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "client_id", sa.Integer, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    _created(),
)

#: How far each user has read each conversation (its unread count counts past this).
chat_reads = sa.Table(
    "chat_reads",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "client_id", sa.Integer, sa.ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("last_read_id", sa.Integer, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    _id(),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("link", sa.String(500), nullable=False),
    _created(),
    sa.Column("read_at", UtcDateTime),
    sa.Index("ix_notifications_user_read", "user_id", "read_at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer),
    sa.Column("client_id", sa.Integer, index=True),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("entity_id", sa.Integer),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("ip", sa.String(45)),
    sa.Column("user_agent", sa.String(300)),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_actor_id", "actor_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _id(),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("entity_id", sa.Integer),
    sa.Column("payload", sa.JSON, nullable=False),
    # The CRM backend whose change this is (it gets no delivery of it); NULL for the cabinet's.
    sa.Column("origin", sa.String(100)),
    _created(),
    # A document's page shows its deliveries (mail sent, CRM sync) from here.
    sa.Index("ix_outbox_entity", "entity", "entity_id", "id"),
)

#: One row per message and subscriber (a CRM backend's name, or ``mail``): each recipient has its
#: own attempts, backoff and failure, so one failing CRM never re-sends to another.
outbox_deliveries = sa.Table(
    "outbox_deliveries",
    metadata,
    sa.Column(
        "message_id",
        sa.Integer,
        sa.ForeignKey("outbox.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("subscriber", sa.String(100), primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime),
    # A claim is a lease: a worker that dies mid-batch loses it and the rows come back.
    sa.Column("claimed_until", UtcDateTime),
    sa.Column("delivered_at", UtcDateTime),
    sa.Column("failed_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    # A worker claims one subscriber's due rows in message order; only open rows are indexed,
    # so the index stays as small as the queue however long the history grows.
    sa.Index(
        "ix_outbox_deliveries_open",
        "subscriber",
        "message_id",
        sqlite_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    ),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("prefix", sa.String(20), nullable=False),
    _created(),
    sa.Column("last_used_at", UtcDateTime),
    # Space-separated, as OAuth writes scopes ("read write").
    sa.Column("scopes", sa.String(100), nullable=False, server_default="read write"),
    sa.Column("expires_at", UtcDateTime),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    _id(),
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempts_key_at", "key", "at"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.JSON),
)

# -- signing in (cabinet_core.storage.auth) -------------------------------------------------------

#: Server-side sign-in sessions: the cookie carries only a random secret, its SHA-256 is the id,
#: so signing out (or being deactivated) ends the session for every copy of the cookie.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _created(),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("user_agent", sa.String(300), nullable=False),
    sa.Column("remote", sa.String(100), nullable=False),
    # False while the second factor is still to be given (or enrolled, for staff).
    sa.Column("verified", sa.Boolean, nullable=False),
)

#: Single-use links sent by e-mail: "forgot password" and invitations. Only the SHA-256 of the
#: link's secret is stored; a used link keeps its row (``used_at``) so a replay is told apart.
password_links = sa.Table(
    "password_links",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("purpose", sa.String(20), nullable=False),
    _created(),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime),
)

#: A user's TOTP second factor: the shared secret and the hashed one-time recovery codes.
two_factor = sa.Table(
    "two_factor",
    metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("secret", sa.String(64), nullable=False),
    sa.Column("confirmed_at", UtcDateTime),
    sa.Column("recovery_codes", sa.JSON, nullable=False),
    # The last accepted time step: a code is accepted once (RFC 6238 §5.2).
    sa.Column("last_step", sa.BigInteger, nullable=False),
)

# -- KSeF (cabinet_core.storage.ksef_submissions) ------------------------------------------------

#: Where each document that goes to KSeF stands there: one row per document, written by the
#: core on issue and by the KSeF plugin through its port.
ksef_submissions = sa.Table(
    "ksef_submissions",
    metadata,
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("invoice_hash", sa.String(100)),
    sa.Column("session_reference", sa.String(100)),
    sa.Column("invoice_reference", sa.String(100)),
    sa.Column("ksef_number", sa.String(40), index=True),
    sa.Column("acquired_at", UtcDateTime),
    sa.Column("upo", sa.LargeBinary),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_description", sa.Text, nullable=False),
    sa.Column("error_details", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("verification", sa.JSON, nullable=False),
    sa.Column("queued_at", UtcDateTime),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("offline_mode", sa.String(20)),
    sa.Column("send_by", sa.Date),
    sa.Column("corrected_hash", sa.String(100)),
    # The staff list reads one state across clients, newest first.
    sa.Index("ix_ksef_submissions_state", "state", "updated_at"),
    sa.Index("ix_ksef_submissions_client", "client_id", "state"),
)

#: The clients whose invoices go to KSeF (the plugin switches a client on through its port).
ksef_clients = sa.Table(
    "ksef_clients",
    metadata,
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: Which worker process works for a client in KSeF now (its online session, its sends): a
#: short lease taken with one conditional UPDATE, so several ``cabinet worker`` processes never
#: send for one client at once nor open two online sessions for it.
ksef_leases = sa.Table(
    "ksef_leases",
    metadata,
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("until", UtcDateTime, nullable=False),
)

#: Purchase invoices received from KSeF, by KSeF number: nothing is imported twice.
ksef_received = sa.Table(
    "ksef_received",
    metadata,
    sa.Column(
        "client_id",
        sa.Integer,
        sa.ForeignKey("clients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ksef_number", sa.String(40), primary_key=True),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="SET NULL"),
    ),
    sa.Column("imported_at", UtcDateTime, nullable=False),
)

# -- cash desks (raport kasowy, KP/KW); their SQL is in cabinet_core.storage.cash
cash_desks = sa.Table(
    "cash_desks",
    metadata,
    _id(),
    sa.Column(
        "client_id", sa.Integer, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("symbol", sa.String(20), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _created(),
    sa.UniqueConstraint("client_id", "symbol", name="uq_cash_desks_symbol"),
)

cash_reports = sa.Table(
    "cash_reports",
    metadata,
    _id(),
    sa.Column(
        "desk_id", sa.Integer, sa.ForeignKey("cash_desks.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("number", sa.String(60), nullable=False),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("initial_balance", MONEY),
    sa.Column("prepared_by", sa.String(300), nullable=False),
    sa.Column("approved_by", sa.String(300), nullable=False),
    _created(),
    # One report per desk and start day; the service refuses gaps and overlaps.
    sa.UniqueConstraint("desk_id", "period_from", name="uq_cash_reports_period"),
)

cash_slips = sa.Table(
    "cash_slips",
    metadata,
    _id(),
    sa.Column(
        "desk_id", sa.Integer, sa.ForeignKey("cash_desks.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(2), nullable=False),
    sa.Column("number", sa.String(60), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("party_name", sa.String(300), nullable=False),
    sa.Column(
        "counterparty_id", sa.Integer, sa.ForeignKey("counterparties.id", ondelete="SET NULL")
    ),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="SET NULL"),
        index=True,
    ),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    _created(),
    sa.UniqueConstraint("desk_id", "number", name="uq_cash_slips_number"),
    sa.Index("ix_cash_slips_desk_on", "desk_id", "on_date", "id"),
)

# Contract templates (umowa o dzieło, umowa zlecenie …) that admins keep; the text lives in
# versions that are never changed, so a contract keeps the wording it was made with.
contract_templates = sa.Table(
    "contract_templates",
    metadata,
    _id(),
    sa.Column("key", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("contract_kind", sa.String(40), nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("builtin", sa.Boolean, nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    _created(),
    sa.Column("updated_at", UtcDateTime),
)

contract_template_versions = sa.Table(
    "contract_template_versions",
    metadata,
    _id(),
    sa.Column(
        "template_id",
        sa.Integer,
        sa.ForeignKey("contract_templates.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author_id", sa.Integer),
    _created(),
    sa.UniqueConstraint("template_id", "version", name="uq_contract_template_versions_version"),
)

# Report exports too long to download at once: the worker writes the file (cabinet_core.reports).
report_exports = sa.Table(
    "report_exports",
    metadata,
    _id(),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("rows_done", sa.Integer, nullable=False),
    sa.Column("rows_total", sa.Integer),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("error", sa.Text),
    _created(),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    # The worker looks for the oldest queued job.
    sa.Index("ix_report_exports_status", "status", "id"),
)

"""The store: one SQLAlchemy Core engine, short transactions, entities in and out.

:class:`Store` owns the engine and the outbox's own transactions; :class:`Tx` is one open
database transaction through which the services read and write entities. Everything a service
changes (the entity, its audit entry and its outbox row) goes through one ``Tx`` and so commits
or rolls back together.

On SQLite every write transaction starts with ``BEGIN IMMEDIATE``: the writer lock is taken up
front, so two transactions never both read a number counter and then fail to upgrade their lock
(SQLite's "database is locked" deadlock); the busy timeout makes the second one wait instead.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, RowMapping

from cabinet_core.audit import AuditFilter
from cabinet_core.converter import json_value
from cabinet_core.entities import (
    ApiToken,
    Attachment,
    AuditEntry,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    NewsItem,
    Notification,
    OutboxMessage,
    PaymentStatus,
    Product,
    Role,
    TokenScope,
    User,
)
from cabinet_core.errors import N_, Conflict, NotFound, Unavailable
from cabinet_core.request_origin import current_origin
from cabinet_core.storage import (
    audit_log,
    mapping,
    notification_preferences,
    numbering,
    outbox,
    vat_register,
)
from cabinet_core.storage import schema as t
from cabinet_core.storage.auth import AuthTables
from cabinet_core.storage.dashboard import DashboardQueries
from cabinet_core.storage.ksef_submissions import KsefTables
from cabinet_core.storage.queries import (
    DOCUMENT_ORDERS,
    DocumentQuery,
    Page,
    document_search,
    like,
    page,
)
from cabinet_core.vat_statement.registers import RegisterEntry, VatMark

__all__ = ["DocumentQuery", "Page", "Store", "Tx", "utcnow"]

Clock = Callable[[], datetime]

#: SQLite settings applied to every new connection (see the module docstring).
SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
)

# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_KEY = 0x0CAB1E7
T = TypeVar("T")


def utcnow() -> datetime:
    """The store's default clock: an aware UTC now."""
    return datetime.now(UTC)


def _require_id(entity_id: int | None, what: str) -> int:
    if entity_id is None:
        raise ValueError(f"cannot update a {what} that has not been saved (id is None)")
    return entity_id


def _checked(result: sa.CursorResult[Any], what: str, entity_id: int) -> None:
    if result.rowcount == 0:
        raise NotFound(N_("Not found"), entity=what, id=entity_id)


# -- the store


class Store:
    """The database of one cabinet: schema migrations, transactions and the outbox queue."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self.clock: Clock = clock or utcnow
        if self.dialect not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock | None = None,
        threads: int | None = None,
        **engine_kwargs: Any,
    ) -> Store:
        """Open a store; a SQLite file's directory is created and the connection tuned.

        ``threads`` is how many blocking calls the process runs at once (a web process's
        ``web_threads``): the pool keeps a connection for each, two for work on the event loop
        itself and the worker's loops, and makes a few more only for a burst. SQLAlchemy's
        default (5 kept, 10 more made and closed) opened and closed a connection for most
        requests under load, each time running the SQLite pragmas again: 5-7 % of a loaded web
        process's time. ``engine_kwargs`` go to :func:`sqlalchemy.create_engine` (pool sizes,
        ``echo`` …) and win.
        """
        sa_url = sa.make_url(url)
        database = sa_url.database or ""
        in_memory = sa_url.get_backend_name() == "sqlite" and (
            not database or database == ":memory:" or sa_url.query.get("mode") == "memory"
        )
        if threads is not None and not in_memory:
            engine_kwargs.setdefault("pool_size", threads + 2)
            engine_kwargs.setdefault("max_overflow", 4)
        if sa_url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url!r}: use SQLite or PostgreSQL")
        if sa_url.get_backend_name() == "sqlite":
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(sa_url, **engine_kwargs)
            _tune_sqlite(engine)
            event.listen(engine, "handle_error", _unavailable_when_disconnected)
        else:
            engine_kwargs.setdefault("pool_pre_ping", True)
            engine = sa.create_engine(sa_url, **engine_kwargs)
            event.listen(engine, "handle_error", _unavailable_when_disconnected)
        return cls(engine, clock=clock)

    # -- lifecycle
    def migrate(self, revision: str = "head", *, crm_backends: Sequence[str] | None = None) -> None:
        """Bring the schema to ``revision`` (``alembic upgrade head`` by default); idempotent.

        ``crm_backends`` are the active CRM backends' names (``settings.crm_backends``): a
        revision that moves queued messages to per-subscriber deliveries (0005) gives each its
        delivery; without them it reads ``CABINET_CRM_BACKENDS``. Safe when several processes
        start at once: PostgreSQL serialises them on an advisory lock, SQLite on its writer lock.
        """
        self._alembic("upgrade", revision, crm_backends=crm_backends)

    def downgrade(self, revision: str) -> None:
        """Step the schema back to ``revision`` (``"base"`` drops every table; tests use it)."""
        self._alembic("downgrade", revision)

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (``None`` before the first migration)."""
        from alembic.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def _alembic(
        self, action: str, revision: str, *, crm_backends: Sequence[str] | None = None
    ) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        if crm_backends is not None:
            config.attributes["crm_backends"] = tuple(crm_backends)
        with self.engine.connect() as connection, connection.begin():
            if self.dialect == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """One database transaction: commit on normal exit, roll back on an exception.

        ``readonly=True`` starts a deferred transaction on SQLite, so a page that only reads does
        not queue behind writers (WAL readers never block); writing in it may fail with
        "database is locked", so services pass it only when they do not write.
        """
        try:
            connecting = self.engine.connect()
        except sa.exc.TimeoutError as exc:
            # Every pooled connection is busy for longer than the pool waits: a moment's
            # overload, answered "try again shortly" rather than as a server error.
            raise Unavailable() from exc
        with connecting as connection:
            if readonly:
                connection.execution_options(cabinet_readonly=True)
            with connection.begin():
                tx = Tx(connection, self)
                yield tx
                tx.flush()

    # -- outbox (one delivery per subscriber; the SQL is in cabinet_core.storage.outbox)
    def claim_outbox(
        self, *, subscriber: str, limit: int, now: datetime, lease_seconds: int = 60
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due deliveries of ``subscriber``, oldest message first, under a
        lease; each message carries that delivery's state.

        The claim commits at once: the deliveries are invisible to other workers until
        ``now + lease_seconds`` (or until marked), and delivery happens outside any transaction.
        On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent workers claim disjoint rows
        without waiting; on SQLite ``BEGIN IMMEDIATE`` serialises the claims. Each claim counts
        as an attempt, so a worker that dies mid-delivery still moves a delivery towards failure.
        """
        with self.engine.connect() as connection, connection.begin():
            return outbox.claim(
                connection,
                dialect=self.dialect,
                subscriber=subscriber,
                limit=limit,
                now=now,
                lease_seconds=lease_seconds,
            )

    def mark_delivered(self, message_id: int, *, subscriber: str, now: datetime) -> None:
        """Record that ``subscriber`` accepted the message."""
        with self.engine.connect() as connection, connection.begin():
            outbox.update_one(
                connection,
                subscriber,
                message_id,
                delivered_at=now,
                claimed_until=None,
                last_error=None,
                next_attempt_at=None,
            )

    def mark_delivered_many(
        self, message_ids: Sequence[int], *, subscriber: str, now: datetime
    ) -> None:
        """:meth:`mark_delivered` for a whole claimed batch in one statement (a worker that
        marks 5,000 messages one transaction at a time spends seconds on commits alone)."""
        if not message_ids:
            return
        with self.engine.connect() as connection, connection.begin():
            outbox.mark_delivered(connection, subscriber, message_ids, now)

    def mark_retry(
        self,
        message_id: int,
        *,
        subscriber: str,
        error: str,
        next_attempt_at: datetime,
        refund: bool = False,
    ) -> None:
        """Release the claim and try ``subscriber`` again at ``next_attempt_at``; with
        ``refund`` the attempt the claim counted is given back (the recipient deferred the
        delivery without trying it: a limit to wait out), so waiting never fails a message.

        A delivery that another worker completed meanwhile (after this worker's lease ran out)
        stays delivered.
        """
        values: dict[str, Any] = {
            "last_error": error,
            "next_attempt_at": next_attempt_at,
            "claimed_until": None,
        }
        if refund:
            # In SQL, so a concurrent claim's increment is never lost to a read-modify-write.
            values["attempts"] = outbox.refunded_attempts()
        with self.engine.connect() as connection, connection.begin():
            outbox.update_one(connection, subscriber, message_id, undelivered_only=True, **values)

    def mark_failed(self, message_id: int, *, subscriber: str, error: str, now: datetime) -> None:
        """Give up on ``subscriber``'s delivery; it stays visible in
        ``list_outbox(status="failed")``. A delivery completed meanwhile stays delivered."""
        with self.engine.connect() as connection, connection.begin():
            outbox.update_one(
                connection,
                subscriber,
                message_id,
                undelivered_only=True,
                last_error=error,
                failed_at=now,
                claimed_until=None,
            )

    def retry_failed(self, message_id: int, *, subscriber: str | None = None) -> None:
        """Put a failed delivery back in the queue with a fresh attempt count (an admin action);
        every failed delivery of the message when ``subscriber`` is ``None``."""
        with self.engine.connect() as connection, connection.begin():
            outbox.update_one(
                connection,
                subscriber,
                message_id,
                failed_only=True,
                failed_at=None,
                attempts=0,
                next_attempt_at=None,
                claimed_until=None,
            )

    def list_outbox(
        self, *, status: str | None = None, subscriber: str | None = None, limit: int = 100
    ) -> list[OutboxMessage]:
        """Deliveries by status (``pending``, ``delivered`` or ``failed``), one entry per message
        and subscriber, optionally of one ``subscriber``; oldest first for pending, newest first
        otherwise. With no status: every message, newest first (one entry per delivery, and one
        for a message nobody subscribes to)."""
        with self.transaction(readonly=True) as tx:
            return outbox.listing(tx.connection, status=status, subscriber=subscriber, limit=limit)


def _unavailable_when_disconnected(context: sa.engine.ExceptionContext) -> BaseException | None:
    """A database that went away (restart, failover) or cannot be reached is a moment's
    outage, not a defect: the services raise :class:`Unavailable` (the web answers 503 with
    ``Retry-After``) while SQLAlchemy still drops the dead connections from its pool, so the
    next request after the database is back works again by itself."""
    error = context.sqlalchemy_exception
    refused = isinstance(error, sa.exc.OperationalError) and context.connection is None
    # SQLite: another process held the write lock for the whole busy timeout (30 s).
    locked = isinstance(error, sa.exc.OperationalError) and "database is locked" in str(
        context.original_exception
    )
    if context.is_disconnect or refused or locked:
        return Unavailable()
    return None


def _tune_sqlite(engine: Engine) -> None:
    """Pragmas on connect and ``BEGIN IMMEDIATE`` on begin (SQLAlchemy's pysqlite recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own (deferred) BEGIN; the "begin" hook below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        readonly = connection.get_execution_options().get("cabinet_readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


# -- the transaction


@functools.cache
def _insert_statement(table: sa.Table) -> sa.Insert:
    return sa.insert(table).returning(*table.c)


@functools.cache
def _insert_plain_statement(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


@functools.cache
def _insert_id_statement(table: sa.Table) -> sa.Insert:
    return sa.insert(table).returning(table.c.id)


@functools.cache
def _update_statement(table: sa.Table) -> sa.Update:
    return sa.update(table).where(table.c.id == sa.bindparam("_entity_id")).returning(*table.c)


@functools.cache
def _update_document_statement() -> sa.Update:
    # The columns to set come as parameters (see _insert_statement); the version check and bump
    # are part of the statement.
    d = t.documents
    return (
        sa.update(d)
        .where(d.c.id == sa.bindparam("_doc_id"), d.c.version == sa.bindparam("_version"))
        .values(version=d.c.version + 1)
        .returning(*d.c)
    )


# Built once: every use case reads its client, and building the query per call cost more than
# running it (bench/core.py).
#: A client's row with its assigned accountant (``accountant_id``, ``None`` when none).
_CLIENTS = sa.select(t.clients, t.client_accountants.c.accountant_id).select_from(
    t.clients.outerjoin(t.client_accountants, t.client_accountants.c.client_id == t.clients.c.id)
)
_GET_CLIENT = _CLIENTS.where(t.clients.c.id == sa.bindparam("_client_id"))
#: Read on every signed-in request (the session's user): built once, not per call.
_GET_USER = sa.select(t.users).where(t.users.c.id == sa.bindparam("_user_id"))

#: The fields of a document a workflow move changes (:meth:`Tx.move_document`).
_MOVE_FIELDS = frozenset({"status", "number", "series", "payment_status"})


@functools.cache
def _move_document_statement(columns: frozenset[str]) -> sa.Update:
    # One statement per set of changed columns, built once (see _insert_statement).
    d = t.documents
    return (
        sa.update(d)
        .where(d.c.id == sa.bindparam("_doc_id"), d.c.version == sa.bindparam("_version"))
        .values(
            {name: sa.bindparam(f"_set_{name}") for name in sorted(columns)}
            | {"version": d.c.version + 1}
        )
    )


class Tx:
    """One open transaction. Methods take entities and return them as stored (ids, timestamps).

    ``get_*`` return ``None`` for a missing row; ``update_*`` and ``delete_*`` raise
    :class:`~cabinet_core.errors.NotFound`. Nothing here checks access: the services do.

    A client is read from the database once per transaction: one use case needs it for the
    access check, for the NIP and name copied onto a document and for its own settings, and it
    is an immutable entity that only :meth:`update_client` changes.
    """

    def __init__(self, connection: Connection, store: Store) -> None:
        self.connection = connection
        self.store = store
        # Audit entries and outbox messages the services record, written together when the
        # transaction ends (flush): a save-and-issue records two of each, and a statement per
        # row cost more than the database work (bench/core.py).
        self._audit_rows: list[dict[str, Any]] = []
        self._outbox_rows: list[tuple[OutboxMessage, tuple[str, ...]]] = []
        self._clients: dict[int, Client] = {}

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.store.dialect

    def _now(self) -> datetime:
        return self.store.clock()

    def _one(self, query: sa.Select[Any]) -> RowMapping | None:
        return self.connection.execute(query).mappings().first()

    def _insert(self, table: sa.Table, values: Mapping[str, Any]) -> RowMapping:
        # Values go as parameters of one statement built once per table: building a statement
        # with literal .values() on every call cost more than the database work (bench/core.py).
        return self.connection.execute(_insert_statement(table), dict(values)).mappings().one()

    def _insert_id(self, table: sa.Table, values: Mapping[str, Any]) -> int:
        # For rows whose stored form is exactly ``values``: reading a whole document's JSON
        # payload back only to return it cost as much as writing it (bench/core.py).
        return int(self.connection.execute(_insert_id_statement(table), dict(values)).scalar_one())

    def _update(self, table: sa.Table, entity_id: int, values: Mapping[str, Any]) -> RowMapping:
        row = (
            self.connection.execute(_update_statement(table), {**values, "_entity_id": entity_id})
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(N_("Not found"), entity=table.name, id=entity_id)
        return row

    def _delete(self, table: sa.Table, entity_id: int) -> None:
        result = self.connection.execute(sa.delete(table).where(table.c.id == entity_id))
        _checked(result, table.name, entity_id)

    def _page(self, query: sa.Select[Any], limit: int, offset: int) -> tuple[list[RowMapping], int]:
        """A page of ``query``'s rows and the total: a page that is not full is its own count,
        so most pickers and searches cost one statement."""
        rows = list(self.connection.execute(query.limit(limit).offset(offset)).mappings())
        if len(rows) < limit and (rows or offset == 0):
            return rows, offset + len(rows)
        return rows, self._count(query)

    def _count(self, query: sa.Select[Any]) -> int:
        counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        return int(self.connection.execute(counted).scalar_one())

    # -- clients
    def add_client(self, client: Client) -> Client:
        """Save a new client."""
        values = mapping.client_values(client) | {"created_at": client.created_at or self._now()}
        stored = mapping.client_from_row(self._insert(t.clients, values))
        client_id = stored.id
        assert client_id is not None
        stored = self._set_accountant(client_id, stored, client.accountant_id)
        self._clients[client_id] = stored
        return stored

    def _set_accountant(self, client_id: int, stored: Client, accountant_id: int | None) -> Client:
        ca = t.client_accountants
        self.connection.execute(sa.delete(ca).where(ca.c.client_id == client_id))
        if accountant_id is not None:
            self.connection.execute(
                sa.insert(ca).values(client_id=client_id, accountant_id=accountant_id)
            )
        return attrs.evolve(stored, accountant_id=accountant_id)

    def update_client(self, client: Client) -> Client:
        """Overwrite a client's profile."""
        client_id = _require_id(client.id, "client")
        self._clients.pop(client_id, None)
        stored = mapping.client_from_row(
            self._update(t.clients, client_id, mapping.client_values(client))
        )
        stored = self._set_accountant(client_id, stored, client.accountant_id)
        self._clients[client_id] = stored
        return stored

    def get_client(self, client_id: int) -> Client | None:
        """The client, or ``None`` (read once per transaction, see the class docstring)."""
        known = self._clients.get(client_id)
        if known is not None:
            return known
        row = self.connection.execute(_GET_CLIENT, {"_client_id": client_id}).mappings().first()
        if row is None:
            return None
        client = self._clients[client_id] = mapping.client_from_row(row)
        return client

    def list_clients(
        self,
        *,
        manager_id: int | None = None,
        search: str | None = None,
        accountant_id: int | None = None,
    ) -> list[Client]:
        """Clients by name; ``manager_id`` keeps one manager's, ``accountant_id`` those an
        accountant serves (assigned to them or to no accountant), ``search`` matches name or
        NIP."""
        c, ca = t.clients, t.client_accountants
        query = _CLIENTS.order_by(c.c.name_key, c.c.id)
        if manager_id is not None:
            query = query.where(c.c.manager_id == manager_id)
        if accountant_id is not None:
            query = query.where(
                sa.or_(ca.c.accountant_id == accountant_id, ca.c.accountant_id.is_(None))
            )
        if search and search.strip():
            conditions = [like(c.c.name_key, mapping.fold(search.strip()))]
            if mapping.digits(search):
                conditions.append(like(c.c.nip, mapping.digits(search)))
            query = query.where(sa.or_(*conditions))
        return [mapping.client_from_row(row) for row in self.connection.execute(query).mappings()]

    def clients_assigned_to_accountants(self) -> bool:
        """Whether any client has an assigned accountant (then accountants' queues split)."""
        query = sa.select(t.client_accountants.c.client_id).limit(1)
        return self.connection.execute(query).first() is not None

    # -- users
    def _email_taken(self, email: str, except_id: int | None) -> bool:
        query = sa.select(t.users.c.id).where(t.users.c.email_key == email.strip().lower())
        if except_id is not None:
            query = query.where(t.users.c.id != except_id)
        return self.connection.execute(query).first() is not None

    def add_user(self, user: User) -> User:
        """Save a new user; :class:`Conflict` when the e-mail is taken (in any letter case)."""
        if self._email_taken(user.email, None):
            raise Conflict(N_("A user with this e-mail address already exists"), email=user.email)
        values = mapping.user_values(user) | {"created_at": user.created_at or self._now()}
        try:
            return mapping.user_from_row(self._insert(t.users, values))
        except sa.exc.IntegrityError as exc:
            # Lost a race with another transaction adding the same address.
            raise Conflict(
                N_("A user with this e-mail address already exists"), email=user.email
            ) from exc

    def update_user(self, user: User) -> User:
        """Overwrite a user (e-mail, name, role, language, password hash, active)."""
        user_id = _require_id(user.id, "user")
        if self._email_taken(user.email, user_id):
            raise Conflict(N_("A user with this e-mail address already exists"), email=user.email)
        return mapping.user_from_row(self._update(t.users, user_id, mapping.user_values(user)))

    def get_user(self, user_id: int) -> User | None:
        """The user, or ``None``."""
        row = self.connection.execute(_GET_USER, {"_user_id": user_id}).mappings().first()
        return None if row is None else mapping.user_from_row(row)

    def get_user_by_email(self, email: str) -> User | None:
        """The user with this e-mail in any letter case, or ``None``."""
        row = self._one(sa.select(t.users).where(t.users.c.email_key == email.strip().lower()))
        return None if row is None else mapping.user_from_row(row)

    def list_users(self, *, client_id: int | None = None, role: Role | None = None) -> list[User]:
        """Users by e-mail, optionally one client's or one role's."""
        u = t.users
        query = sa.select(u).order_by(u.c.email_key)
        if client_id is not None:
            query = query.where(u.c.client_id == client_id)
        if role is not None:
            query = query.where(u.c.role == role.value)
        return [mapping.user_from_row(row) for row in self.connection.execute(query).mappings()]

    # -- counterparties and products
    def add_counterparty(self, cp: Counterparty) -> Counterparty:
        """Save a client's new counterparty."""
        values = mapping.counterparty_values(cp) | {"created_at": cp.created_at or self._now()}
        return mapping.counterparty_from_row(self._insert(t.counterparties, values))

    def update_counterparty(self, cp: Counterparty) -> Counterparty:
        """Overwrite a counterparty."""
        cp_id = _require_id(cp.id, "counterparty")
        row = self._update(t.counterparties, cp_id, mapping.counterparty_values(cp))
        return mapping.counterparty_from_row(row)

    def get_counterparty(self, cp_id: int) -> Counterparty | None:
        """The counterparty, or ``None``."""
        row = self._one(sa.select(t.counterparties).where(t.counterparties.c.id == cp_id))
        return None if row is None else mapping.counterparty_from_row(row)

    def delete_counterparty(self, cp_id: int) -> None:
        """Delete a counterparty; documents keep their party snapshot and lose only the link."""
        self._delete(t.counterparties, cp_id)

    def list_counterparties(
        self, client_id: int, *, search: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[Counterparty]:
        """One client's counterparties by name; ``search`` matches name, NIP or EU VAT id."""
        c = t.counterparties
        query = sa.select(c).where(c.c.client_id == client_id)
        if search and search.strip():
            term = search.strip()
            conditions = [like(c.c.name_key, mapping.fold(term)), like(c.c.vat_eu, term.upper())]
            if mapping.digits(term):
                conditions.append(like(c.c.nip, mapping.digits(term)))
            query = query.where(sa.or_(*conditions))
        rows, total = self._page(query.order_by(c.c.name_key, c.c.id), limit, offset)
        return page([mapping.counterparty_from_row(row) for row in rows], total, limit, offset)

    def add_product(self, p: Product) -> Product:
        """Save a client's new product."""
        values = mapping.product_values(p) | {"created_at": p.created_at or self._now()}
        return mapping.product_from_row(self._insert(t.products, values))

    def update_product(self, p: Product) -> Product:
        """Overwrite a product."""
        product_id = _require_id(p.id, "product")
        return mapping.product_from_row(
            self._update(t.products, product_id, mapping.product_values(p))
        )

    def get_product(self, product_id: int) -> Product | None:
        """The product, or ``None``."""
        row = self._one(sa.select(t.products).where(t.products.c.id == product_id))
        return None if row is None else mapping.product_from_row(row)

    def delete_product(self, product_id: int) -> None:
        """Delete a product; document lines keep their text and lose only the link."""
        self._delete(t.products, product_id)

    def list_products(
        self, client_id: int, *, search: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[Product]:
        """One client's products by name; ``search`` matches the name."""
        p = t.products
        query = sa.select(p).where(p.c.client_id == client_id)
        if search and search.strip():
            query = query.where(like(p.c.name_key, mapping.fold(search.strip())))
        rows, total = self._page(query.order_by(p.c.name_key, p.c.id), limit, offset)
        return page([mapping.product_from_row(row) for row in rows], total, limit, offset)

    # -- documents
    def _client_identity(self, client_id: int) -> tuple[str | None, str]:
        # The client's NIP and name are stored on each document for the list's search.
        known = self._clients.get(client_id)
        if known is not None:
            return known.nip, known.name
        row = self.connection.execute(
            sa.select(t.clients.c.nip, t.clients.c.name).where(t.clients.c.id == client_id)
        ).first()
        if row is None:
            raise NotFound(N_("Not found"), entity="clients", id=client_id)
        return row.nip, row.name

    def _write_lines(self, document_id: int, lines: Sequence[DocumentLine]) -> None:
        if lines:
            self.connection.execute(
                sa.insert(t.document_lines),
                [
                    mapping.line_values(document_id, position, line)
                    for position, line in enumerate(lines)
                ],
            )

    def _lines_of(self, document_ids: Sequence[int]) -> dict[int, list[DocumentLine]]:
        lines: dict[int, list[DocumentLine]] = {doc_id: [] for doc_id in document_ids}
        if document_ids:
            query = (
                sa.select(t.document_lines)
                .where(t.document_lines.c.document_id.in_(document_ids))
                .order_by(t.document_lines.c.document_id, t.document_lines.c.position)
            )
            for row in self.connection.execute(query).mappings():
                lines[row["document_id"]].append(mapping.line_from_row(row))
        return lines

    def add_document(self, doc: Document) -> Document:
        """Save a new document with its lines (version 1)."""
        now = self._now()
        values = mapping.document_values(doc, *self._client_identity(doc.client_id)) | {
            "created_at": doc.created_at or now,
            "updated_at": doc.updated_at or now,
            "version": 1,
        }
        doc_id = self._insert_id(t.documents, values)
        self._write_lines(doc_id, doc.lines)
        # The stored form is ``doc`` itself (reading its JSON columns back cost as much as
        # writing them, bench/core.py), but for ``extra``, which is stored as JSON values.
        return attrs.evolve(
            doc,
            id=doc_id,
            extra=values["extra"],
            created_at=values["created_at"],
            updated_at=values["updated_at"],
            version=1,
        )

    def move_document(self, doc: Document, changes: Mapping[str, Any]) -> Document:
        """Store a workflow move: ``changes`` to the state fields of ``doc`` (``status``,
        ``number``, ``series``, ``payment_status``; its lines and content stay), if nobody
        changed it since it was read (:class:`Conflict` otherwise, as :meth:`update_document`).

        Only the changed columns are written: a move does not re-encode the document's parties
        and totals (bench/core.py)."""
        unknown = set(changes) - _MOVE_FIELDS
        if unknown:
            raise ValueError(f"not a state field: {sorted(unknown)}")
        doc_id = _require_id(doc.id, "document")
        moved = attrs.evolve(doc, **changes)
        now = self._now()
        columns: dict[str, Any] = {"updated_at": now}
        for name in changes:
            value = getattr(moved, name)
            columns[name] = value.value if isinstance(value, enum.Enum) else value
        if "number" in changes:
            columns["search_key"] = mapping.search_key(moved)
        values = {f"_set_{name}": value for name, value in columns.items()}
        values |= {"_doc_id": doc_id, "_version": doc.version}
        result = self.connection.execute(_move_document_statement(frozenset(columns)), values)
        if result.rowcount != 1:
            d = t.documents
            exists = self.connection.execute(sa.select(d.c.id).where(d.c.id == doc_id)).first()
            if exists is None:
                raise NotFound(N_("Not found"), entity="documents", id=doc_id)
            raise Conflict(
                N_("Somebody else changed this document; reload it and try again"),
                document_id=doc_id,
            )
        return attrs.evolve(moved, updated_at=now, version=doc.version + 1)

    def update_document(self, doc: Document, *, lines: bool = True) -> Document:
        """Overwrite a document if nobody changed it since it was read (optimistic locking).

        Succeeds only when the stored version equals ``doc.version``, and bumps it; otherwise
        raises :class:`Conflict` (stale) or :class:`NotFound` (gone). Lines are replaced, unless
        ``lines=False`` says they are the stored ones (a workflow move never changes them).
        """
        doc_id = _require_id(doc.id, "document")
        d = t.documents
        values = mapping.document_values(doc, *self._client_identity(doc.client_id))
        values |= {"updated_at": self._now(), "_doc_id": doc_id, "_version": doc.version}
        row = self.connection.execute(_update_document_statement(), values).mappings().first()
        if row is None:
            exists = self.connection.execute(sa.select(d.c.id).where(d.c.id == doc_id)).first()
            if exists is None:
                raise NotFound(N_("Not found"), entity="documents", id=doc_id)
            raise Conflict(
                N_("Somebody else changed this document; reload it and try again"),
                document_id=doc_id,
            )
        if lines:
            self.connection.execute(
                sa.delete(t.document_lines).where(t.document_lines.c.document_id == doc_id)
            )
            self._write_lines(doc_id, doc.lines)
        return mapping.document_from_row(row, doc.lines)

    # -- VAT registers (the SQL is in cabinet_core.storage.vat_register)
    def vat_register_entries(
        self,
        *,
        client_id: int,
        selections: Sequence[vat_register.RegisterSelection],
        start: date,
        end: date,
        buyer_side: bool,
        reuse: Mapping[tuple[int, vat_register.Stamp], T] | None = None,
    ) -> Iterator[RegisterEntry | T]:
        """The documents of one VAT register of a client in ``start``-``end``, streamed; a
        document whose ``(id, stamp)`` is in ``reuse`` comes as that value instead."""
        return vat_register.register_entries(
            self.connection,
            client_id=client_id,
            selections=selections,
            start=start,
            end=end,
            buyer_side=buyer_side,
            reuse=reuse,
        )

    def get_vat_mark(self, document_id: int) -> VatMark | None:
        """The accountant's VAT-register mark on a document, if any."""
        return vat_register.get_mark(self.connection, document_id)

    def put_vat_mark(self, mark: VatMark) -> None:
        """Store the VAT-register mark of a document (replacing an earlier one)."""
        vat_register.put_mark(self.connection, mark, self._now())

    def get_document(self, doc_id: int) -> Document | None:
        """The document with its lines, or ``None``."""
        row = self._one(sa.select(t.documents).where(t.documents.c.id == doc_id))
        if row is None:
            return None
        return mapping.document_from_row(row, self._lines_of([doc_id])[doc_id])

    def get_documents(self, doc_ids: Iterable[int]) -> dict[int, Document]:
        """The documents of ``doc_ids`` that exist, with their lines, by id: two queries per
        500 ids (a backlog's claim of a thousand documents read one by one cost two
        thousand round trips, bench/bitrix.py)."""
        wanted = list(dict.fromkeys(doc_ids))
        found: dict[int, Document] = {}
        for n in range(0, len(wanted), 500):
            part = wanted[n : n + 500]
            rows = self.connection.execute(
                sa.select(t.documents).where(t.documents.c.id.in_(part))
            ).mappings()
            by_id = {row["id"]: row for row in rows}
            lines = self._lines_of(list(by_id))
            for doc_id in part:
                if doc_id in by_id:
                    found[doc_id] = mapping.document_from_row(by_id[doc_id], lines[doc_id])
        return found

    def delete_document(self, doc_id: int) -> None:
        """Delete a document and its lines; documents that pointed at it lose the link."""
        self._delete(t.documents, doc_id)

    def list_documents(self, query: DocumentQuery) -> Page[Document]:
        """A page of documents matching ``query``, with the total over all pages.

        The page is read first (its ids from the list index, then its rows): when it is not
        full, its own length gives the total and the count is not run (a search usually finds
        less than a page); otherwise one ``count(*)`` over the same conditions, which the list
        index answers alone. Lines come in one more query unless ``query.summary``.
        """
        d = t.documents
        conditions: list[sa.ColumnElement[bool]] = []
        if query.client_ids is not None:
            conditions.append(d.c.client_id.in_(query.client_ids))
        if query.doc_types:
            conditions.append(d.c.doc_type.in_(query.doc_types))
        if query.statuses:
            conditions.append(d.c.status.in_(query.statuses))
        if query.date_from is not None:
            conditions.append(d.c.issue_date >= query.date_from)
        if query.date_to is not None:
            conditions.append(d.c.issue_date <= query.date_to)
        if query.counterparty_id is not None:
            conditions.append(d.c.counterparty_id == query.counterparty_id)
        if query.related_id is not None:
            conditions.append(d.c.related_id == query.related_id)
        if query.after_id is not None:
            conditions.append(d.c.id > query.after_id)
        if query.currency:
            conditions.append(d.c.currency == query.currency.upper())
        if query.payment_status is not None:
            conditions.append(d.c.payment_status == query.payment_status.value)
        if query.payment_method is not None:
            conditions.append(d.c.payment_method == query.payment_method.value)
        if query.unpaid or query.due_before is not None:
            conditions.append(d.c.payment_status != PaymentStatus.PAID.value)
        if query.due_before is not None:
            conditions.append(d.c.due_date < query.due_before)
        if query.search and query.search.strip():
            conditions.append(document_search(query.search.strip()))
        order = DOCUMENT_ORDERS[query.order]
        # The page's ids first, from the covering list index alone, then only those rows: the
        # filters never fetch the table rows of the client's other documents.
        ids = (
            sa.select(d.c.id)
            .where(*conditions)
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
            .subquery("page")
        )
        rows = list(
            self.connection.execute(
                sa.select(d).join(ids, d.c.id == ids.c.id).order_by(*order)
            ).mappings()
        )
        if len(rows) < query.limit and (rows or query.offset == 0):
            total = query.offset + len(rows)
        else:
            counted = sa.select(sa.func.count()).select_from(d).where(*conditions)
            total = int(self.connection.execute(counted).scalar_one())
        if query.summary:
            items = [mapping.document_from_row(row, ()) for row in rows]
        else:
            lines = self._lines_of([row["id"] for row in rows])
            items = [mapping.document_from_row(row, lines[row["id"]]) for row in rows]
        return page(items, total, query.limit, query.offset)

    # -- attachments
    def add_attachment(self, attachment: Attachment) -> Attachment:
        """Record a file attached to a document (the bytes are in the file store already)."""
        values = mapping.attachment_values(attachment) | {
            "created_at": attachment.created_at or self._now()
        }
        return mapping.attachment_from_row(self._insert(t.attachments, values))

    def get_attachment(self, attachment_id: int) -> Attachment | None:
        """The attachment, or ``None``."""
        row = self._one(sa.select(t.attachments).where(t.attachments.c.id == attachment_id))
        return None if row is None else mapping.attachment_from_row(row)

    def list_attachments(self, document_id: int) -> list[Attachment]:
        """A document's attachments, oldest first."""
        a = t.attachments
        query = sa.select(a).where(a.c.document_id == document_id).order_by(a.c.id)
        rows = self.connection.execute(query).mappings()
        return [mapping.attachment_from_row(row) for row in rows]

    def delete_attachment(self, attachment_id: int) -> None:
        """Forget an attachment (its file may be shared, so the file store keeps it)."""
        self._delete(t.attachments, attachment_id)

    def next_number(self, client_id: int, series: str) -> int:
        """The next number of ``series`` for the client: 1, 2, 3 … with no gaps.

        The counter stays locked until this transaction ends and a rollback releases the
        number (see :mod:`cabinet_core.storage.numbering`).
        """
        return numbering.next_number(self.connection, client_id, series)

    def current_number(self, client_id: int, series: str) -> int:
        """The last number handed out in ``series`` (0 before the first)."""
        return numbering.current_number(self.connection, client_id, series)

    # -- news, chat, notifications
    def add_news(self, item: NewsItem) -> NewsItem:
        """Publish a news item (``published_at`` defaults to now)."""
        values = mapping.news_values(item) | {
            "published_at": item.published_at or self._now(),
            "updated_at": item.updated_at,
        }
        return mapping.news_from_row(self._insert(t.news, values))

    def update_news(self, item: NewsItem) -> NewsItem:
        """Edit a news item; ``updated_at`` becomes now."""
        news_id = _require_id(item.id, "news item")
        values = mapping.news_values(item) | {"updated_at": self._now()}
        if item.published_at is not None:
            values["published_at"] = item.published_at
        return mapping.news_from_row(self._update(t.news, news_id, values))

    def delete_news(self, news_id: int) -> None:
        """Delete a news item."""
        self._delete(t.news, news_id)

    def get_news(self, news_id: int) -> NewsItem | None:
        """The news item, or ``None``."""
        row = self._one(sa.select(t.news).where(t.news.c.id == news_id))
        return None if row is None else mapping.news_from_row(row)

    def get_news_by_external_id(self, external_id: str) -> NewsItem | None:
        """The news item a CRM created under ``external_id``, or ``None``."""
        row = self._one(sa.select(t.news).where(t.news.c.external_id == external_id))
        return None if row is None else mapping.news_from_row(row)

    def list_news(self, *, limit: int = 20, offset: int = 0) -> Page[NewsItem]:
        """News, newest first."""
        n = t.news
        query = sa.select(n)
        total = self._count(query)
        rows = self.connection.execute(
            query.order_by(n.c.published_at.desc(), n.c.id.desc()).limit(limit).offset(offset)
        ).mappings()
        return page([mapping.news_from_row(row) for row in rows], total, limit, offset)

    def add_chat_message(self, msg: ChatMessage) -> ChatMessage:
        """Append a message to a client's conversation."""
        values = {
            "client_id": msg.client_id,
            "author_id": msg.author_id,
            "body": msg.body,
            "created_at": msg.created_at or self._now(),
            "external_id": msg.external_id,
        }
        return mapping.chat_from_row(self._insert(t.chat_messages, values))

    def get_chat_message_by_external_id(self, external_id: str) -> ChatMessage | None:
        """The message a CRM delivered under ``external_id``, or ``None``."""
        c = t.chat_messages
        row = self._one(sa.select(c).where(c.c.external_id == external_id))
        return None if row is None else mapping.chat_from_row(row)

    def list_chat_messages(
        self, client_id: int, *, after_id: int | None = None, limit: int = 100
    ) -> list[ChatMessage]:
        """A client's messages, oldest first; ``after_id`` fetches only newer ones (polling)."""
        c = t.chat_messages
        query = sa.select(c).where(c.c.client_id == client_id)
        if after_id is not None:
            query = query.where(c.c.id > after_id)
        query = query.order_by(c.c.id).limit(limit)
        return [mapping.chat_from_row(row) for row in self.connection.execute(query).mappings()]

    def add_notification(self, n: Notification) -> Notification:
        """Notify a user."""
        values = {
            "user_id": n.user_id,
            "kind": n.kind,
            "text": n.text,
            "link": n.link,
            "created_at": n.created_at or self._now(),
            "read_at": n.read_at,
        }
        return mapping.notification_from_row(self._insert(t.notifications, values))

    def list_notifications(
        self, user_id: int, *, unread_only: bool = False, limit: int = 50
    ) -> list[Notification]:
        """A user's notifications, newest first."""
        n = t.notifications
        query = sa.select(n).where(n.c.user_id == user_id)
        if unread_only:
            query = query.where(n.c.read_at.is_(None))
        query = query.order_by(n.c.id.desc()).limit(limit)
        return [
            mapping.notification_from_row(row) for row in self.connection.execute(query).mappings()
        ]

    def email_choices(self, user_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
        """User id → notification kind → e-mail wanted, where the user changed the default."""
        return notification_preferences.email_choices(self.connection, user_ids)

    def put_email_choices(self, user_id: int, choices: Mapping[str, bool]) -> None:
        """Replace a user's e-mail choices for notifications."""
        notification_preferences.put_email_choices(self.connection, user_id, choices)

    def unmailed_unread_notifications(
        self, kind: str, *, created_before: datetime, created_after: datetime, limit: int = 500
    ) -> list[Notification]:
        """Unread notifications of ``kind`` created in the window and never queued for
        e-mail (no ``mail.notification`` outbox message names them), oldest first."""
        n, o = t.notifications, t.outbox
        mailed = (
            sa.select(o.c.id)
            .where(
                o.c.entity == "notification",
                o.c.entity_id == n.c.id,
                o.c.topic == "mail.notification",
            )
            .exists()
        )
        query = (
            sa.select(n)
            .where(
                n.c.kind == kind,
                n.c.read_at.is_(None),
                n.c.created_at <= created_before,
                n.c.created_at > created_after,
                ~mailed,
            )
            .order_by(n.c.id)
            .limit(limit)
        )
        return [
            mapping.notification_from_row(row) for row in self.connection.execute(query).mappings()
        ]

    def mark_all_notifications_read(self, user_id: int, *, at: datetime) -> int:
        """Mark every unread notification of a user read; how many were."""
        n = t.notifications
        result = self.connection.execute(
            sa.update(n).where(n.c.user_id == user_id, n.c.read_at.is_(None)).values(read_at=at)
        )
        return int(result.rowcount)

    def mark_notification_read(self, notification_id: int, *, at: datetime) -> None:
        """Mark a notification read (a second call keeps the first time)."""
        n = t.notifications
        result = self.connection.execute(
            sa.update(n)
            .where(n.c.id == notification_id)
            .values(read_at=sa.func.coalesce(n.c.read_at, at))
        )
        _checked(result, "notifications", notification_id)

    # -- audit and outbox
    def record(
        self,
        entry: AuditEntry,
        message: OutboxMessage | None = None,
        *,
        subscribers: Iterable[str] = (),
    ) -> None:
        """Record a change's audit entry and, with ``message`` (a payload of JSON values only),
        its outbox message with one delivery per subscriber: written by :meth:`flush`, at the
        latest when the transaction commits, in the order recorded (a rolled-back transaction
        writes neither). Reads of the audit log and the outbox in this transaction, and the
        immediate :meth:`add_audit`/:meth:`add_outbox`, flush first."""
        self._audit_rows.append(self._audit_values(entry))
        if message is not None:
            self._outbox_rows.append((message, tuple(subscribers)))

    def flush(self) -> None:
        """Write what :meth:`record` holds (the store calls it before committing)."""
        if self._audit_rows:
            rows, self._audit_rows = self._audit_rows, []
            self.connection.execute(_insert_plain_statement(t.audit_log), rows)
        if self._outbox_rows:
            messages, self._outbox_rows = self._outbox_rows, []
            outbox.add_many(self.connection, messages, self._now())

    def _audit_values(self, entry: AuditEntry) -> dict[str, Any]:
        # An entry written while a web request is served says where it came from.
        origin = current_origin() if entry.ip is None and entry.user_agent is None else None
        return {
            "at": entry.at or self._now(),
            "actor_id": entry.actor_id,
            "client_id": entry.client_id,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "detail": json_value(entry.detail),
            "ip": origin.ip if origin is not None else entry.ip,
            "user_agent": origin.user_agent if origin is not None else entry.user_agent,
        }

    def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record who did what (in the same transaction as the change itself), at once."""
        self.flush()
        values = self._audit_values(entry)
        entry_id = self._insert_id(t.audit_log, values)
        return attrs.evolve(
            entry,
            id=entry_id,
            at=values["at"],
            detail=values["detail"],
            ip=values["ip"],
            user_agent=values["user_agent"],
        )

    def list_audit(
        self,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        client_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries, newest first, filtered by entity and/or client."""
        self.flush()
        a = t.audit_log
        query = sa.select(a)
        if entity is not None:
            query = query.where(a.c.entity == entity)
        if entity_id is not None:
            query = query.where(a.c.entity_id == entity_id)
        if client_id is not None:
            query = query.where(a.c.client_id == client_id)
        query = query.order_by(a.c.id.desc()).limit(limit)
        return [mapping.audit_from_row(row) for row in self.connection.execute(query).mappings()]

    def search_audit(
        self,
        audit_filter: AuditFilter,
        *,
        client_ids: Collection[int] | None = None,
        offset: int = 0,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        """Audit entries matching ``audit_filter`` among ``client_ids`` (``None``: all),
        newest first (:func:`cabinet_core.storage.audit_log.search`)."""
        self.flush()
        return audit_log.search(
            self.connection,
            audit_filter,
            client_ids=client_ids,
            offset=offset,
            limit=limit,
            before_id=before_id,
        )

    def count_audit(
        self, audit_filter: AuditFilter, *, client_ids: Collection[int] | None = None
    ) -> int:
        """How many audit entries :meth:`search_audit` would find in all."""
        self.flush()
        return audit_log.count(self.connection, audit_filter, client_ids=client_ids)

    def add_outbox(
        self, message: OutboxMessage, *, subscribers: Iterable[str], json_ready: bool = False
    ) -> OutboxMessage:
        """Queue a change with one delivery per subscriber (:func:`cabinet_core.sync.
        delivery_subscribers` says whom a service's change goes to; a CRM's reconciliation
        re-queues for itself only). Delivered only if this transaction commits. With
        ``json_ready`` the payload is stored as it is (it holds JSON values only)."""
        self.flush()
        return outbox.add(self.connection, message, subscribers, self._now(), json_ready=json_ready)

    def outbox_for(self, entity: str, entity_id: int) -> list[OutboxMessage]:
        """Every message about one entity (delivered, pending or failed), newest first, one
        entry per subscriber's delivery."""
        self.flush()
        return outbox.about(self.connection, entity, entity_id)

    def outbox_pending(self, entity: str, entity_id: int, *, subscriber: str) -> bool:
        """Whether a message about the entity still waits for delivery to ``subscriber``."""
        self.flush()
        return outbox.pending_about(self.connection, subscriber, entity, entity_id)

    # -- API tokens
    def add_api_token(self, token: ApiToken) -> ApiToken:
        """Save a token's hash (the secret itself is never stored)."""
        values = {
            "user_id": token.user_id,
            "name": token.name,
            "token_hash": token.token_hash,
            "prefix": token.prefix,
            "created_at": token.created_at or self._now(),
            "last_used_at": token.last_used_at,
            "scopes": " ".join(TokenScope.closure(token.scopes)),
            "expires_at": token.expires_at,
        }
        return mapping.token_from_row(self._insert(t.api_tokens, values))

    def get_api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with this SHA-256 hash, or ``None``."""
        a = t.api_tokens
        row = self._one(sa.select(a).where(a.c.token_hash == token_hash))
        return None if row is None else mapping.token_from_row(row)

    def list_api_tokens(self, user_id: int) -> list[ApiToken]:
        """A user's tokens, oldest first."""
        a = t.api_tokens
        query = sa.select(a).where(a.c.user_id == user_id).order_by(a.c.id)
        return [mapping.token_from_row(row) for row in self.connection.execute(query).mappings()]

    def delete_api_token(self, token_id: int) -> None:
        """Revoke a token."""
        self._delete(t.api_tokens, token_id)

    def touch_api_token(self, token_id: int, *, at: datetime) -> None:
        """Record when a token was last used."""
        a = t.api_tokens
        result = self.connection.execute(
            sa.update(a).where(a.c.id == token_id).values(last_used_at=at)
        )
        _checked(result, "api_tokens", token_id)

    # -- login throttling
    def record_login_attempt(self, key: str, *, at: datetime, success: bool) -> None:
        """Remember one login attempt for ``key`` (an e-mail, an address, or both)."""
        self.connection.execute(sa.insert(t.login_attempts).values(key=key, at=at, success=success))

    def count_failed_logins(self, key: str, *, since: datetime) -> int:
        """Failed attempts for ``key`` since ``since`` and after its last success."""
        la = t.login_attempts
        last_success = (
            sa.select(sa.func.max(la.c.at))
            .where(la.c.key == key, la.c.success.is_(True))
            .scalar_subquery()
        )
        query = sa.select(sa.func.count()).where(
            la.c.key == key,
            la.c.success.is_(False),
            la.c.at >= since,
            sa.or_(last_success.is_(None), la.c.at > last_success),
        )
        return int(self.connection.execute(query).scalar_one())

    def forget_login_attempts(self, key: str, *, before: datetime) -> None:
        """Delete ``key``'s attempts older than ``before`` (they no longer count)."""
        la = t.login_attempts
        self.connection.execute(sa.delete(la).where(la.c.key == key, la.c.at < before))

    def login_failures(self, key: str, *, since: datetime) -> tuple[int, datetime | None]:
        """How many attempts for ``key`` failed since ``since`` and after its last success,
        and when the latest of them was (``None`` when there is none)."""
        la = t.login_attempts
        last_success = (
            sa.select(sa.func.max(la.c.at))
            .where(la.c.key == key, la.c.success.is_(True))
            .scalar_subquery()
        )
        query = sa.select(sa.func.count(), sa.func.max(la.c.at)).where(
            la.c.key == key,
            la.c.success.is_(False),
            la.c.at >= since,
            sa.or_(last_success.is_(None), la.c.at > last_success),
        )
        count, latest = self.connection.execute(query).one()
        return int(count), latest

    # -- settings
    # -- signing in (the SQL is in cabinet_core.storage.auth)
    @property
    def auth(self) -> AuthTables:
        """Sessions, single-use password links and second factors of this transaction
        (:mod:`cabinet_core.storage.auth`)."""
        return AuthTables(self.connection, self._now)

    # -- KSeF (the SQL is in cabinet_core.storage.ksef_submissions)
    @property
    def ksef(self) -> KsefTables:
        """The KSeF tables of this transaction: submissions, clients with KSeF on, received
        numbers (:mod:`cabinet_core.storage.ksef_submissions`)."""
        return KsefTables(self.connection, self._now)

    # -- dashboards (the SQL is in cabinet_core.storage.dashboard)
    @property
    def dashboard(self) -> DashboardQueries:
        """The dashboards' counts and sums (:mod:`cabinet_core.storage.dashboard`)."""
        return DashboardQueries(self.connection)

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A stored setting's JSON value, or ``default``."""
        row = self.connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == key)
        ).first()
        return default if row is None else row.value

    def settings_with_prefix(self, prefix: str, *, limit: int | None = None) -> dict[str, Any]:
        """The stored settings whose key starts with ``prefix`` (JSON null values left out),
        in key order, at most ``limit`` of them."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            sa.select(t.settings.c.key, t.settings.c.value)
            .where(t.settings.c.key.like(f"{escaped}%", escape="\\"))
            .order_by(t.settings.c.key)
        )
        if limit is not None:
            query = query.limit(limit)
        return {
            row.key: row.value for row in self.connection.execute(query) if row.value is not None
        }

    def settings_of(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored settings of exactly ``keys`` (JSON null values and keys not stored left
        out), read in chunks of a few hundred keys (an IN list stays well below any
        database's parameter limit)."""
        wanted = sorted(set(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = sa.select(t.settings.c.key, t.settings.c.value).where(
                t.settings.c.key.in_(chunk)
            )
            found.update(
                (row.key, row.value)
                for row in self.connection.execute(query)
                if row.value is not None
            )
        return found

    def delete_setting(self, key: str) -> None:
        """Forget the setting ``key`` (nothing happens when it is not stored)."""
        self.connection.execute(sa.delete(t.settings).where(t.settings.c.key == key))

    def set_settings(self, values: Mapping[str, Any]) -> None:
        """Store many JSON values at once (one statement for all, replacing old ones);
        ``None`` deletes the key."""
        rows = [
            {"key": key, "value": json_value(value)}
            for key, value in values.items()
            if value is not None
        ]
        gone = [key for key, value in values.items() if value is None]
        if rows:
            statement = numbering.dialect_insert(self.connection, t.settings)
            self.connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[t.settings.c.key], set_={"value": statement.excluded.value}
                ),
                rows,
            )
        for n in range(0, len(gone), 500):
            self.connection.execute(
                sa.delete(t.settings).where(t.settings.c.key.in_(gone[n : n + 500]))
            )

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (replacing the old one)."""
        statement = numbering.dialect_insert(self.connection, t.settings).values(
            key=key, value=json_value(value)
        )
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[t.settings.c.key], set_={"value": statement.excluded.value}
            )
        )

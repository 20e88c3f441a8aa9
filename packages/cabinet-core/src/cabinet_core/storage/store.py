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

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping

from cabinet_core.converter import converter, json_value, to_json_dict
from cabinet_core.entities import (
    Address,
    ApiToken,
    AuditEntry,
    BankAccount,
    ChatMessage,
    Client,
    Counterparty,
    Document,
    DocumentLine,
    DocumentTotals,
    ExchangeRate,
    NewsItem,
    Notification,
    OutboxMessage,
    Party,
    PartyKind,
    PaymentMethod,
    PaymentStatus,
    PriceMode,
    Product,
    Role,
    User,
    VatMethod,
)
from cabinet_core.errors import N_, Conflict, NotFound
from cabinet_core.storage import schema as t

__all__ = ["DocumentQuery", "Page", "Store", "Tx"]

T = TypeVar("T")
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

DOCUMENT_ORDERS: Mapping[str, tuple[sa.ColumnElement[Any], ...]] = {
    "-issue_date": (t.documents.c.issue_date.desc(), t.documents.c.id.desc()),
    "issue_date": (t.documents.c.issue_date.asc(), t.documents.c.id.asc()),
    "-id": (t.documents.c.id.desc(),),
    "id": (t.documents.c.id.asc(),),
    "number": (t.documents.c.number.asc(), t.documents.c.id.asc()),
    "-number": (t.documents.c.number.desc(), t.documents.c.id.desc()),
    "gross": (t.documents.c.gross.asc(), t.documents.c.id.asc()),
    "-gross": (t.documents.c.gross.desc(), t.documents.c.id.desc()),
}


def utcnow() -> datetime:
    """The store's default clock: an aware UTC now."""
    return datetime.now(UTC)


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a list, with the number of items on all pages."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int


@attrs.frozen(kw_only=True)
class DocumentQuery:
    """What a document list asks for; services fill ``client_ids`` from the actor's access.

    ``search`` matches the number, either party's name or NIP, or the gross amount typed the
    Polish way ("1 234,56") or the plain way ("1234.56").
    """

    client_ids: tuple[int, ...] | None = None
    doc_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    search: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    counterparty_id: int | None = None
    currency: str | None = None
    payment_status: PaymentStatus | None = None
    payment_method: PaymentMethod | None = None
    order: str = attrs.field(default="-issue_date")
    limit: int = 50
    offset: int = 0

    @order.validator
    def _known_order(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in DOCUMENT_ORDERS:
            raise ValueError(f"unknown order {value!r}; use one of {sorted(DOCUMENT_ORDERS)}")


# -- helpers ---

_AMOUNT = re.compile(r"^-?(\d{1,3}([ \u00a0.]\d{3})+|\d+)([.,]\d{1,2})?$")


def parse_amount(text: str) -> Decimal | None:
    """Read an amount typed into a search box ("123,45", "1 234,56", "1.234,56", "99.9").

    Returns ``None`` when the text is not an amount. A dot followed by exactly three digits is a
    thousands separator, as Polish users type it.
    """
    text = text.strip()
    match = _AMOUNT.match(text)
    if not match:
        return None
    integer, fraction = match.group(1), match.group(3) or ""
    digits = re.sub(r"[ \u00a0.]", "", integer)
    sign = "-" if text.startswith("-") else ""
    try:
        return Decimal(f"{sign}{digits}.{fraction[1:] or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def _fold(text: str | None) -> str:
    return (text or "").casefold()


def _like(column: sa.ColumnElement[Any], term: str) -> sa.ColumnElement[bool]:
    return column.contains(term, autoescape=True)


def _page(items: Sequence[T], total: int, limit: int, offset: int) -> Page[T]:
    return Page(items=tuple(items), total=total, limit=limit, offset=offset)


def _require_id(entity_id: int | None, what: str) -> int:
    if entity_id is None:
        raise ValueError(f"cannot update a {what} that has not been saved (id is None)")
    return entity_id


def _checked(result: sa.CursorResult[Any], what: str, entity_id: int) -> None:
    if result.rowcount == 0:
        raise NotFound(N_("Not found"), entity=what, id=entity_id)


# -- the store ---


class Store:
    """The database of one cabinet: schema migrations, transactions and the outbox queue."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self.clock: Clock = clock or utcnow
        if self.dialect not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")

    @classmethod
    def from_url(cls, url: str, *, clock: Clock | None = None, **engine_kwargs: Any) -> Store:
        """Open a store; a SQLite file's directory is created and the connection tuned.

        ``engine_kwargs`` go to :func:`sqlalchemy.create_engine` (pool sizes, ``echo`` …).
        """
        sa_url = sa.make_url(url)
        if sa_url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url!r}: use SQLite or PostgreSQL")
        if sa_url.get_backend_name() == "sqlite":
            database = sa_url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(sa_url, **engine_kwargs)
            _tune_sqlite(engine)
        else:
            engine_kwargs.setdefault("pool_pre_ping", True)
            engine = sa.create_engine(sa_url, **engine_kwargs)
        return cls(engine, clock=clock)

    # -- lifecycle ---
    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``); idempotent.

        Safe when several processes start at once: PostgreSQL serialises them on an advisory
        lock, SQLite on its writer lock.
        """
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        with self.engine.connect() as connection, connection.begin():
            if self.dialect == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

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
        with self.engine.connect() as connection:
            if readonly:
                connection.execution_options(cabinet_readonly=True)
            with connection.begin():
                yield Tx(connection, self)

    # -- outbox ---
    def claim_outbox(
        self, *, limit: int, now: datetime, lease_seconds: int = 60
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages for delivery, oldest first, under a lease.

        The claim commits at once: the rows are invisible to other workers until
        ``now + lease_seconds`` (or until marked), and delivery happens outside any transaction.
        On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent workers claim disjoint rows
        without waiting; on SQLite ``BEGIN IMMEDIATE`` serialises the claims. Each claim counts
        as an attempt, so a worker that dies mid-delivery still moves a message towards failure.
        """
        o = t.outbox
        due = (
            sa.select(o.c.id)
            .where(
                o.c.delivered_at.is_(None),
                o.c.failed_at.is_(None),
                sa.or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= now),
                sa.or_(o.c.claimed_until.is_(None), o.c.claimed_until <= now),
            )
            .order_by(o.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with self.engine.connect() as connection, connection.begin():
            ids = list(connection.scalars(due))
            if not ids:
                return []
            rows = connection.execute(
                sa.update(o)
                .where(o.c.id.in_(ids))
                .values(
                    claimed_until=now + timedelta(seconds=lease_seconds),
                    attempts=o.c.attempts + 1,
                )
                .returning(*o.c)
            ).mappings()
            messages = [_outbox_from_row(row) for row in rows]
        return sorted(messages, key=lambda message: message.id or 0)

    def mark_delivered(self, message_id: int, *, now: datetime) -> None:
        """Record that every active backend accepted the message."""
        self._update_outbox(
            message_id, delivered_at=now, claimed_until=None, last_error=None, next_attempt_at=None
        )

    def mark_retry(self, message_id: int, *, error: str, next_attempt_at: datetime) -> None:
        """Release the claim and try again at ``next_attempt_at``."""
        self._update_outbox(
            message_id, last_error=error, next_attempt_at=next_attempt_at, claimed_until=None
        )

    def mark_failed(self, message_id: int, *, error: str, now: datetime) -> None:
        """Give up on the message; it stays visible in ``list_outbox(status="failed")``."""
        self._update_outbox(message_id, last_error=error, failed_at=now, claimed_until=None)

    def retry_failed(self, message_id: int) -> None:
        """Put a failed message back in the queue with a fresh attempt count (an admin action)."""
        self._update_outbox(
            message_id, failed_at=None, attempts=0, next_attempt_at=None, claimed_until=None
        )

    def _update_outbox(self, message_id: int, **values: Any) -> None:
        with self.engine.connect() as connection, connection.begin():
            result = connection.execute(
                sa.update(t.outbox).where(t.outbox.c.id == message_id).values(**values)
            )
            _checked(result, "outbox", message_id)

    def list_outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Messages by status (``pending``, ``delivered`` or ``failed``; all when None), oldest
        first for pending, newest first otherwise."""
        o = t.outbox
        query = sa.select(o).limit(limit)
        if status is None:
            query = query.order_by(o.c.id.desc())
        elif status == "pending":
            query = query.where(o.c.delivered_at.is_(None), o.c.failed_at.is_(None))
            query = query.order_by(o.c.id)
        elif status == "delivered":
            query = query.where(o.c.delivered_at.is_not(None)).order_by(o.c.id.desc())
        elif status == "failed":
            query = query.where(o.c.failed_at.is_not(None)).order_by(o.c.id.desc())
        else:
            raise ValueError(f"unknown outbox status {status!r}")
        with self.transaction(readonly=True) as tx:
            return [_outbox_from_row(row) for row in tx.connection.execute(query).mappings()]


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


# -- row <-> entity ---


def _json(value: Any) -> Any:
    return None if value is None else to_json_dict(value)


def _client_values(client: Client) -> dict[str, Any]:
    return {
        "name": client.name,
        "name_key": _fold(client.name),
        "nip": client.nip,
        "regon": client.regon,
        "address": to_json_dict(client.address),
        "email": client.email,
        "bank_accounts": [to_json_dict(account) for account in client.bank_accounts],
        "manager_id": client.manager_id,
        "allowed_templates": list(client.allowed_templates),
        "default_template": client.default_template,
        "language": client.language,
        "auto_send": client.auto_send,
        "active": client.active,
    }


def _client_from_row(row: RowMapping) -> Client:
    return Client(
        id=row["id"],
        name=row["name"],
        nip=row["nip"],
        regon=row["regon"],
        address=converter.structure(row["address"], Address),
        email=row["email"],
        bank_accounts=converter.structure(row["bank_accounts"], tuple[BankAccount, ...]),
        manager_id=row["manager_id"],
        allowed_templates=tuple(row["allowed_templates"]),
        default_template=row["default_template"],
        language=row["language"],
        auto_send=row["auto_send"],
        active=row["active"],
        created_at=row["created_at"],
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "email_key": user.email.strip().lower(),
        "name": user.name,
        "role": user.role.value,
        "client_id": user.client_id,
        "language": user.language,
        "password_hash": user.password_hash,
        "active": user.active,
    }


def _user_from_row(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        client_id=row["client_id"],
        language=row["language"],
        password_hash=row["password_hash"],
        active=row["active"],
        created_at=row["created_at"],
    )


def _counterparty_values(cp: Counterparty) -> dict[str, Any]:
    return {
        "client_id": cp.client_id,
        "kind": cp.kind.value,
        "name": cp.name,
        "name_key": _fold(cp.name),
        "nip": cp.nip,
        "vat_eu": cp.vat_eu,
        "address": to_json_dict(cp.address),
        "email": cp.email,
    }


def _counterparty_from_row(row: RowMapping) -> Counterparty:
    return Counterparty(
        id=row["id"],
        client_id=row["client_id"],
        kind=PartyKind(row["kind"]),
        name=row["name"],
        nip=row["nip"],
        vat_eu=row["vat_eu"],
        address=converter.structure(row["address"], Address),
        email=row["email"],
        created_at=row["created_at"],
    )


def _product_values(product: Product) -> dict[str, Any]:
    return {
        "client_id": product.client_id,
        "name": product.name,
        "name_key": _fold(product.name),
        "unit": product.unit,
        "unit_price": product.unit_price,
        "currency": product.currency,
        "vat_rate": product.vat_rate,
        "gtu": product.gtu,
    }


def _product_from_row(row: RowMapping) -> Product:
    return Product(
        id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        unit=row["unit"],
        unit_price=row["unit_price"],
        currency=row["currency"],
        vat_rate=row["vat_rate"],
        gtu=row["gtu"],
        created_at=row["created_at"],
    )


def _same_party(party: Party | None, nip: str | None, name: str) -> bool:
    if party is None:
        return False
    if party.nip and nip:
        return _digits(party.nip) == _digits(nip)
    return _fold(party.name) == _fold(name)


def _document_values(doc: Document, client_nip: str | None, client_name: str) -> dict[str, Any]:
    # The counterparty is whichever party is not the client itself: the buyer on a sales
    # invoice, the seller on a cost invoice.
    if _same_party(doc.seller, client_nip, client_name):
        other = doc.buyer
    elif _same_party(doc.buyer, client_nip, client_name):
        other = doc.seller
    else:
        other = doc.buyer or doc.seller
    search_parts = [doc.number or ""]
    for party in (doc.seller, doc.buyer):
        if party is not None:
            search_parts += [party.name, party.nip or "", _digits(party.nip), party.vat_eu or ""]
    totals = doc.totals
    rate = doc.exchange_rate
    return {
        "client_id": doc.client_id,
        "doc_type": doc.doc_type,
        "status": doc.status,
        "number": doc.number,
        "series": doc.series,
        "currency": doc.currency,
        "language": doc.language,
        "issue_date": doc.issue_date,
        "sale_date": doc.sale_date,
        "receipt_date": doc.receipt_date,
        "due_date": doc.due_date,
        "payment_method": doc.payment_method.value,
        "payment_status": doc.payment_status.value,
        "seller": _json(doc.seller),
        "buyer": _json(doc.buyer),
        "counterparty_id": doc.counterparty_id,
        "counterparty_name": other.name if other else None,
        "counterparty_nip": (_digits(other.nip) or None) if other else None,
        "search_key": _fold(" ".join(part for part in search_parts if part)),
        "bank_account": _json(doc.bank_account),
        "price_mode": doc.price_mode.value,
        "vat_method": doc.vat_method.value,
        "fx_currency": rate.currency if rate else None,
        "fx_rate": rate.rate if rate else None,
        "fx_date": rate.effective_date if rate else None,
        "fx_table": rate.table_no if rate else None,
        "fx_source": rate.source if rate else None,
        "totals": _json(totals),
        "net": totals.net if totals else Decimal("0.00"),
        "vat": totals.vat if totals else Decimal("0.00"),
        "gross": totals.gross if totals else Decimal("0.00"),
        "vat_pln": totals.vat_pln if totals else None,
        "template": doc.template,
        "notes": doc.notes,
        "extra": json_value(doc.extra),
        "related_id": doc.related_id,
        "created_by": doc.created_by,
    }


def _line_values(document_id: int, position: int, line: DocumentLine) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "position": position,
        "name": line.name,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": line.unit_price,
        "vat_rate": line.vat_rate,
        "product_id": line.product_id,
        "gtu": line.gtu,
        "before": line.before,
    }


def _line_from_row(row: RowMapping) -> DocumentLine:
    return DocumentLine(
        name=row["name"],
        quantity=row["quantity"],
        unit=row["unit"],
        unit_price=row["unit_price"],
        vat_rate=row["vat_rate"],
        product_id=row["product_id"],
        gtu=row["gtu"],
        before=row["before"],
    )


def _document_from_row(row: RowMapping, lines: Sequence[DocumentLine]) -> Document:
    rate = None
    if row["fx_rate"] is not None:
        rate = ExchangeRate(
            currency=row["fx_currency"],
            rate=row["fx_rate"],
            effective_date=row["fx_date"],
            table_no=row["fx_table"],
            source=row["fx_source"],
        )
    return Document(
        id=row["id"],
        client_id=row["client_id"],
        doc_type=row["doc_type"],
        status=row["status"],
        number=row["number"],
        series=row["series"],
        currency=row["currency"],
        language=row["language"],
        issue_date=row["issue_date"],
        sale_date=row["sale_date"],
        receipt_date=row["receipt_date"],
        due_date=row["due_date"],
        payment_method=PaymentMethod(row["payment_method"]),
        payment_status=PaymentStatus(row["payment_status"]),
        seller=None if row["seller"] is None else converter.structure(row["seller"], Party),
        buyer=None if row["buyer"] is None else converter.structure(row["buyer"], Party),
        counterparty_id=row["counterparty_id"],
        bank_account=(
            None
            if row["bank_account"] is None
            else converter.structure(row["bank_account"], BankAccount)
        ),
        lines=tuple(lines),
        price_mode=PriceMode(row["price_mode"]),
        vat_method=VatMethod(row["vat_method"]),
        exchange_rate=rate,
        totals=(
            None if row["totals"] is None else converter.structure(row["totals"], DocumentTotals)
        ),
        template=row["template"],
        notes=row["notes"],
        extra=dict(row["extra"]),
        related_id=row["related_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _news_values(item: NewsItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "body": item.body,
        "important": item.important,
        "author_id": item.author_id,
        "external_id": item.external_id,
    }


def _news_from_row(row: RowMapping) -> NewsItem:
    return NewsItem(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        important=row["important"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        author_id=row["author_id"],
        external_id=row["external_id"],
    )


def _chat_from_row(row: RowMapping) -> ChatMessage:
    return ChatMessage(
        id=row["id"],
        client_id=row["client_id"],
        author_id=row["author_id"],
        body=row["body"],
        created_at=row["created_at"],
        external_id=row["external_id"],
    )


def _notification_from_row(row: RowMapping) -> Notification:
    return Notification(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        text=row["text"],
        link=row["link"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


def _audit_from_row(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor_id=row["actor_id"],
        client_id=row["client_id"],
        action=row["action"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        detail=dict(row["detail"]),
    )


def _outbox_from_row(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        topic=row["topic"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        payload=dict(row["payload"]),
        created_at=row["created_at"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        delivered_at=row["delivered_at"],
        failed_at=row["failed_at"],
        last_error=row["last_error"],
    )


def _token_from_row(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        token_hash=row["token_hash"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
    )


# -- the transaction ---


class Tx:
    """One open transaction. Methods take entities and return them as stored (ids, timestamps).

    ``get_*`` return ``None`` for a missing row; ``update_*`` and ``delete_*`` raise
    :class:`~cabinet_core.errors.NotFound`. Nothing here checks access: the services do.
    """

    def __init__(self, connection: Connection, store: Store) -> None:
        self.connection = connection
        self.store = store

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.store.dialect

    def _now(self) -> datetime:
        return self.store.clock()

    def _one(self, query: sa.Select[Any]) -> RowMapping | None:
        return self.connection.execute(query).mappings().first()

    def _insert(self, table: sa.Table, values: Mapping[str, Any]) -> RowMapping:
        return (
            self.connection.execute(sa.insert(table).values(**values).returning(*table.c))
            .mappings()
            .one()
        )

    def _update(self, table: sa.Table, entity_id: int, values: Mapping[str, Any]) -> RowMapping:
        row = (
            self.connection.execute(
                sa.update(table).where(table.c.id == entity_id).values(**values).returning(*table.c)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(N_("Not found"), entity=table.name, id=entity_id)
        return row

    def _delete(self, table: sa.Table, entity_id: int) -> None:
        result = self.connection.execute(sa.delete(table).where(table.c.id == entity_id))
        _checked(result, table.name, entity_id)

    def _count(self, query: sa.Select[Any]) -> int:
        counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        return int(self.connection.execute(counted).scalar_one())

    # -- clients ---
    def add_client(self, client: Client) -> Client:
        """Save a new client."""
        values = _client_values(client) | {"created_at": client.created_at or self._now()}
        return _client_from_row(self._insert(t.clients, values))

    def update_client(self, client: Client) -> Client:
        """Overwrite a client's profile."""
        client_id = _require_id(client.id, "client")
        return _client_from_row(self._update(t.clients, client_id, _client_values(client)))

    def get_client(self, client_id: int) -> Client | None:
        """The client, or ``None``."""
        row = self._one(sa.select(t.clients).where(t.clients.c.id == client_id))
        return None if row is None else _client_from_row(row)

    def list_clients(
        self, *, manager_id: int | None = None, search: str | None = None
    ) -> list[Client]:
        """Clients by name; ``manager_id`` keeps one manager's, ``search`` matches name or NIP."""
        c = t.clients
        query = sa.select(c).order_by(c.c.name_key, c.c.id)
        if manager_id is not None:
            query = query.where(c.c.manager_id == manager_id)
        if search and search.strip():
            conditions = [_like(c.c.name_key, _fold(search.strip()))]
            if _digits(search):
                conditions.append(_like(c.c.nip, _digits(search)))
            query = query.where(sa.or_(*conditions))
        return [_client_from_row(row) for row in self.connection.execute(query).mappings()]

    # -- users ---
    def _email_taken(self, email: str, except_id: int | None) -> bool:
        query = sa.select(t.users.c.id).where(t.users.c.email_key == email.strip().lower())
        if except_id is not None:
            query = query.where(t.users.c.id != except_id)
        return self.connection.execute(query).first() is not None

    def add_user(self, user: User) -> User:
        """Save a new user; :class:`Conflict` when the e-mail is taken (in any letter case)."""
        if self._email_taken(user.email, None):
            raise Conflict(N_("A user with this e-mail address already exists"), email=user.email)
        values = _user_values(user) | {"created_at": user.created_at or self._now()}
        try:
            return _user_from_row(self._insert(t.users, values))
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
        return _user_from_row(self._update(t.users, user_id, _user_values(user)))

    def get_user(self, user_id: int) -> User | None:
        """The user, or ``None``."""
        row = self._one(sa.select(t.users).where(t.users.c.id == user_id))
        return None if row is None else _user_from_row(row)

    def get_user_by_email(self, email: str) -> User | None:
        """The user with this e-mail in any letter case, or ``None``."""
        row = self._one(sa.select(t.users).where(t.users.c.email_key == email.strip().lower()))
        return None if row is None else _user_from_row(row)

    def list_users(self, *, client_id: int | None = None, role: Role | None = None) -> list[User]:
        """Users by e-mail, optionally one client's or one role's."""
        u = t.users
        query = sa.select(u).order_by(u.c.email_key)
        if client_id is not None:
            query = query.where(u.c.client_id == client_id)
        if role is not None:
            query = query.where(u.c.role == role.value)
        return [_user_from_row(row) for row in self.connection.execute(query).mappings()]

    # -- counterparties and products ---
    def add_counterparty(self, cp: Counterparty) -> Counterparty:
        """Save a client's new counterparty."""
        values = _counterparty_values(cp) | {"created_at": cp.created_at or self._now()}
        return _counterparty_from_row(self._insert(t.counterparties, values))

    def update_counterparty(self, cp: Counterparty) -> Counterparty:
        """Overwrite a counterparty."""
        cp_id = _require_id(cp.id, "counterparty")
        row = self._update(t.counterparties, cp_id, _counterparty_values(cp))
        return _counterparty_from_row(row)

    def get_counterparty(self, cp_id: int) -> Counterparty | None:
        """The counterparty, or ``None``."""
        row = self._one(sa.select(t.counterparties).where(t.counterparties.c.id == cp_id))
        return None if row is None else _counterparty_from_row(row)

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
            conditions = [_like(c.c.name_key, _fold(term)), _like(c.c.vat_eu, term.upper())]
            if _digits(term):
                conditions.append(_like(c.c.nip, _digits(term)))
            query = query.where(sa.or_(*conditions))
        total = self._count(query)
        rows = self.connection.execute(
            query.order_by(c.c.name_key, c.c.id).limit(limit).offset(offset)
        ).mappings()
        return _page([_counterparty_from_row(row) for row in rows], total, limit, offset)

    def add_product(self, p: Product) -> Product:
        """Save a client's new product."""
        values = _product_values(p) | {"created_at": p.created_at or self._now()}
        return _product_from_row(self._insert(t.products, values))

    def update_product(self, p: Product) -> Product:
        """Overwrite a product."""
        product_id = _require_id(p.id, "product")
        return _product_from_row(self._update(t.products, product_id, _product_values(p)))

    def get_product(self, product_id: int) -> Product | None:
        """The product, or ``None``."""
        row = self._one(sa.select(t.products).where(t.products.c.id == product_id))
        return None if row is None else _product_from_row(row)

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
            query = query.where(_like(p.c.name_key, _fold(search.strip())))
        total = self._count(query)
        rows = self.connection.execute(
            query.order_by(p.c.name_key, p.c.id).limit(limit).offset(offset)
        ).mappings()
        return _page([_product_from_row(row) for row in rows], total, limit, offset)

    # -- documents ---
    def _client_identity(self, client_id: int) -> tuple[str | None, str]:
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
                [_line_values(document_id, position, line) for position, line in enumerate(lines)],
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
                lines[row["document_id"]].append(_line_from_row(row))
        return lines

    def add_document(self, doc: Document) -> Document:
        """Save a new document with its lines (version 1)."""
        now = self._now()
        values = _document_values(doc, *self._client_identity(doc.client_id)) | {
            "created_at": doc.created_at or now,
            "updated_at": doc.updated_at or now,
            "version": 1,
        }
        row = self._insert(t.documents, values)
        self._write_lines(row["id"], doc.lines)
        return _document_from_row(row, doc.lines)

    def update_document(self, doc: Document) -> Document:
        """Overwrite a document if nobody changed it since it was read (optimistic locking).

        Succeeds only when the stored version equals ``doc.version``, and bumps it; otherwise
        raises :class:`Conflict` (stale) or :class:`NotFound` (gone). Lines are replaced.
        """
        doc_id = _require_id(doc.id, "document")
        d = t.documents
        values = _document_values(doc, *self._client_identity(doc.client_id)) | {
            "updated_at": self._now(),
            "version": d.c.version + 1,
        }
        row = (
            self.connection.execute(
                sa.update(d)
                .where(d.c.id == doc_id, d.c.version == doc.version)
                .values(**values)
                .returning(*d.c)
            )
            .mappings()
            .first()
        )
        if row is None:
            exists = self.connection.execute(sa.select(d.c.id).where(d.c.id == doc_id)).first()
            if exists is None:
                raise NotFound(N_("Not found"), entity="documents", id=doc_id)
            raise Conflict(
                N_("Somebody else changed this document; reload it and try again"),
                document_id=doc_id,
            )
        self.connection.execute(
            sa.delete(t.document_lines).where(t.document_lines.c.document_id == doc_id)
        )
        self._write_lines(doc_id, doc.lines)
        return _document_from_row(row, doc.lines)

    def get_document(self, doc_id: int) -> Document | None:
        """The document with its lines, or ``None``."""
        row = self._one(sa.select(t.documents).where(t.documents.c.id == doc_id))
        if row is None:
            return None
        return _document_from_row(row, self._lines_of([doc_id])[doc_id])

    def delete_document(self, doc_id: int) -> None:
        """Delete a document and its lines; documents that pointed at it lose the link."""
        self._delete(t.documents, doc_id)

    def list_documents(self, query: DocumentQuery) -> Page[Document]:
        """A page of documents matching ``query``, with the total over all pages."""
        d = t.documents
        select = sa.select(d)
        if query.client_ids is not None:
            select = select.where(d.c.client_id.in_(query.client_ids))
        if query.doc_types:
            select = select.where(d.c.doc_type.in_(query.doc_types))
        if query.statuses:
            select = select.where(d.c.status.in_(query.statuses))
        if query.date_from is not None:
            select = select.where(d.c.issue_date >= query.date_from)
        if query.date_to is not None:
            select = select.where(d.c.issue_date <= query.date_to)
        if query.counterparty_id is not None:
            select = select.where(d.c.counterparty_id == query.counterparty_id)
        if query.currency:
            select = select.where(d.c.currency == query.currency.upper())
        if query.payment_status is not None:
            select = select.where(d.c.payment_status == query.payment_status.value)
        if query.payment_method is not None:
            select = select.where(d.c.payment_method == query.payment_method.value)
        if query.search and query.search.strip():
            select = select.where(_document_search(query.search.strip()))
        total = self._count(select)
        rows = list(
            self.connection.execute(
                select.order_by(*DOCUMENT_ORDERS[query.order])
                .limit(query.limit)
                .offset(query.offset)
            ).mappings()
        )
        lines = self._lines_of([row["id"] for row in rows])
        items = [_document_from_row(row, lines[row["id"]]) for row in rows]
        return _page(items, total, query.limit, query.offset)

    def next_number(self, client_id: int, series: str) -> int:
        """The next number of ``series`` for the client: 1, 2, 3 … with no gaps.

        The counter row is incremented in this transaction and stays locked until it ends
        (PostgreSQL row lock; SQLite's writer lock from ``BEGIN IMMEDIATE``), so concurrent
        creators queue; a rollback undoes the increment, so the number is free again.
        """
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        s = t.number_series
        statement = (
            dialect_insert(s)
            .values(client_id=client_id, series=series, value=1)
            .on_conflict_do_update(
                index_elements=[s.c.client_id, s.c.series], set_={"value": s.c.value + 1}
            )
            .returning(s.c.value)
        )
        return int(self.connection.execute(statement).scalar_one())

    def current_number(self, client_id: int, series: str) -> int:
        """The last number handed out in ``series`` (0 before the first)."""
        s = t.number_series
        value = self.connection.execute(
            sa.select(s.c.value).where(s.c.client_id == client_id, s.c.series == series)
        ).scalar()
        return int(value or 0)

    # -- news, chat, notifications ---
    def add_news(self, item: NewsItem) -> NewsItem:
        """Publish a news item (``published_at`` defaults to now)."""
        values = _news_values(item) | {
            "published_at": item.published_at or self._now(),
            "updated_at": item.updated_at,
        }
        return _news_from_row(self._insert(t.news, values))

    def update_news(self, item: NewsItem) -> NewsItem:
        """Edit a news item; ``updated_at`` becomes now."""
        news_id = _require_id(item.id, "news item")
        values = _news_values(item) | {"updated_at": self._now()}
        if item.published_at is not None:
            values["published_at"] = item.published_at
        return _news_from_row(self._update(t.news, news_id, values))

    def delete_news(self, news_id: int) -> None:
        """Delete a news item."""
        self._delete(t.news, news_id)

    def get_news(self, news_id: int) -> NewsItem | None:
        """The news item, or ``None``."""
        row = self._one(sa.select(t.news).where(t.news.c.id == news_id))
        return None if row is None else _news_from_row(row)

    def get_news_by_external_id(self, external_id: str) -> NewsItem | None:
        """The news item a CRM created under ``external_id``, or ``None``."""
        row = self._one(sa.select(t.news).where(t.news.c.external_id == external_id))
        return None if row is None else _news_from_row(row)

    def list_news(self, *, limit: int = 20, offset: int = 0) -> Page[NewsItem]:
        """News, newest first."""
        n = t.news
        query = sa.select(n)
        total = self._count(query)
        rows = self.connection.execute(
            query.order_by(n.c.published_at.desc(), n.c.id.desc()).limit(limit).offset(offset)
        ).mappings()
        return _page([_news_from_row(row) for row in rows], total, limit, offset)

    def add_chat_message(self, msg: ChatMessage) -> ChatMessage:
        """Append a message to a client's conversation."""
        values = {
            "client_id": msg.client_id,
            "author_id": msg.author_id,
            "body": msg.body,
            "created_at": msg.created_at or self._now(),
            "external_id": msg.external_id,
        }
        return _chat_from_row(self._insert(t.chat_messages, values))

    def get_chat_message_by_external_id(self, external_id: str) -> ChatMessage | None:
        """The message a CRM delivered under ``external_id``, or ``None``."""
        c = t.chat_messages
        row = self._one(sa.select(c).where(c.c.external_id == external_id))
        return None if row is None else _chat_from_row(row)

    def list_chat_messages(
        self, client_id: int, *, after_id: int | None = None, limit: int = 100
    ) -> list[ChatMessage]:
        """A client's messages, oldest first; ``after_id`` fetches only newer ones (polling)."""
        c = t.chat_messages
        query = sa.select(c).where(c.c.client_id == client_id)
        if after_id is not None:
            query = query.where(c.c.id > after_id)
        query = query.order_by(c.c.id).limit(limit)
        return [_chat_from_row(row) for row in self.connection.execute(query).mappings()]

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
        return _notification_from_row(self._insert(t.notifications, values))

    def list_notifications(
        self, user_id: int, *, unread_only: bool = False, limit: int = 50
    ) -> list[Notification]:
        """A user's notifications, newest first."""
        n = t.notifications
        query = sa.select(n).where(n.c.user_id == user_id)
        if unread_only:
            query = query.where(n.c.read_at.is_(None))
        query = query.order_by(n.c.id.desc()).limit(limit)
        return [_notification_from_row(row) for row in self.connection.execute(query).mappings()]

    def mark_notification_read(self, notification_id: int, *, at: datetime) -> None:
        """Mark a notification read (a second call keeps the first time)."""
        n = t.notifications
        result = self.connection.execute(
            sa.update(n)
            .where(n.c.id == notification_id)
            .values(read_at=sa.func.coalesce(n.c.read_at, at))
        )
        _checked(result, "notifications", notification_id)

    # -- audit and outbox ---
    def add_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record who did what (in the same transaction as the change itself)."""
        values = {
            "at": entry.at or self._now(),
            "actor_id": entry.actor_id,
            "client_id": entry.client_id,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "detail": json_value(entry.detail),
        }
        return _audit_from_row(self._insert(t.audit_log, values))

    def list_audit(
        self,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        client_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries, newest first, filtered by entity and/or client."""
        a = t.audit_log
        query = sa.select(a)
        if entity is not None:
            query = query.where(a.c.entity == entity)
        if entity_id is not None:
            query = query.where(a.c.entity_id == entity_id)
        if client_id is not None:
            query = query.where(a.c.client_id == client_id)
        query = query.order_by(a.c.id.desc()).limit(limit)
        return [_audit_from_row(row) for row in self.connection.execute(query).mappings()]

    def add_outbox(self, message: OutboxMessage) -> OutboxMessage:
        """Queue a change for the CRM backends; it is delivered only if this transaction commits."""
        values = {
            "topic": message.topic,
            "entity": message.entity,
            "entity_id": message.entity_id,
            "payload": json_value(message.payload),
            "created_at": message.created_at or self._now(),
            "attempts": 0,
            "next_attempt_at": message.next_attempt_at,
        }
        return _outbox_from_row(self._insert(t.outbox, values))

    # -- API tokens -----------------------------------------------------------------------------
    def add_api_token(self, token: ApiToken) -> ApiToken:
        """Save a token's hash (the secret itself is never stored)."""
        values = {
            "user_id": token.user_id,
            "name": token.name,
            "token_hash": token.token_hash,
            "prefix": token.prefix,
            "created_at": token.created_at or self._now(),
            "last_used_at": token.last_used_at,
        }
        return _token_from_row(self._insert(t.api_tokens, values))

    def get_api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with this SHA-256 hash, or ``None``."""
        a = t.api_tokens
        row = self._one(sa.select(a).where(a.c.token_hash == token_hash))
        return None if row is None else _token_from_row(row)

    def list_api_tokens(self, user_id: int) -> list[ApiToken]:
        """A user's tokens, oldest first."""
        a = t.api_tokens
        query = sa.select(a).where(a.c.user_id == user_id).order_by(a.c.id)
        return [_token_from_row(row) for row in self.connection.execute(query).mappings()]

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

    # -- login throttling ---
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

    # -- settings ---
    def get_setting(self, key: str, default: Any = None) -> Any:
        """A stored setting's JSON value, or ``default``."""
        row = self.connection.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == key)
        ).first()
        return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (replacing the old one)."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(t.settings).values(key=key, value=json_value(value))
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[t.settings.c.key], set_={"value": statement.excluded.value}
            )
        )


def _document_search(term: str) -> sa.ColumnElement[bool]:
    d = t.documents
    conditions = [_like(d.c.search_key, _fold(term))]
    digits = _digits(term)
    # "123-456-78-90" finds the NIP stored as digits.
    if digits and len(digits) >= 3 and re.fullmatch(r"[\d\s-]+", term):
        conditions.append(_like(d.c.search_key, digits))
    amount = parse_amount(term)
    if amount is not None:
        conditions.append(d.c.gross == amount)
    return sa.or_(*conditions)

"""Every Store and Tx method, on SQLite and on PostgreSQL (the ``store`` fixture runs both)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
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
    PaymentMethod,
    PaymentStatus,
    Product,
    RateTotal,
    Role,
    User,
)
from cabinet_core.errors import Conflict, NotFound
from cabinet_core.storage import DocumentQuery, Store, parse_amount
from cabinet_core.storage.schema import metadata
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HEAD_REVISION = "0018_client_accountant"


def _client(
    store: Store, name: str = "Łódzka Piekarnia sp. z o.o.", nip: str = "7251801126"
) -> Client:
    with store.transaction() as tx:
        return tx.add_client(Client(name=name, nip=nip))


def _invoice(
    client: Client, number: str, gross: str, buyer: str, buyer_nip: str | None, **kw: object
) -> Document:
    gross_value = Decimal(gross)
    net = (gross_value / Decimal("1.23")).quantize(Decimal("0.01"))
    values: dict[str, object] = {
        "client_id": client.id,
        "doc_type": "vat_invoice",
        "number": number,
        "issue_date": date(2026, 2, 1),
        "seller": Party(name=client.name, nip=client.nip),
        "buyer": Party(name=buyer, nip=buyer_nip),
        "lines": (DocumentLine(name="Usługa", unit_price=net),),
        "totals": DocumentTotals(
            currency="PLN",
            rows=(RateTotal(rate="23", net=net, vat=gross_value - net, gross=gross_value),),
            net=net,
            vat=gross_value - net,
            gross=gross_value,
        ),
    }
    values.update(kw)
    return Document(**values)  # type: ignore[arg-type]


# -- schema and lifecycle ----------------------------------------------------------------------


def test_migrations_create_exactly_the_schema(store: Store) -> None:
    store.migrate()  # a second run is a no-op
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == HEAD_REVISION


def test_migrations_downgrade_and_upgrade_again(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_client(Client(name="Przed"))
    store.downgrade("base")
    assert store.schema_revision() is None
    assert set(sa.inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store.migrate()
    assert store.schema_revision() == HEAD_REVISION
    with store.transaction() as tx:
        assert tx.list_clients() == []
        assert tx.add_client(Client(name="Po")).id is not None


def test_0002_keeps_existing_lines_and_their_annex15_defaults_to_false(store: Store) -> None:
    client = _client(store)
    annex = DocumentLine(name="Stal", unit_price=Decimal("100.00"), annex15=True)
    with store.transaction() as tx:
        doc = tx.add_document(_invoice(client, "FV/1", "123.00", "Kupiec", None, lines=(annex,)))
        assert doc.id is not None
        assert tx.get_document(doc.id).lines == (annex,)  # type: ignore[union-attr]
    store.downgrade("0001")
    assert "attachments" not in sa.inspect(store.engine).get_table_names()
    line_columns = {c["name"] for c in sa.inspect(store.engine).get_columns("document_lines")}
    assert "annex15" not in line_columns
    store.migrate()
    with store.transaction() as tx:
        # The line written before the column existed reads back as "not annex 15".
        assert tx.get_document(doc.id).lines == (attrs.evolve(annex, annex15=False),)  # type: ignore[union-attr]
        assert tx.list_attachments(doc.id) == []


def test_concurrent_migrations_are_serialised(db_url: str) -> None:
    stores = [Store.from_url(db_url) for _ in range(3)]
    stores[0].downgrade("base")  # the session's PostgreSQL database may be migrated already
    errors: list[BaseException] = []

    def migrate(store: Store) -> None:
        try:
            store.migrate()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert [store.schema_revision() for store in stores] == [HEAD_REVISION] * 3
    finally:
        for store in stores:
            store.close()


def test_sqlite_connections_are_tuned(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'db.sqlite3'}")
    try:
        store.migrate()
        with store.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 30000
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert (tmp_path / "nested" / "dir" / "db.sqlite3").exists()
    finally:
        store.close()


def test_sqlite_write_transactions_take_the_writer_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with store.transaction():
            # No statement has run in the open transaction, yet a second writer is refused:
            # BEGIN IMMEDIATE took the lock, so numbering cannot deadlock on a lock upgrade.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # Readers still see the last committed state (WAL).
            assert other.execute("SELECT count(*) FROM clients").fetchone() == (0,)
            with store.transaction(readonly=True) as reader:
                assert reader.list_clients() == []
    finally:
        other.close()
        store.close()


def test_transaction_commits_or_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        client = tx.add_client(Client(name="Gone"))
        tx.add_audit(AuditEntry(action="create", entity="client", entity_id=client.id))
        tx.add_outbox(
            OutboxMessage(topic="client.created", entity="client", entity_id=client.id),
            subscribers=("null",),
        )
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.list_clients() == []
        assert tx.list_audit() == []
    assert store.list_outbox() == []


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        Store.from_url("mysql+pymysql://nobody@localhost/none")


# -- clients and users ---------------------------------------------------------------------------


def test_clients(store: Store) -> None:
    store.clock = lambda: T0
    with store.transaction() as tx:
        manager = tx.add_user(User(email="manager@firm.pl", role=Role.MANAGER))
        client = tx.add_client(
            Client(
                name="Żółta Łódź S.A.",
                nip="5260250274",
                regon="012100784",
                address=Address(line1="ul. Długa 1", postal_code="00-001", city="Warszawa"),
                bank_accounts=(BankAccount(currency="EUR", iban="PL61109010140000071219812874"),),
                manager_id=manager.id,
                allowed_templates=("classic", "modern"),
                default_template="classic",
                auto_send=True,
            )
        )
        other = tx.add_client(Client(name="Alfa", nip="1234563218"))
    assert client.id is not None and client.created_at == T0
    with store.transaction() as tx:
        assert tx.get_client(client.id) == client
        assert tx.get_client(10_000) is None
        assert [c.name for c in tx.list_clients()] == ["Alfa", "Żółta Łódź S.A."]
        assert tx.list_clients(manager_id=manager.id) == [client]
        assert tx.list_clients(search="ŻÓŁTA") == [client]
        assert tx.list_clients(search="526-025") == [client]
        updated = tx.update_client(
            Client(id=client.id, name="Żółta Łódź S.A.", language="en", active=False)
        )
    assert updated.language == "en" and not updated.active and updated.created_at == T0
    assert updated.bank_accounts == () and updated.manager_id is None
    with store.transaction() as tx:
        assert tx.get_client(other.id or 0) == other
        with pytest.raises(NotFound):
            tx.update_client(Client(id=999, name="nobody"))


def test_users(store: Store) -> None:
    client = _client(store)
    with store.transaction() as tx:
        ola = tx.add_user(
            User(
                email="Ola@Example.PL", name="Ola", client_id=client.id, password_hash="$argon2id$x"
            )
        )
        admin = tx.add_user(User(email="admin@firm.pl", role=Role.ADMIN))
    assert ola.id is not None and ola.email == "Ola@Example.PL"
    with store.transaction() as tx:
        assert tx.get_user(ola.id) == ola
        assert tx.get_user_by_email("ola@example.pl") == ola
        assert tx.get_user_by_email(" OLA@EXAMPLE.PL ") == ola
        assert tx.get_user_by_email("nobody@example.pl") is None
        assert tx.list_users(client_id=client.id) == [ola]
        assert tx.list_users(role=Role.ADMIN) == [admin]
        assert len(tx.list_users()) == 2
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_user(User(email="OLA@example.pl"))
    with store.transaction() as tx:
        with pytest.raises(Conflict):
            tx.update_user(User(id=admin.id, email="ola@example.pl", role=Role.ADMIN))
        renamed = tx.update_user(
            User(id=ola.id, email="ola@new.pl", name="Ola N", client_id=client.id)
        )
    assert renamed.email == "ola@new.pl" and renamed.created_at == ola.created_at
    with store.transaction() as tx:
        assert tx.get_user_by_email("OLA@new.pl") == renamed


# -- counterparties and products -------------------------------------------------------------


def test_counterparties(store: Store) -> None:
    mine, theirs = _client(store), _client(store, "Inna firma", "1234563218")
    with store.transaction() as tx:
        cps = [
            tx.add_counterparty(
                Counterparty(client_id=mine.id or 0, name=name, nip=nip, vat_eu=vat_eu)
            )
            for name, nip, vat_eu in (
                ("Łabędź sp. j.", "5260250274", None),
                ("Beta GmbH", None, "DE136695976"),
                ("alfa s.c.", "1234563218", None),
            )
        ]
        tx.add_counterparty(Counterparty(client_id=theirs.id or 0, name="Obcy"))
    with store.transaction() as tx:
        page = tx.list_counterparties(mine.id or 0)
        assert [cp.name for cp in page.items] == ["alfa s.c.", "Beta GmbH", "Łabędź sp. j."]
        assert page.total == 3
        assert tx.list_counterparties(mine.id or 0, search="ŁABĘDŹ").items == (cps[0],)
        assert tx.list_counterparties(mine.id or 0, search="526-02").items == (cps[0],)
        assert tx.list_counterparties(mine.id or 0, search="de136695976").items == (cps[1],)
        second = tx.list_counterparties(mine.id or 0, limit=1, offset=1)
        assert second.items == (cps[1],) and second.total == 3 and second.offset == 1
        assert tx.get_counterparty(cps[0].id or 0) == cps[0]
        changed = tx.update_counterparty(
            Counterparty(id=cps[0].id, client_id=mine.id or 0, name="Łabędź sp. k.", email="a@b.pl")
        )
        assert tx.get_counterparty(cps[0].id or 0) == changed
        tx.delete_counterparty(cps[0].id or 0)
        assert tx.get_counterparty(cps[0].id or 0) is None
        with pytest.raises(NotFound):
            tx.delete_counterparty(cps[0].id or 0)


def test_products(store: Store) -> None:
    client = _client(store)
    with store.transaction() as tx:
        hour = tx.add_product(
            Product(
                client_id=client.id or 0,
                name="Godzina doradztwa",
                unit="h",
                unit_price=Decimal("250.123456"),
            )
        )
        book = tx.add_product(
            Product(
                client_id=client.id or 0, name="Książka", unit_price=Decimal("39.99"), vat_rate="5"
            )
        )
    with store.transaction() as tx:
        assert tx.get_product(hour.id or 0) == hour
        assert hour.unit_price == Decimal("250.123456")
        assert tx.list_products(client.id or 0).items == (hour, book)
        assert tx.list_products(client.id or 0, search="KSIĄŻ").items == (book,)
        assert tx.list_products(client.id or 0, limit=1).total == 2
        cheaper = tx.update_product(
            Product(id=book.id, client_id=client.id or 0, name="Książka", unit_price=Decimal("35"))
        )
        assert tx.get_product(book.id or 0) == cheaper
        tx.delete_product(hour.id or 0)
        assert tx.get_product(hour.id or 0) is None
        with pytest.raises(NotFound):
            tx.update_product(hour)


# -- documents ---------------------------------------------------------------------------------


def test_document_round_trip_keeps_everything(store: Store) -> None:
    client = _client(store)
    store.clock = lambda: T0
    with store.transaction() as tx:
        cp = tx.add_counterparty(Counterparty(client_id=client.id or 0, name="Kupiec"))
        product = tx.add_product(Product(client_id=client.id or 0, name="Towar"))
        doc = _invoice(
            client,
            "FV/1/02/2026",
            "1230.00",
            "Kupiec",
            "1234563218",
            currency="EUR",
            counterparty_id=cp.id,
            bank_account=BankAccount(currency="EUR", iban="PL61109010140000071219812874"),
            exchange_rate=ExchangeRate(
                currency="EUR",
                rate=Decimal("4.2512"),
                effective_date=date(2026, 1, 30),
                table_no="020/A/NBP/2026",
            ),
            lines=(
                DocumentLine(
                    name="Towar",
                    quantity=Decimal("2.5"),
                    unit_price=Decimal("400.000001"),
                    product_id=product.id,
                ),
                DocumentLine(
                    name="Stan przed", unit_price=Decimal("-1"), before=True, gtu="GTU_12"
                ),
            ),
            extra={"period": "2026-01", "flags": [1, 2]},
            payment_method=PaymentMethod.CARD,
            due_date=date(2026, 2, 15),
            notes="Dziękujemy",
        )
        saved = tx.add_document(doc)
    assert saved.id is not None and saved.version == 1
    assert saved.created_at == T0 and saved.updated_at == T0
    with store.transaction() as tx:
        loaded = tx.get_document(saved.id)
        assert tx.get_document(saved.id + 100) is None
    assert loaded == saved
    assert loaded is not None and loaded.lines[0].unit_price == Decimal("400.000001")
    assert loaded.totals is not None and loaded.totals.gross == Decimal("1230.00")
    assert loaded.exchange_rate is not None and loaded.exchange_rate.rate == Decimal("4.2512")


def test_update_document_is_optimistic(store: Store) -> None:
    client = _client(store)
    with store.transaction() as tx:
        doc = tx.add_document(_invoice(client, "FV/1", "123.00", "Kupiec", None))
    later = T0 + timedelta(days=1)
    store.clock = lambda: later
    with store.transaction() as tx:
        paid = tx.update_document(attrs.evolve(doc, payment_status=PaymentStatus.PAID, lines=()))
    assert paid.version == 2 and paid.updated_at == later and paid.created_at == doc.created_at
    with store.transaction() as tx:
        assert tx.get_document(doc.id or 0) == paid
        assert paid.lines == ()
        with pytest.raises(Conflict):
            tx.update_document(doc)  # version 1 is stale now
    with store.transaction() as tx:
        tx.delete_document(doc.id or 0)
        with pytest.raises(NotFound):
            tx.update_document(paid)
        with pytest.raises(NotFound):
            tx.delete_document(doc.id or 0)


def test_deleting_linked_rows_keeps_documents(store: Store) -> None:
    client = _client(store)
    with store.transaction() as tx:
        cp = tx.add_counterparty(Counterparty(client_id=client.id or 0, name="Kupiec"))
        product = tx.add_product(Product(client_id=client.id or 0, name="Towar"))
        original = tx.add_document(
            _invoice(
                client,
                "FV/1",
                "123.00",
                "Kupiec",
                None,
                counterparty_id=cp.id,
                lines=(
                    DocumentLine(name="Towar", unit_price=Decimal("100"), product_id=product.id),
                ),
            )
        )
        correction = tx.add_document(
            _invoice(
                client,
                "KOR/1",
                "-123.00",
                "Kupiec",
                None,
                doc_type="correction",
                related_id=original.id,
            )
        )
        tx.delete_counterparty(cp.id or 0)
        tx.delete_product(product.id or 0)
        tx.delete_document(original.id or 0)
        kept = tx.get_document(correction.id or 0)
    assert kept is not None and kept.related_id is None and kept.number == "KOR/1"


def test_document_list_filters_search_order_and_paging(store: Store) -> None:
    mine = _client(store)
    other = _client(store, "Obca firma", "1234563218")
    with store.transaction() as tx:
        cp = tx.add_counterparty(Counterparty(client_id=mine.id or 0, name="Śnieżka"))
        docs = [
            tx.add_document(
                _invoice(
                    mine,
                    "FV/1/01/2026",
                    "123.45",
                    "Śnieżka S.A.",
                    "526-025-02-74",
                    issue_date=date(2026, 1, 10),
                    counterparty_id=cp.id,
                )
            ),
            tx.add_document(
                _invoice(
                    mine,
                    "FV/2/01/2026",
                    "1234.56",
                    "Alfa",
                    "7251801126",
                    issue_date=date(2026, 1, 20),
                    currency="EUR",
                    payment_status=PaymentStatus.PAID,
                )
            ),
            tx.add_document(
                _invoice(
                    mine,
                    "PRO/1/02/2026",
                    "50.00",
                    "Beta",
                    None,
                    doc_type="proforma",
                    issue_date=date(2026, 2, 5),
                    status="issued",
                    payment_method=PaymentMethod.CASH,
                )
            ),
            # A cost invoice: the client is the buyer, so the seller is the counterparty.
            tx.add_document(
                Document(
                    client_id=mine.id or 0,
                    doc_type="cost_invoice",
                    number="ABC-77",
                    issue_date=date(2026, 2, 7),
                    seller=Party(name="Dostawca Ćma", nip="9876543210"),
                    buyer=Party(name=mine.name, nip=mine.nip),
                )
            ),
            tx.add_document(
                _invoice(
                    other,
                    "FV/1/01/2026",
                    "123.45",
                    "Śnieżka S.A.",
                    None,
                    issue_date=date(2026, 1, 11),
                )
            ),
        ]

        def numbers(**kw: object) -> list[str | None]:
            page = tx.list_documents(DocumentQuery(client_ids=(mine.id or 0,), **kw))  # type: ignore[arg-type]
            return [doc.number for doc in page.items]

        assert numbers() == ["ABC-77", "PRO/1/02/2026", "FV/2/01/2026", "FV/1/01/2026"]
        assert numbers(order="issue_date")[0] == "FV/1/01/2026"
        assert numbers(order="-gross")[:2] == ["FV/2/01/2026", "FV/1/01/2026"]
        assert numbers(order="number") == [
            "ABC-77",
            "FV/1/01/2026",
            "FV/2/01/2026",
            "PRO/1/02/2026",
        ]
        assert numbers(order="-id")[0] == "ABC-77"
        assert numbers(doc_types=("proforma", "cost_invoice")) == ["ABC-77", "PRO/1/02/2026"]
        assert numbers(statuses=("issued",)) == ["PRO/1/02/2026"]
        assert numbers(date_from=date(2026, 1, 15), date_to=date(2026, 2, 5)) == [
            "PRO/1/02/2026",
            "FV/2/01/2026",
        ]
        assert numbers(counterparty_id=cp.id) == ["FV/1/01/2026"]
        assert numbers(currency="eur") == ["FV/2/01/2026"]
        assert numbers(payment_status=PaymentStatus.PAID) == ["FV/2/01/2026"]
        assert numbers(payment_method=PaymentMethod.CASH) == ["PRO/1/02/2026"]
        # Search: number, either party's name (any case, Polish letters), NIP, gross amount.
        assert numbers(search="fv/2/") == ["FV/2/01/2026"]
        assert numbers(search="ŚNIEŻKA") == ["FV/1/01/2026"]
        assert numbers(search="ćma") == ["ABC-77"]
        assert numbers(search="5260250274") == ["FV/1/01/2026"]
        assert numbers(search="526-025-02-74") == ["FV/1/01/2026"]
        assert numbers(search="123,45") == ["FV/1/01/2026"]
        assert numbers(search="1 234,56") == ["FV/2/01/2026"]
        assert numbers(search="1234.56") == ["FV/2/01/2026"]
        assert numbers(search="100%") == []  # LIKE wildcards are literal
        # Paging returns the total over all pages.
        page = tx.list_documents(
            DocumentQuery(client_ids=(mine.id or 0,), limit=2, offset=2, order="issue_date")
        )
        assert [d.number for d in page.items] == ["PRO/1/02/2026", "ABC-77"]
        assert (page.total, page.limit, page.offset) == (4, 2, 2)
        # Lines come with listed documents, and None means every client.
        assert page.items[0].lines == docs[2].lines
        assert tx.list_documents(DocumentQuery()).total == 5
        assert tx.list_documents(DocumentQuery(client_ids=())).total == 0
    # The denormalised counterparty columns pick the party that is not the client.
    with store.engine.connect() as connection:
        rows = dict(
            connection.execute(
                sa.text("SELECT number, counterparty_name FROM documents WHERE client_id = :c"),
                {"c": mine.id},
            ).all()
        )
    assert rows["ABC-77"] == "Dostawca Ćma" and rows["FV/1/01/2026"] == "Śnieżka S.A."


def test_document_query_rejects_unknown_order() -> None:
    with pytest.raises(ValueError, match="order"):
        DocumentQuery(order="password_hash")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("123,45", Decimal("123.45")),
        ("1 234,56", Decimal("1234.56")),
        ("1\u00a0234,5", Decimal("1234.5")),
        ("1.234,56", Decimal("1234.56")),
        ("99.9", Decimal("99.9")),
        ("2026", Decimal("2026")),
        ("-10,00", Decimal("-10.00")),
        ("FV/1", None),
        ("12,345", None),
        ("", None),
    ],
)
def test_parse_amount(text: str, amount: Decimal | None) -> None:
    assert parse_amount(text) == amount


@given(
    amount=st.decimals(min_value=0, max_value=10**12, places=2),
    group=st.sampled_from([" ", "\u00a0", ".", ""]),
)
def test_amounts_typed_the_polish_way_parse_back(amount: Decimal, group: str) -> None:
    whole, _, cents = f"{amount:.2f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", group)
    assert parse_amount(f"{grouped},{cents}") == amount
    assert parse_amount(f"{whole}.{cents}") == amount


# -- news, chat, notifications -----------------------------------------------------------------


def test_news(store: Store) -> None:
    with store.transaction() as tx:
        old = tx.add_news(NewsItem(title="Stare", published_at=T0 - timedelta(days=3)))
        new = tx.add_news(NewsItem(title="Nowe", body="Treść", important=True, external_id="b24:7"))
    with store.transaction() as tx:
        assert tx.get_news(old.id or 0) == old
        assert tx.get_news_by_external_id("b24:7") == new
        assert tx.get_news_by_external_id("b24:8") is None
        page = tx.list_news()
        assert page.items == (new, old) and page.total == 2
        assert tx.list_news(limit=1, offset=1).items == (old,)
        edited = tx.update_news(NewsItem(id=old.id, title="Stare (poprawione)"))
        assert edited.published_at == old.published_at and edited.updated_at is not None
        tx.delete_news(new.id or 0)
        assert tx.get_news(new.id or 0) is None
        with pytest.raises(NotFound):
            tx.delete_news(new.id or 0)


def test_chat_messages(store: Store) -> None:
    client, other = _client(store), _client(store, "Inna", None)  # type: ignore[arg-type]
    with store.transaction() as tx:
        user = tx.add_user(User(email="u@x.pl", client_id=client.id))
        first = tx.add_chat_message(
            ChatMessage(client_id=client.id or 0, author_id=user.id, body="Dzień dobry")
        )
        second = tx.add_chat_message(
            ChatMessage(
                client_id=client.id or 0, author_id=None, body="Odpowiedź", external_id="b24:msg:1"
            )
        )
        tx.add_chat_message(ChatMessage(client_id=other.id or 0, author_id=None, body="Obcy"))
    with store.transaction() as tx:
        assert tx.list_chat_messages(client.id or 0) == [first, second]
        assert tx.list_chat_messages(client.id or 0, after_id=first.id) == [second]
        assert tx.list_chat_messages(client.id or 0, limit=1) == [first]
        assert tx.get_chat_message_by_external_id("b24:msg:1") == second
        assert tx.get_chat_message_by_external_id("nope") is None


def test_notifications(store: Store) -> None:
    with store.transaction() as tx:
        user = tx.add_user(User(email="n@x.pl", role=Role.ACCOUNTANT))
        first = tx.add_notification(
            Notification(user_id=user.id or 0, kind="document", text="Nowa faktura")
        )
        second = tx.add_notification(
            Notification(user_id=user.id or 0, kind="chat", text="Wiadomość", link="/chat")
        )
    with store.transaction() as tx:
        assert tx.list_notifications(user.id or 0) == [second, first]
        tx.mark_notification_read(first.id or 0, at=T0)
        tx.mark_notification_read(first.id or 0, at=T0 + timedelta(hours=1))  # keeps the first time
        assert tx.list_notifications(user.id or 0, unread_only=True) == [second]
        assert tx.list_notifications(user.id or 0, limit=1) == [second]
        assert tx.list_notifications(user.id or 0)[1].read_at == T0
        with pytest.raises(NotFound):
            tx.mark_notification_read(10_000, at=T0)


# -- audit, tokens, logins, settings -------------------------------------------------------------


def test_audit(store: Store) -> None:
    client = _client(store)
    with store.transaction() as tx:
        a = tx.add_audit(
            AuditEntry(
                action="create",
                entity="document",
                entity_id=5,
                client_id=client.id,
                detail={"number": "FV/1", "gross": Decimal("1.00")},
            )
        )
        b = tx.add_audit(AuditEntry(action="login", entity="user", entity_id=1, at=T0))
    with store.transaction() as tx:
        assert tx.list_audit() == [b, a]
        assert tx.list_audit(entity="document", entity_id=5) == [a]
        assert tx.list_audit(client_id=client.id) == [a]
        assert tx.list_audit(limit=1) == [b]
    assert a.detail == {"number": "FV/1", "gross": "1.00"} and b.at == T0


def test_api_tokens(store: Store) -> None:
    with store.transaction() as tx:
        user = tx.add_user(User(email="t@x.pl"))
        token = tx.add_api_token(
            ApiToken(user_id=user.id or 0, name="CI", token_hash="ab" * 32, prefix="cab_12")
        )
        tx.add_api_token(ApiToken(user_id=user.id or 0, name="Excel", token_hash="cd" * 32))
    with store.transaction() as tx:
        assert tx.get_api_token_by_hash("ab" * 32) == token
        assert tx.get_api_token_by_hash("ef" * 32) is None
        assert [t.name for t in tx.list_api_tokens(user.id or 0)] == ["CI", "Excel"]
        tx.touch_api_token(token.id or 0, at=T0)
        assert tx.list_api_tokens(user.id or 0)[0].last_used_at == T0
        tx.delete_api_token(token.id or 0)
        assert [t.name for t in tx.list_api_tokens(user.id or 0)] == ["Excel"]
        with pytest.raises(NotFound):
            tx.touch_api_token(token.id or 0, at=T0)


def test_login_attempts(store: Store) -> None:
    key = "ola@example.pl"
    with store.transaction() as tx:
        for minutes in (1, 2, 3):
            tx.record_login_attempt(key, at=T0 + timedelta(minutes=minutes), success=False)
        tx.record_login_attempt("other", at=T0, success=False)
    with store.transaction() as tx:
        assert tx.count_failed_logins(key, since=T0) == 3
        assert tx.count_failed_logins(key, since=T0 + timedelta(minutes=2)) == 2
        tx.record_login_attempt(key, at=T0 + timedelta(minutes=4), success=True)
        tx.record_login_attempt(key, at=T0 + timedelta(minutes=5), success=False)
        # A successful login resets the count.
        assert tx.count_failed_logins(key, since=T0) == 1


def test_settings(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.get_setting("crm.mapping") is None
        assert tx.get_setting("crm.mapping", {"x": 1}) == {"x": 1}
        tx.set_setting("crm.mapping", {"UF_NIP": "nip", "rate": Decimal("0.5")})
        tx.set_setting("crm.mapping", {"UF_NIP": "nip"})
        tx.set_setting("templates.auto", ["classic"])
    with store.transaction() as tx:
        assert tx.get_setting("crm.mapping") == {"UF_NIP": "nip"}
        assert tx.get_setting("templates.auto") == ["classic"]


# -- outbox (the Store's own transactions) -------------------------------------------------------


CRM = "crm-a"


def test_outbox_lifecycle(store: Store) -> None:
    with store.transaction() as tx:
        ids = [
            tx.add_outbox(
                OutboxMessage(
                    topic="document.created",
                    entity="document",
                    entity_id=n,
                    payload={"n": n, "gross": Decimal("1.50")},
                ),
                subscribers=(CRM,),
            ).id
            for n in range(4)
        ]
    assert store.list_outbox(status="pending")[0].payload == {"n": 0, "gross": "1.50"}
    claimed = store.claim_outbox(subscriber=CRM, limit=3, now=T0, lease_seconds=60)
    assert [m.id for m in claimed] == ids[:3] and all(m.attempts == 1 for m in claimed)
    assert all(m.subscriber == CRM for m in claimed)
    # Leased rows are invisible to the next claim until the lease runs out.
    assert [m.id for m in store.claim_outbox(subscriber=CRM, limit=10, now=T0)] == ids[3:]
    assert store.claim_outbox(subscriber=CRM, limit=10, now=T0 + timedelta(seconds=30)) == []
    store.mark_delivered(ids[0] or 0, subscriber=CRM, now=T0)
    store.mark_retry(
        ids[1] or 0, subscriber=CRM, error="timeout", next_attempt_at=T0 + timedelta(minutes=5)
    )
    store.mark_failed(ids[2] or 0, subscriber=CRM, error="400 Bad Request", now=T0)
    # Only the lease-expired row comes back a minute later; the retry waits for its time.
    assert [
        m.id
        for m in store.claim_outbox(
            subscriber=CRM, limit=10, now=T0 + timedelta(seconds=61), lease_seconds=3600
        )
    ] == [ids[3]]
    again = store.claim_outbox(subscriber=CRM, limit=10, now=T0 + timedelta(minutes=5))
    assert [(m.id, m.attempts, m.last_error) for m in again] == [(ids[1], 2, "timeout")]
    delivered = store.list_outbox(status="delivered")
    assert [m.id for m in delivered] == [ids[0]] and delivered[0].delivered_at == T0
    failed = store.list_outbox(status="failed")
    assert [(m.id, m.last_error, m.failed_at) for m in failed] == [(ids[2], "400 Bad Request", T0)]
    assert {m.id for m in store.list_outbox(status="pending")} == {ids[1], ids[3]}
    assert len(store.list_outbox()) == 4 and len(store.list_outbox(limit=2)) == 2
    store.retry_failed(ids[2] or 0)
    assert [m.attempts for m in store.list_outbox(status="pending") if m.id == ids[2]] == [0]
    # A worker whose lease ran out reports late: the delivery by another worker stands.
    store.mark_failed(ids[0] or 0, subscriber=CRM, error="late", now=T0)
    store.mark_retry(ids[0] or 0, subscriber=CRM, error="late", next_attempt_at=T0)
    [still] = [m for m in store.list_outbox(status="delivered") if m.id == ids[0]]
    assert still.failed_at is None and still.last_error is None
    with pytest.raises(ValueError, match="status"):
        store.list_outbox(status="lost")
    with pytest.raises(NotFound):
        store.mark_delivered(10_000, subscriber=CRM, now=T0)
    with pytest.raises(NotFound):  # a message that has no delivery to this subscriber
        store.mark_delivered(ids[0] or 0, subscriber="someone-else", now=T0)


def test_each_subscriber_has_its_own_delivery_state(store: Store) -> None:
    with store.transaction() as tx:
        both = tx.add_outbox(
            OutboxMessage(topic="client.updated", entity="client", entity_id=7, origin="crm-c"),
            subscribers=("crm-a", "crm-b", "crm-a"),
        )
        nobody = tx.add_outbox(
            OutboxMessage(topic="client.updated", entity="client", entity_id=7), subscribers=()
        )
    assert both.id is not None and nobody.id is not None and both.origin == "crm-c"
    [for_a] = store.claim_outbox(subscriber="crm-a", limit=10, now=T0)
    store.mark_failed(both.id, subscriber="crm-a", error="refused", now=T0)
    # B's delivery is untouched by A's failure and is claimed on its own.
    [for_b] = store.claim_outbox(subscriber="crm-b", limit=10, now=T0)
    assert (for_a.subscriber, for_b.subscriber, for_b.attempts) == ("crm-a", "crm-b", 1)
    assert for_b.origin == "crm-c"
    store.mark_delivered_many([both.id], subscriber="crm-b", now=T0)
    assert [(m.id, m.subscriber) for m in store.list_outbox(status="failed")] == [
        (both.id, "crm-a")
    ]
    assert [m.subscriber for m in store.list_outbox(status="delivered")] == ["crm-b"]
    assert store.list_outbox(status="pending", subscriber="crm-b") == []
    # With no status every message is listed, one entry per delivery (and one for a message
    # nobody subscribes to).
    everything = [(m.id, m.subscriber) for m in store.list_outbox()]
    assert everything == [(nobody.id, None), (both.id, "crm-a"), (both.id, "crm-b")]
    with store.transaction(readonly=True) as tx:
        assert [m.subscriber for m in tx.outbox_for("client", 7)] == [None, "crm-a", "crm-b"]
        assert not tx.outbox_pending("client", 7, subscriber="crm-a")
    store.retry_failed(both.id, subscriber="crm-a")
    with store.transaction(readonly=True) as tx:
        assert tx.outbox_pending("client", 7, subscriber="crm-a")
        assert not tx.outbox_pending("client", 7, subscriber="crm-b")
        assert not tx.outbox_pending("client", 8, subscriber="crm-a")


def test_a_claimed_batch_is_marked_delivered_in_one_statement(store: Store) -> None:
    with store.transaction() as tx:
        ids = [
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=n),
                subscribers=(CRM,),
            ).id
            or 0
            for n in range(5)
        ]
    store.claim_outbox(subscriber=CRM, limit=5, now=T0, lease_seconds=60)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        store.mark_delivered_many(ids[:4], subscriber=CRM, now=T0)
        store.mark_delivered_many([], subscriber=CRM, now=T0)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    # SQLite's BEGIN IMMEDIATE is a statement of its own; the work is one UPDATE.
    assert [s.split()[0] for s in statements if not s.startswith("BEGIN")] == ["UPDATE"]
    delivered = store.list_outbox(status="delivered")
    assert sorted(m.id for m in delivered) == ids[:4]
    assert all(m.delivered_at == T0 for m in delivered)
    assert [m.id for m in store.list_outbox(status="pending")] == [ids[4]]


def test_a_claim_is_three_statements_whatever_the_batch(store: Store) -> None:
    with store.transaction() as tx:
        for n in range(30):
            tx.add_outbox(
                OutboxMessage(topic="document.created", entity="document", entity_id=n),
                subscribers=(CRM, "other"),
            )
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        claimed = store.claim_outbox(subscriber=CRM, limit=25, now=T0)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert len(claimed) == 25
    # The due ids, the lease, the messages: one statement each for the whole batch.
    assert [s.split()[0] for s in statements if not s.startswith("BEGIN")] == [
        "SELECT",
        "UPDATE",
        "SELECT",
    ]


def test_concurrent_claims_never_share_a_row(store: Store) -> None:
    with store.transaction() as tx:
        for n in range(120):
            tx.add_outbox(
                OutboxMessage(topic="t", entity="document", entity_id=n), subscribers=(CRM,)
            )
    seen: list[int] = []
    lock = threading.Lock()

    def drain() -> None:
        while batch := store.claim_outbox(subscriber=CRM, limit=7, now=T0, lease_seconds=3600):
            with lock:
                seen.extend(m.id or 0 for m in batch)

    threads = [threading.Thread(target=drain) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 120

"""cabinet.dashboard on both databases: exact counts per role, the client's money picture in
PLN, and links that list exactly what was counted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from cabinet_core.dashboard import Dashboard
from cabinet_core.entities import (
    Actor,
    Client,
    Document,
    DocumentLine,
    ExchangeRate,
    OutboxMessage,
    Party,
)
from cabinet_core.errors import PermissionDenied
from cabinet_core.storage import DocumentQuery
from cabinet_core.sync import MAIL_SUBSCRIBER
from fixtures_services import World

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)
LINE = DocumentLine(name="Doradztwo", quantity=Decimal(2), unit_price=Decimal("100.00"))
BUYER = Party(name="Kupiec sp. z o.o.", nip="1234563218")
SELLER = Party(name="Dostawca S.A.", nip="5260001246")
EUR_RATE = ExchangeRate(
    currency="EUR", rate=Decimal("4.0000"), effective_date=date(2026, 12, 2), table_no="233/A"
)


def _sale(world: World, actor: Actor, client_id: int, **fields: object) -> int:
    document = Document(
        client_id=client_id,
        doc_type="vat_invoice",
        issue_date=fields.pop("issue_date", date(2026, 11, 20)),  # type: ignore[arg-type]
        buyer=BUYER,
        lines=(LINE,),
        **fields,  # type: ignore[arg-type]
    )
    stored = world.cabinet.documents.create(actor, document)
    assert stored.id is not None
    return stored.id


def _cost(world: World, actor: Actor, client_id: int, **fields: object) -> int:
    document = Document(
        client_id=client_id,
        doc_type="cost_invoice",
        issue_date=fields.pop("issue_date", date(2026, 11, 20)),  # type: ignore[arg-type]
        seller=SELLER,
        lines=(LINE,),
        extra={"seller_invoice_number": "S/77/2026"},
        **fields,  # type: ignore[arg-type]
    )
    stored = world.cabinet.documents.create(actor, document)
    assert stored.id is not None
    world.cabinet.documents.transition(actor, stored.id, "submit")
    return stored.id


@pytest.fixture
def busy(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """Client A with receivables and payables due, overdue and paid, documents waiting and
    returned; client B with one cost invoice waiting and one overdue receivable."""
    cabinet = world.cabinet
    monkeypatch.setattr(cabinet.store, "clock", lambda: NOW)
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    accountant = world.actor(world.accountant)
    a, b = world.client_id(world.client_a), world.client_id(world.client_b)
    docs = cabinet.documents
    # Receivables of A: overdue (PLN), due, overdue (EUR at 4.00), a draft and a paid one.
    for fields in (
        {"due_date": date(2026, 12, 1)},
        {"issue_date": date(2026, 12, 2), "due_date": date(2026, 12, 20)},
        {
            "issue_date": date(2026, 12, 3),
            "due_date": date(2026, 12, 5),
            "currency": "EUR",
            "exchange_rate": EUR_RATE,
        },
    ):
        docs.transition(alice, _sale(world, alice, a, **fields), "issue")
    _sale(world, alice, a, due_date=date(2026, 11, 21))  # a draft owes nothing
    paid = _sale(world, alice, a, due_date=date(2026, 11, 22))
    docs.transition(alice, paid, "issue")
    docs.transition(alice, paid, "mark_paid")
    # Payables of A: one waiting, one returned, one approved overdue, one approved this month.
    _cost(world, alice, a)
    docs.transition(accountant, _cost(world, alice, a), "return", comment="Brak NIP")
    docs.transition(accountant, _cost(world, alice, a, due_date=date(2026, 12, 1)), "approve")
    docs.transition(accountant, _cost(world, alice, a, issue_date=date(2026, 12, 4)), "approve")
    # B: one cost invoice waiting and one overdue receivable.
    _cost(world, bob, b)
    docs.transition(bob, _sale(world, bob, b, due_date=date(2026, 12, 6)), "issue")
    # Chat: A writes to its manager; a mail delivery failed for good.
    cabinet.chat.post(alice, client_id=a, body="Czy faktura dotarła?")
    with cabinet.store.transaction() as tx:
        message = tx.add_outbox(
            OutboxMessage(topic="mail.document", entity="document", entity_id=paid),
            subscribers=(MAIL_SUBSCRIBER,),
        )
    assert message.id is not None
    cabinet.store.mark_failed(message.id, subscriber=MAIL_SUBSCRIBER, error="550", now=NOW)
    return world


def _counts(board: Dashboard) -> dict[tuple[str, str | None], int]:
    return {(i.key, i.doc_type or i.subscriber): i.count for i in board.attention}


def _listed(world: World, actor: Actor, link: str) -> int:
    """How many documents the documents list shows for a dashboard link."""
    params = dict(parse_qsl(urlsplit(link).query))
    query = DocumentQuery(
        client_ids=(int(params["client_id"]),) if "client_id" in params else None,
        doc_types=tuple(params["doc_type"].split(",")),
        statuses=tuple(params["status"].split(",")),
        unpaid=params.get("unpaid") == "1",
        due_before=date.fromisoformat(params["due_before"]) if "due_before" in params else None,
        date_from=date.fromisoformat(params["date_from"]) if "date_from" in params else None,
        date_to=date.fromisoformat(params["date_to"]) if "date_to" in params else None,
    )
    return world.cabinet.documents.list(actor, query).total


def test_accountant_sees_the_whole_firms_queue(busy: World) -> None:
    actor = busy.actor(busy.accountant)
    busy.cabinet.clients.create(Actor.system(), Client(name="Aaa Cicha", nip="7790000126"))
    board = busy.cabinet.dashboard.for_actor(actor)
    assert board.today == TODAY
    assert _counts(board) == {
        ("review", "cost_invoice"): 2,
        ("review", "cash_report"): 0,
        ("returned", None): 1,
        ("overdue_receivables", None): 3,
        ("ksef_rejected", None): 0,
        ("ksef_waiting", None): 0,
        ("unread_chat", None): 0,
        ("failed_deliveries", MAIL_SUBSCRIBER): 1,
    }
    # Each count is what its link lists.
    for item in board.attention:
        if item.link.startswith("/documents"):
            assert _listed(busy, actor, item.link) == item.count, item
    assert [(c.name, c.review, c.returned, c.overdue_receivables) for c in board.clients] == [
        ("Alfa sp. z o.o.", 1, 1, 2),
        ("Beta S.A.", 1, 0, 1),
        ("Aaa Cicha", 0, 0, 0),  # nothing waiting: after those with something
    ]


def test_manager_sees_only_their_clients_and_their_chat(busy: World) -> None:
    board = busy.cabinet.dashboard.for_actor(busy.actor(busy.manager))
    assert _counts(board) == {
        ("review", "cost_invoice"): 1,
        ("review", "cash_report"): 0,
        ("returned", None): 1,
        ("overdue_receivables", None): 2,
        ("ksef_rejected", None): 0,
        ("ksef_waiting", None): 0,
        ("unread_chat", None): 1,
    }
    assert [c.name for c in board.clients] == ["Alfa sp. z o.o."]
    other = busy.cabinet.dashboard.for_actor(busy.actor(busy.other_manager))
    assert other.count("review") == 1 and other.count("overdue_receivables") == 1
    assert other.count("unread_chat") == 0
    assert [c.name for c in other.clients] == ["Beta S.A."]


def test_a_manager_without_clients_sees_zeros_and_no_rows(busy: World) -> None:
    from cabinet_core.entities import Role
    from fixtures_services import _user

    lonely = _user(busy.cabinet, "lonely@firm.example", Role.MANAGER)
    board = busy.cabinet.dashboard.for_actor(Actor.of(lonely))
    assert sum(i.count for i in board.attention) == 0 and board.clients == ()


def test_client_sees_its_money_in_pln_and_what_waits_for_it(busy: World) -> None:
    alice = busy.actor(busy.alice)
    board = busy.cabinet.dashboard.for_actor(alice)
    money = board.money
    assert money is not None and money.month == date(2026, 12, 1)
    assert (money.receivables_due, money.receivables_due_count) == (Decimal("246.00"), 1)
    # 246.00 PLN + 246.00 EUR at the rate stored with the invoice (the issue takes its own)
    (eur,) = busy.cabinet.documents.list(alice, DocumentQuery(currency="EUR")).items
    assert eur.exchange_rate is not None
    rate = eur.exchange_rate.rate
    assert (money.receivables_overdue, money.receivables_overdue_count) == (
        Decimal("246.00") + (Decimal("246.00") * rate).quantize(Decimal("0.01")),
        2,
    )
    assert (money.payables_due, money.payables_due_count) == (Decimal("246.00"), 1)
    assert (money.payables_overdue, money.payables_overdue_count) == (Decimal("246.00"), 1)
    assert money.sales_month == Decimal("200.00") + (Decimal("200.00") * rate).quantize(
        Decimal("0.01")
    )
    assert money.costs_month == Decimal("200.00")
    assert _listed(busy, alice, money.links["receivables_overdue"]) == 2
    assert _listed(busy, alice, money.links["receivables"]) == 3
    assert _listed(busy, alice, money.links["payables"]) == 2
    assert _counts(board) == {
        ("returned", None): 1,
        ("ksef_rejected", None): 0,
        ("unread_chat", None): 0,
        ("unread_notifications", None): 3,  # one cost invoice returned, two approved
    }
    bob_board = busy.cabinet.dashboard.for_actor(busy.actor(busy.bob))
    assert bob_board.money is not None
    assert bob_board.money.receivables_overdue == Decimal("246.00")
    assert bob_board.count("returned") == 0


def test_the_system_actor_has_no_dashboard(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.cabinet.dashboard.for_actor(Actor.system())


# -- notifications fan-out ---------------------------------------------------------------------
def _unread(world: World, user: object) -> list[str]:
    from cabinet_core.entities import User

    assert isinstance(user, User)
    return [n.kind for n in world.cabinet.notifications.list(Actor.of(user), unread_only=True)]


def test_a_submitted_cost_invoice_tells_every_accountant_and_a_move_every_client_user(
    world: World,
) -> None:
    from cabinet_core.entities import Role
    from fixtures_services import _user

    cabinet = world.cabinet
    a = world.client_id(world.client_a)
    colleague = _user(cabinet, "ala@alfa.example", Role.CLIENT, a)
    second = _user(cabinet, "ksiegowa2@firm.example", Role.ACCOUNTANT)
    alice = world.actor(world.alice)
    doc_id = _cost(world, alice, a)
    # Submitted: both accountants, nobody else (not the author, not the manager).
    assert _unread(world, world.accountant) == ["document.submitted"]
    assert _unread(world, second) == ["document.submitted"]
    (note,) = cabinet.notifications.list(Actor.of(second))
    assert "Alfa sp. z o.o." in note.text and note.link == f"/documents/{doc_id}"
    assert _unread(world, world.alice) == [] and _unread(world, colleague) == []
    assert _unread(world, world.manager) == [] and _unread(world, world.bob) == []
    # Returned by the accountant: every user of the client, the author's colleague too.
    cabinet.documents.transition(Actor.of(second), doc_id, "return", comment="Brak NIP")
    assert _unread(world, world.alice) == ["document.status_changed"]
    assert _unread(world, colleague) == ["document.status_changed"]
    assert _unread(world, world.bob) == []
    # Resubmitted by the colleague: the accountants again; approved, booked, paid: the client.
    cabinet.documents.transition(Actor.of(colleague), doc_id, "resubmit")
    assert _unread(world, world.accountant) == ["document.submitted"] * 2
    for move in ("approve", "book", "mark_paid"):
        cabinet.documents.transition(world.actor(world.accountant), doc_id, move)
    assert len(_unread(world, colleague)) == 4 and len(_unread(world, world.alice)) == 4
    # The accountant who moved it is not told about its own moves.
    assert _unread(world, world.accountant) == ["document.submitted"] * 2
    # Mark all read clears the bell.
    assert cabinet.notifications.mark_all_read(Actor.of(colleague)) == 4
    assert cabinet.notifications.unread_count(Actor.of(colleague)) == 0
    assert cabinet.notifications.unread_count(Actor.of(world.alice)) == 4

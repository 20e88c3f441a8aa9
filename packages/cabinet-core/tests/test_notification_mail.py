"""Notifications by e-mail on both databases: who gets which e-mail, in whose language, through
the outbox and the mail delivery; a user's preferences turn a kind off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party, Role, User
from cabinet_core.errors import PermissionDenied, ValidationError
from cabinet_core.storage import Store
from cabinet_core.worker import Worker
from fixtures_services import HookRecorder, World, _user
from invoicing_support import CapturingMailer, mail_cabinet


@pytest.fixture
def mailer() -> CapturingMailer:
    return CapturingMailer()


@pytest.fixture
def cabinet(
    store: Store, tmp_path: Path, mailer: CapturingMailer, hooks: HookRecorder
) -> Iterator[Cabinet]:
    yield mail_cabinet(store, tmp_path, mailer, hooks, base_url="https://panel.firm.pl")


def _submit(world: World, user: User) -> int:
    actor = Actor.of(user)
    stored = world.cabinet.documents.create(
        actor,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 20),
            seller=Party(name="Dostawca S.A.", nip="5260001246"),
            lines=(DocumentLine(name="Druk", quantity=Decimal(1), unit_price=Decimal("10.00")),),
            extra={"seller_invoice_number": "S/1"},
        ),
    )
    assert stored.id is not None
    world.cabinet.documents.transition(actor, stored.id, "submit")
    return stored.id


def _deliver(world: World) -> None:
    while Worker(world.cabinet).run_once():
        pass


def test_submission_mails_the_accountants_and_a_return_every_client_user_in_their_language(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    english = cabinet.users.create(
        Actor.system(),
        email="john@alfa.example",
        name="John",
        role=Role.CLIENT,
        client_id=world.client_id(world.client_a),
        password="correct horse battery",
        language="en",
    )
    doc_id = _submit(world, world.alice)
    _deliver(world)
    assert [m.to for m in mailer.sent] == [("accountant@firm.example",)]
    mail = mailer.sent[0]
    assert mail.language == "pl" and "Faktura kosztowa KOSZT/" in mail.subject
    assert f"https://panel.firm.pl/documents/{doc_id}" in mail.body
    assert "Alfa sp. z o.o." in mail.body and "https://panel.firm.pl/profile" in mail.body
    mailer.sent.clear()
    cabinet.documents.transition(world.actor(world.accountant), doc_id, "return", comment="Skan")
    _deliver(world)
    by_address = {m.to[0]: m for m in mailer.sent}
    assert set(by_address) == {"alice@alfa.example", "john@alfa.example"}
    assert "Zwrócona — Skan" in by_address["alice@alfa.example"].body
    assert by_address["john@alfa.example"].language == "en"
    assert "Returned — Skan" in by_address["john@alfa.example"].body
    assert english.id is not None


def test_a_user_who_turned_a_kind_off_gets_the_notification_but_no_mail(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    second = _user(cabinet, "druga@firm.example", Role.ACCOUNTANT)
    accountant = world.actor(world.accountant)
    assert cabinet.notifications.email_preferences(accountant) == {
        "document.submitted": True,
        "document.status_changed": True,
        "chat.message": True,
        "news.important": True,
        "delivery.failed": True,
    }
    saved = cabinet.notifications.set_email_preferences(accountant, {"document.submitted": False})
    assert saved == {
        "document.submitted": False,
        "document.status_changed": True,
        "chat.message": True,
        "news.important": True,
        "delivery.failed": True,
    }
    assert cabinet.notifications.email_preferences(accountant) == saved
    _submit(world, world.alice)
    _deliver(world)
    assert [m.to for m in mailer.sent] == [("druga@firm.example",)]
    # The in-app notification is there all the same.
    assert cabinet.notifications.unread_count(accountant) == 1
    assert cabinet.notifications.unread_count(Actor.of(second)) == 1
    # Turned back on: the next submission mails both.
    cabinet.notifications.set_email_preferences(accountant, {"document.submitted": True})
    mailer.sent.clear()
    _submit(world, world.alice)
    _deliver(world)
    assert sorted(m.to[0] for m in mailer.sent) == ["accountant@firm.example", "druga@firm.example"]


def test_preferences_reject_unknown_kinds_and_anonymous_callers(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.notifications.set_email_preferences(
            world.actor(world.alice), {"news.whatever": False}
        )
    assert info.value.errors[0].field == "news.whatever"
    with pytest.raises(PermissionDenied):
        world.cabinet.notifications.email_preferences(Actor.system())


def test_an_inactive_user_is_neither_notified_nor_mailed(
    world: World, mailer: CapturingMailer
) -> None:
    cabinet = world.cabinet
    cabinet.users.deactivate(Actor.system(), world.accountant.id or 0)
    _submit(world, world.alice)
    _deliver(world)
    assert mailer.sent == []


def test_a_chat_message_unread_for_ten_minutes_is_mailed_once(
    world: World, mailer: CapturingMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from cabinet_core.services.notifications import periodic_tasks

    cabinet = world.cabinet
    now = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(cabinet.store, "clock", lambda: now[0])
    a = world.client_id(world.client_a)
    cabinet.chat.post(world.actor(world.alice), client_id=a, body="Czy faktura dotarła?")
    cabinet.chat.post(world.actor(world.manager), client_id=a, body="Tak, dziękuję.")
    (task,) = periodic_tasks()
    # Nine minutes on: nothing yet.
    now[0] += timedelta(minutes=9)
    task.run(cabinet)
    _deliver(world)
    assert mailer.sent == []
    # Alice reads hers; the manager does not.
    (alices,) = cabinet.notifications.list(world.actor(world.alice))
    assert alices.id is not None
    cabinet.notifications.mark_read(world.actor(world.alice), alices.id)
    now[0] += timedelta(minutes=1)
    assert cabinet.notifications.mail_unread_chat() == 1
    _deliver(world)
    assert [m.to for m in mailer.sent] == [("manager@firm.example",)]
    assert "Czy faktura dotarła?" in mailer.sent[0].body
    assert "https://panel.firm.pl/chat/" in mailer.sent[0].body
    # Mailed once: the next passes find nothing.
    now[0] += timedelta(minutes=5)
    assert cabinet.notifications.mail_unread_chat() == 0


def test_unread_chat_respects_the_preference_and_the_horizon(
    world: World, mailer: CapturingMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    cabinet = world.cabinet
    now = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(cabinet.store, "clock", lambda: now[0])
    a = world.client_id(world.client_a)
    cabinet.notifications.set_email_preferences(world.actor(world.manager), {"chat.message": False})
    cabinet.chat.post(world.actor(world.alice), client_id=a, body="Halo?")
    now[0] += timedelta(minutes=11)
    assert cabinet.notifications.mail_unread_chat() == 0
    # Turned back on, but the message is now two days old: too late to mail.
    cabinet.notifications.set_email_preferences(world.actor(world.manager), {"chat.message": True})
    now[0] += timedelta(days=2)
    assert cabinet.notifications.mail_unread_chat() == 0
    _deliver(world)
    assert mailer.sent == []


def test_important_news_reaches_every_client_user_and_ordinary_news_nobody(
    world: World, mailer: CapturingMailer
) -> None:
    from cabinet_core.entities import NewsItem

    cabinet = world.cabinet
    manager = world.actor(world.manager)
    cabinet.news.publish(manager, NewsItem(title="Nowe godziny pracy", body="…"))
    cabinet.news.publish(
        manager, NewsItem(title="Termin JPK: 25 grudnia", body="…", important=True)
    )
    for user in (world.alice, world.bob):
        kinds = [n.kind for n in cabinet.notifications.list(Actor.of(user))]
        assert kinds == ["news.important"]
    assert cabinet.notifications.unread_count(world.actor(world.accountant)) == 0
    _deliver(world)
    assert sorted(m.to[0] for m in mailer.sent) == ["alice@alfa.example", "bob@beta.example"]
    assert all("Termin JPK: 25 grudnia" in m.subject for m in mailer.sent)


def test_a_failed_delivery_tells_the_admins_and_a_failed_notification_mail_only_in_app(
    world: World, mailer: CapturingMailer
) -> None:
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.sync import MAIL_SUBSCRIBER

    cabinet = world.cabinet
    with cabinet.store.transaction() as tx:
        tx.add_outbox(
            OutboxMessage(topic="mail.document", entity="document", entity_id=999),
            subscribers=(MAIL_SUBSCRIBER,),
        )
    _deliver(world)  # the document is gone: the mail fails for good at once
    admin = world.actor(world.admin)
    (told,) = cabinet.notifications.list(admin)
    assert told.kind == "delivery.failed" and "mail.document" in told.text
    assert told.link == "/settings"
    assert [m.to for m in mailer.sent] == [("admin@firm.example",)]
    assert cabinet.notifications.unread_count(world.actor(world.accountant)) == 0
    # A notification e-mail that cannot go out is told in the cabinet, never mailed again.
    mailer.sent.clear()
    mailer.failures = 100
    _submit(world, world.alice)
    for _ in range(5):
        Worker(cabinet).run_once()
        # Make the retries due at once (the backoff is the worker's business, not this test's).
        with cabinet.store.transaction() as tx:
            tx.connection.execute(
                sa.text(
                    "UPDATE outbox_deliveries SET next_attempt_at = NULL WHERE failed_at IS NULL"
                )
            )
    kinds = [n.kind for n in cabinet.notifications.list(admin)]
    assert kinds.count("delivery.failed") == 2
    with cabinet.store.transaction(readonly=True) as tx:
        pending = tx.connection.execute(
            sa.text(
                "SELECT count(*) FROM outbox_deliveries WHERE failed_at IS NULL "
                "AND delivered_at IS NULL"
            )
        ).scalar_one()
    assert pending == 0

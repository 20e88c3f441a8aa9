"""Notifications by e-mail on both databases: who gets which e-mail, in whose language, through
the outbox and the mail delivery; a user's preferences turn a kind off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
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
    }
    saved = cabinet.notifications.set_email_preferences(accountant, {"document.submitted": False})
    assert saved == {"document.submitted": False, "document.status_changed": True}
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

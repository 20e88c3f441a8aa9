"""cabinet.clients, cabinet.counterparties and cabinet.products on both databases."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import Actor, BankAccount, Client, Counterparty, Product, Role
from cabinet_core.errors import NotFound, PermissionDenied, ValidationError
from fixtures_services import HookRecorder, World


def test_create_normalises_and_validates(world: World, hooks: HookRecorder) -> None:
    manager = world.actor(world.manager)
    client = world.cabinet.clients.create(
        manager,
        Client(
            name=" Gamma ",
            nip="PL 123-456-32-18",
            regon="123-456-785",
            bank_accounts=(BankAccount(currency="EUR", iban="de89 3704 0044 0532 0130 00"),),
            manager_id=world.other_manager.id,
        ),
    )
    assert (client.name, client.nip, client.regon) == ("Gamma", "1234563218", "123456785")
    assert client.bank_accounts[0].iban == "DE89370400440532013000"
    # A manager's new client is theirs, whatever was asked.
    assert client.manager_id == world.manager.id
    assert hooks.names()[-1] == "client_created"
    assert "client.created" in [m.topic for m in world.cabinet.store.list_outbox(limit=100)]


def test_create_reports_every_problem(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.clients.create(
            world.actor(world.admin),
            Client(
                name="",
                nip="1234563219",
                regon="123456786",
                email="nope",
                bank_accounts=(
                    BankAccount(currency="GBP", iban="PL00 0000"),
                    BankAccount(currency="GBP", iban="DE89370400440532013000"),
                ),
                manager_id=world.alice.id,
                allowed_templates=("gold",),
                default_template="classic",
                language="de",
            ),
        )
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("name", "required"),
        ("nip", "nip_checksum"),
        ("regon", "regon_checksum"),
        ("email", "email"),
        ("bank_accounts.0.currency", "unsupported"),
        ("bank_accounts.0.iban", "iban"),
        ("bank_accounts.1.currency", "unsupported"),
        ("bank_accounts.1.label", "duplicate"),
        ("manager_id", "not_a_manager"),
        ("allowed_templates", "unknown"),
        ("default_template", "not_allowed"),
        ("language", "unsupported"),
    }


@pytest.mark.parametrize("who", ["alice", "accountant"])
def test_only_managers_and_admins_create_clients(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        world.cabinet.clients.create(world.actor(getattr(world, who)), Client(name="X"))


def test_client_users_edit_their_profile_but_not_manager_or_templates(world: World) -> None:
    alice = world.actor(world.alice)
    for change in (
        {"manager_id": world.other_manager.id},
        {"active": False},
        {"allowed_templates": ("modern",), "default_template": "modern"},
    ):
        # Asking is refused, not silently ignored: nothing is saved, nothing audited.
        with pytest.raises(PermissionDenied):
            world.cabinet.clients.update(
                alice, attrs.evolve(world.client_a, email="nowy@alfa.example", **change)
            )
        with pytest.raises(PermissionDenied):
            world.cabinet.clients.update(
                world.actor(world.manager), attrs.evolve(world.client_a, **change)
            )
    assert world.cabinet.clients.get(alice, world.client_id(world.client_a)) == world.client_a
    updated = world.cabinet.clients.update(
        alice, attrs.evolve(world.client_a, email="nowy@alfa.example")
    )
    assert updated.email == "nowy@alfa.example"
    assert updated.manager_id == world.manager.id
    assert updated.allowed_templates == () and updated.active is True
    with pytest.raises(NotFound):
        world.cabinet.clients.update(alice, world.client_b)
    with pytest.raises(PermissionDenied):
        world.cabinet.clients.update(world.actor(world.accountant), world.client_a)
    moved = world.cabinet.clients.update(
        world.actor(world.admin), attrs.evolve(updated, manager_id=world.other_manager.id)
    )
    assert moved.manager_id == world.other_manager.id
    with pytest.raises(NotFound):
        world.cabinet.clients.get(world.actor(world.manager), world.client_id(world.client_a))


def test_list_and_get_follow_the_access_rules(world: World) -> None:
    def names(actor: Actor, search: str | None = None) -> set[str]:
        return {c.name for c in world.cabinet.clients.list(actor, search=search)}

    assert names(world.actor(world.alice)) == {"Alfa sp. z o.o."}
    assert names(world.actor(world.manager)) == {"Alfa sp. z o.o."}
    assert names(world.actor(world.other_manager)) == {"Beta S.A."}
    assert names(world.actor(world.accountant)) == {"Alfa sp. z o.o.", "Beta S.A."}
    assert names(world.actor(world.admin), search="beta") == {"Beta S.A."}
    with pytest.raises(NotFound):
        world.cabinet.clients.get(world.actor(world.bob), world.client_id(world.client_a))
    assert world.cabinet.clients.get(world.actor(world.accountant), world.client_id(world.client_b))


def test_assign_templates(world: World) -> None:
    client_id = world.client_id(world.client_a)
    updated = world.cabinet.clients.assign_templates(
        world.actor(world.admin), client_id, ["classic", "modern", "classic"], "modern"
    )
    assert (updated.allowed_templates, updated.default_template) == (
        ("classic", "modern"),
        "modern",
    )
    with pytest.raises(ValidationError):
        world.cabinet.clients.assign_templates(world.actor(world.admin), client_id, ["x"], None)
    with pytest.raises(ValidationError):
        world.cabinet.clients.assign_templates(
            world.actor(world.admin), client_id, ["classic"], "modern"
        )
    with pytest.raises(PermissionDenied):
        world.cabinet.clients.assign_templates(world.actor(world.manager), client_id, [], None)


def test_counterparties_belong_to_one_client(world: World) -> None:
    cps = world.cabinet.counterparties
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    mine = cps.create(alice, Counterparty(client_id=world.client_id(world.client_b), name="Omega"))
    assert mine.client_id == world.client_a.id
    assert mine.id is not None
    with pytest.raises(NotFound):
        cps.get(bob, mine.id)
    with pytest.raises(NotFound):
        cps.update(bob, attrs.evolve(mine, name="hijack"))
    with pytest.raises(NotFound):
        cps.delete(bob, mine.id)
    assert cps.list(bob, world.client_id(world.client_a)).total == 0
    assert [c.name for c in cps.list(alice, None).items] == ["Omega"]
    assert cps.list(world.actor(world.manager), world.client_id(world.client_a)).total == 1
    with pytest.raises(NotFound):
        cps.list(world.actor(world.other_manager), world.client_id(world.client_a))
    with pytest.raises(PermissionDenied):
        cps.create(world.actor(world.accountant), attrs.evolve(mine, id=None))
    renamed = cps.update(alice, attrs.evolve(mine, name="Omega 2", client_id=999))
    assert (renamed.name, renamed.client_id) == ("Omega 2", world.client_a.id)
    cps.delete(alice, mine.id)
    with pytest.raises(NotFound):
        cps.get(alice, mine.id)
    topics = [m.topic for m in world.cabinet.store.list_outbox(limit=100)]
    assert {"counterparty.created", "counterparty.updated", "counterparty.deleted"} <= set(topics)


def test_counterparty_validation(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.counterparties.create(
            world.actor(world.alice),
            Counterparty(client_id=0, name=" ", nip="1234563219", email="x"),
        )
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("name", "required"),
        ("nip", "nip_checksum"),
        ("email", "email"),
    }


def test_products(world: World) -> None:
    products = world.cabinet.products
    alice = world.actor(world.alice)
    product = products.create(
        alice,
        Product(
            client_id=0, name="Konsultacja", unit="godz.", unit_price=Decimal("200"), gtu="GTU_12"
        ),
    )
    assert product.client_id == world.client_a.id
    assert products.list(alice, None, search="konsult").total == 1
    with pytest.raises(ValidationError) as info:
        products.create(
            alice,
            Product(
                client_id=0,
                name="",
                unit="",
                unit_price=Decimal("-1"),
                currency="GBP",
                vat_rate="7",
                gtu="GTU_14",
            ),
        )
    assert {e.field for e in info.value.errors} == {
        "name",
        "unit",
        "unit_price",
        "currency",
        "vat_rate",
        "gtu",
    }
    with pytest.raises(NotFound):
        products.get(world.actor(world.bob), product.id or 0)


# -- the assigned accountant ----------------------------------------------------------------------
def _cost_invoice_submitted(world: World) -> None:
    from datetime import date as _date

    from cabinet_core.entities import Document, DocumentLine, Party

    alice = world.actor(world.alice)
    draft = world.cabinet.documents.create(
        alice,
        Document(
            client_id=world.client_id(world.client_a),
            doc_type="cost_invoice",
            issue_date=_date(2026, 11, 2),
            seller=Party(name="Dostawca sp. z o.o.", nip="5260001246"),
            extra={"seller_invoice_number": "FV/1/2026"},
            lines=(DocumentLine(name="Papier", unit_price=Decimal("100.00")),),
        ),
    )
    assert draft.id is not None
    document_type = world.cabinet.document_type("cost_invoice")
    if draft.status not in document_type.review_states:
        world.cabinet.documents.transition(alice, draft.id, "submit")


def _submitted_to(world: World, user: object) -> int:
    notes = world.cabinet.notifications.list(Actor.of(user))  # type: ignore[arg-type]
    return len([n for n in notes if n.kind == "document.submitted"])


def test_an_admin_assigns_an_accountant_and_only_they_are_told(world: World) -> None:
    cabinet = world.cabinet
    second = cabinet.users.create(
        Actor.system(),
        email="second@firm.example",
        name="Second",
        role=Role.ACCOUNTANT,
        client_id=None,
        password="a long password 1",
    )
    admin = world.actor(world.admin)
    client = cabinet.clients.get(admin, world.client_id(world.client_a))
    updated = cabinet.clients.update(admin, attrs.evolve(client, accountant_id=second.id))
    assert updated.accountant_id == second.id
    entries = cabinet.audit.list(admin, entity="client", entity_id=updated.id)
    assert entries[0].action == "client.update"
    _cost_invoice_submitted(world)
    assert _submitted_to(world, second) == 1
    assert _submitted_to(world, world.accountant) == 0
    # The dashboards: the assigned accountant's queue has client A, the other one's has only B.
    mine = cabinet.dashboard.for_actor(Actor.of(second))
    theirs = cabinet.dashboard.for_actor(world.actor(world.accountant))
    assert world.client_a.id in [row.client_id for row in mine.clients]
    assert world.client_a.id not in [row.client_id for row in theirs.clients]
    assert world.client_b.id in [row.client_id for row in theirs.clients]


def test_without_an_assigned_accountant_every_accountant_is_told(world: World) -> None:
    _cost_invoice_submitted(world)
    assert _submitted_to(world, world.accountant) == 1


def test_only_an_accountant_can_be_assigned_and_only_by_an_admin(world: World) -> None:
    cabinet = world.cabinet
    admin = world.actor(world.admin)
    client = cabinet.clients.get(admin, world.client_id(world.client_a))
    with pytest.raises(ValidationError) as raised:
        cabinet.clients.update(admin, attrs.evolve(client, accountant_id=world.manager.id))
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("accountant_id", "not_an_accountant")
    ]
    manager = world.actor(world.manager)
    # A manager asking to assign an accountant is refused, not silently ignored, and nothing
    # of that request is saved; the same edit without the assignment goes through.
    with pytest.raises(PermissionDenied):
        cabinet.clients.update(
            manager,
            attrs.evolve(client, accountant_id=world.accountant.id, email="nowy@alfa.example"),
        )
    assert cabinet.clients.get(admin, client.id).email == client.email
    kept = cabinet.clients.update(manager, attrs.evolve(client, email="nowy@alfa.example"))
    assert kept.accountant_id is None and kept.email == "nowy@alfa.example"

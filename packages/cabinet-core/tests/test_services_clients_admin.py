"""cabinet.clients.create with a first user, address checks and bank sub-accounts edited by
the client's own user."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.entities import Address, BankAccount, Client, Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.clients import FirstUser
from fixtures_services import World

PASSWORD = "a-long-enough-secret"


def test_a_client_with_its_first_user_both_saved(world: World) -> None:
    manager = world.actor(world.manager)
    client = world.cabinet.clients.create(
        manager,
        Client(
            name="Gamma sp. z o.o.",
            address=Address(
                line1=" ul. Długa 1 ", postal_code="00-950", city="Warszawa", country="pl"
            ),
            bank_accounts=(
                BankAccount(currency="PLN", iban="61109010140000071219812874", label=" main "),
            ),
        ),
        first_user=FirstUser(email=" jan@gamma.example ", name="Jan", password=PASSWORD),
    )
    assert client.address == Address(
        line1="ul. Długa 1", postal_code="00-950", city="Warszawa", country="PL"
    )
    assert client.bank_accounts == (
        BankAccount(currency="PLN", iban="PL61109010140000071219812874", label="main"),
    )
    user = world.cabinet.users.authenticate("jan@gamma.example", PASSWORD)
    assert (user.client_id, user.role, user.name) == (client.id, Role.CLIENT, "Jan")
    audit = [entry.action for entry in world.cabinet.audit.list(world.actor(world.admin))]
    assert {"client.create", "user.create"} <= set(audit)


def test_a_taken_first_user_email_saves_nothing(world: World) -> None:
    before = world.cabinet.clients.list(world.actor(world.admin))
    with pytest.raises(ValidationError) as info:
        world.cabinet.clients.create(
            world.actor(world.admin),
            Client(name="Delta S.A."),
            first_user=FirstUser(email=world.alice.email.upper(), password=PASSWORD),
        )
    assert [(e.field, e.code) for e in info.value.errors] == [("first_user.email", "taken")]
    assert world.cabinet.clients.list(world.actor(world.admin)) == before


def test_client_and_first_user_problems_come_together(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.clients.create(
            world.actor(world.admin),
            Client(
                name="",
                address=Address(postal_code="00950", country="PL"),
            ),
            first_user=FirstUser(email="nope", password="short", language="de"),
        )
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("name", "required"),
        ("address.postal_code", "postal_code"),
        ("first_user.email", "email"),
        ("first_user.password", "too_short"),
        ("first_user.language", "unsupported"),
    }


def test_country_code_and_foreign_postal_codes(world: World) -> None:
    admin = world.actor(world.admin)
    with pytest.raises(ValidationError) as info:
        world.cabinet.clients.create(
            admin, Client(name="X", address=Address(country="Deutschland"))
        )
    assert [(e.field, e.code) for e in info.value.errors] == [("address.country", "country")]
    # Only Polish postal codes have a fixed shape.
    client = world.cabinet.clients.create(
        admin, Client(name="X GmbH", address=Address(postal_code="10115", country="de"))
    )
    assert client.address.country == "DE"


def test_a_client_user_keeps_its_bank_accounts(world: World) -> None:
    alice = world.actor(world.alice)
    eur = BankAccount(currency="EUR", iban="DE89 3704 0044 0532 0130 00", bank_name="Commerzbank")
    updated = world.cabinet.clients.update(
        alice, attrs.evolve(world.client_a, bank_accounts=(*world.client_a.bank_accounts, eur))
    )
    assert updated.bank_accounts[-1].iban == "DE89370400440532013000"
    with pytest.raises(ValidationError) as info:
        world.cabinet.clients.update(
            alice,
            attrs.evolve(
                updated,
                bank_accounts=(BankAccount(currency="USD", iban="DE89370400440532013001"),),
            ),
        )
    assert [(e.field, e.code) for e in info.value.errors] == [("bank_accounts.0.iban", "iban")]
    # Nothing of the rejected save was kept.
    assert world.cabinet.clients.get(alice, world.client_id(world.client_a)) == updated

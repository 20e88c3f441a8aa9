"""E-mail addresses as the services store and find them: an internationalised domain in its
ASCII form (what every mail server delivers to), the same form when someone signs in or asks for
a password link with the Unicode spelling, and what is not one address refused at its field."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Counterparty, Role
from cabinet_core.errors import ValidationError
from fixtures_services import PASSWORD, World

ASCII = "jan@xn--w-uga1v8h.pl"


def test_a_user_on_an_idn_domain_is_stored_deliverable_and_signs_in_either_way(
    cabinet: Cabinet,
) -> None:
    user = cabinet.users.create(
        Actor.system(),
        email="Jan@ŻÓŁW.pl",
        name="Jan",
        role=Role.ADMIN,
        client_id=None,
        password=PASSWORD,
    )
    assert user.email == "Jan@" + ASCII.split("@")[1]
    assert cabinet.users.authenticate("jan@żółw.pl", PASSWORD).id == user.id
    assert cabinet.users.authenticate(ASCII, PASSWORD).id == user.id
    found = cabinet.users.find_by_email(Actor.system(), " JAN@żółw.PL ")
    assert found is not None and found.id == user.id


@pytest.mark.parametrize(
    ("email", "code"),
    [("ż@ółw.pl", "email_not_ascii"), ("<script>alert(1)</script>@x.pl", "email")],
)
def test_a_user_whose_address_is_not_deliverable_is_refused(
    cabinet: Cabinet, email: str, code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        cabinet.users.create(
            Actor.system(),
            email=email,
            name="X",
            role=Role.ADMIN,
            client_id=None,
            password=PASSWORD,
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [("email", code)]


def test_a_counterpartys_and_a_clients_address_are_stored_deliverable(world: World) -> None:
    alice = world.actor(world.alice)
    counterparty = world.cabinet.counterparties.create(
        alice,
        Counterparty(
            client_id=world.client_id(world.client_a), name="Żółw sp. z o.o.", email="jan@żółw.pl"
        ),
    )
    assert counterparty.email == ASCII
    admin = world.actor(world.admin)
    updated = world.cabinet.clients.update(admin, attrs.evolve(world.client_a, email="jan@żółw.pl"))
    assert updated.email == ASCII

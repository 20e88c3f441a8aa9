"""cabinet.users and cabinet.tokens on both databases: argon2id, password policy, throttling,
who may create and manage whom, personal API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Role
from cabinet_core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from cabinet_core.services.tokens import token_hash
from cabinet_core.services.users import UserService
from cabinet_core.signin_throttle import SignInThrottled
from fixtures_services import PASSWORD, World


def test_default_hasher_is_argon2id(cabinet: Cabinet) -> None:
    service = UserService(cabinet)
    user = service.create(
        Actor.system(),
        email="x@firm.example",
        name="X",
        role=Role.ADMIN,
        client_id=None,
        password=PASSWORD,
    )
    with cabinet.store.transaction() as tx:
        stored = tx.get_user(user.id or 0)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert service.authenticate("X@FIRM.example ", PASSWORD).id == user.id


def test_authenticate(world: World) -> None:
    users = world.cabinet.users
    assert users.authenticate("alice@alfa.example", PASSWORD).id == world.alice.id
    with pytest.raises(AuthenticationFailed):
        users.authenticate("alice@alfa.example", PASSWORD + "!")
    with pytest.raises(AuthenticationFailed):
        users.authenticate("nobody@alfa.example", PASSWORD)


def test_deactivated_user_cannot_sign_in(world: World) -> None:
    world.cabinet.users.deactivate(world.actor(world.manager), world.alice.id or 0)
    with pytest.raises(AuthenticationFailed):
        world.cabinet.users.authenticate("alice@alfa.example", PASSWORD)


def test_throttling_slows_one_account_from_one_address_only(world: World) -> None:
    users = world.cabinet.users
    limit = world.cabinet.settings.login_attempts
    for _ in range(limit):
        with pytest.raises(AuthenticationFailed):
            users.authenticate("alice@alfa.example", "wrong password", remote="10.0.0.1")
    # Now even the right password waits, from that address, with the throttling message.
    with pytest.raises(SignInThrottled) as info:
        users.authenticate("alice@alfa.example", PASSWORD, remote="10.0.0.1")
    assert info.value.message == "Too many failed attempts. Try again in %(seconds)s s."
    assert info.value.params == {"seconds": 1}
    # The same address signs another account in (one office, one address) ...
    assert users.authenticate("bob@beta.example", PASSWORD, remote="10.0.0.1").id == world.bob.id
    # ... and the account signs in from elsewhere.
    assert users.authenticate("alice@alfa.example", PASSWORD, remote="10.0.0.2").id == (
        world.alice.id
    )


def test_password_policy(world: World) -> None:
    with pytest.raises(ValidationError) as info:
        world.cabinet.users.create(
            world.actor(world.admin),
            email="new@firm.example",
            name="N",
            role=Role.ACCOUNTANT,
            client_id=None,
            password="short",
        )
    assert [(e.field, e.code) for e in info.value.errors] == [("password", "too_short")]
    with pytest.raises(ValidationError) as info:
        world.cabinet.users.set_password(world.actor(world.alice), world.alice.id or 0, "123456789")
    assert info.value.errors[0].field == "password"


def test_create_validates_email_role_client_and_duplicates(world: World) -> None:
    admin = world.actor(world.admin)
    create = world.cabinet.users.create
    with pytest.raises(ValidationError) as info:
        create(
            admin,
            email="not-an-email",
            name="",
            role=Role.CLIENT,
            client_id=None,
            password=PASSWORD,
            language="de",
        )
    assert {(e.field, e.code) for e in info.value.errors} == {
        ("email", "email"),
        ("client_id", "required"),
        ("language", "unsupported"),
    }
    with pytest.raises(ValidationError) as info:
        create(
            admin,
            email="s@firm.example",
            name="S",
            role=Role.MANAGER,
            client_id=world.client_a.id,
            password=PASSWORD,
        )
    assert info.value.errors[0].code == "staff_without_client"
    with pytest.raises(ValidationError) as info:
        create(
            admin,
            email="ALICE@alfa.example",
            name="A",
            role=Role.CLIENT,
            client_id=world.client_a.id,
            password=PASSWORD,
        )
    assert (info.value.errors[0].field, info.value.errors[0].code) == ("email", "taken")


def test_managers_create_users_only_for_their_clients(world: World) -> None:
    manager = world.actor(world.manager)
    create = world.cabinet.users.create
    carol = create(
        manager,
        email="carol@alfa.example",
        name="Carol",
        role=Role.CLIENT,
        client_id=world.client_a.id,
        password=PASSWORD,
    )
    assert carol.client_id == world.client_a.id
    with pytest.raises(PermissionDenied):
        create(
            manager,
            email="dan@beta.example",
            name="Dan",
            role=Role.CLIENT,
            client_id=world.client_b.id,
            password=PASSWORD,
        )
    with pytest.raises(PermissionDenied):
        create(
            manager,
            email="boss@firm.example",
            name="Boss",
            role=Role.ADMIN,
            client_id=None,
            password=PASSWORD,
        )
    with pytest.raises(PermissionDenied):
        create(
            world.actor(world.alice),
            email="eve@alfa.example",
            name="Eve",
            role=Role.CLIENT,
            client_id=world.client_a.id,
            password=PASSWORD,
        )
    with pytest.raises(PermissionDenied):
        create(
            world.actor(world.accountant),
            email="eve@alfa.example",
            name="Eve",
            role=Role.CLIENT,
            client_id=world.client_a.id,
            password=PASSWORD,
        )


def test_generated_password_works_once_handed_over(world: World) -> None:
    users = world.cabinet.users
    password = users.generate_password(world.actor(world.manager), world.alice.id or 0)
    assert len(password) >= 10
    assert users.authenticate("alice@alfa.example", password).id == world.alice.id
    with pytest.raises(AuthenticationFailed):
        users.authenticate("alice@alfa.example", PASSWORD)
    with pytest.raises(NotFound):
        users.generate_password(world.actor(world.other_manager), world.alice.id or 0)
    with pytest.raises(PermissionDenied):
        users.generate_password(world.actor(world.alice), world.alice.id or 0)


def test_set_own_password_and_language(world: World) -> None:
    users = world.cabinet.users
    alice = world.actor(world.alice)
    users.set_password(alice, world.alice.id or 0, "a brand new secret")
    assert users.authenticate("alice@alfa.example", "a brand new secret").id == world.alice.id
    assert users.set_language(alice, world.alice.id or 0, "en").language == "en"
    with pytest.raises(ValidationError):
        users.set_language(alice, world.alice.id or 0, "xx")
    with pytest.raises(NotFound):
        users.set_password(alice, world.bob.id or 0, "a brand new secret")
    with pytest.raises(PermissionDenied):
        users.set_language(world.actor(world.manager), world.alice.id or 0, "pl")


def test_who_sees_which_users(world: World) -> None:
    users = world.cabinet.users
    alice_id, bob_id = world.alice.id, world.bob.id

    def ids(actor_user: object) -> set[int | None]:
        return {u.id for u in users.list(world.actor(actor_user))}  # type: ignore[arg-type]

    assert ids(world.alice) == {alice_id}
    assert ids(world.manager) == {world.manager.id, alice_id}
    assert bob_id in ids(world.accountant) and bob_id in ids(world.admin)
    assert {u.id for u in users.list(world.actor(world.admin), role=Role.MANAGER)} == {
        world.manager.id,
        world.other_manager.id,
    }
    assert users.get(world.actor(world.manager), alice_id or 0).email == "alice@alfa.example"
    with pytest.raises(NotFound):
        users.get(world.actor(world.alice), bob_id or 0)


def test_deactivate_rules(world: World) -> None:
    users = world.cabinet.users
    with pytest.raises(Conflict):
        users.deactivate(world.actor(world.admin), world.admin.id or 0)
    with pytest.raises(NotFound):
        users.deactivate(world.actor(world.other_manager), world.alice.id or 0)
    assert users.deactivate(world.actor(world.admin), world.bob.id or 0).active is False
    topics = [m.topic for m in world.cabinet.store.list_outbox(limit=100)]
    assert "user.deactivated" in topics
    assert all("password_hash" not in m.payload for m in world.cabinet.store.list_outbox(limit=100))


def test_api_tokens(world: World) -> None:
    tokens = world.cabinet.tokens
    alice = world.actor(world.alice)
    token, secret = tokens.create(alice, name="Integracja ERP")
    assert secret.startswith("cab_") and len(secret) > 40
    assert token.token_hash == token_hash(secret) and secret not in repr(token)
    assert tokens.authenticate(secret).id == world.alice.id
    assert [t.id for t in tokens.list(alice)] == [token.id]
    assert tokens.list(alice)[0].last_used_at is not None
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate(secret + "x")
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate("Bearer nothing")
    with pytest.raises(NotFound):
        tokens.revoke(world.actor(world.bob), token.id or 0)
    tokens.revoke(alice, token.id or 0)
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate(secret)
    with pytest.raises(ValidationError):
        tokens.create(alice, name=" ")
    with pytest.raises(PermissionDenied):
        tokens.create(Actor.system(), name="no user")


def test_tokens_of_a_deactivated_user_stop_working(world: World) -> None:
    _, secret = world.cabinet.tokens.create(world.actor(world.alice), name="t")
    world.cabinet.users.deactivate(world.actor(world.admin), world.alice.id or 0)
    with pytest.raises(AuthenticationFailed):
        world.cabinet.tokens.authenticate(secret)


def test_token_use_is_recorded_at_most_once_a_minute(world: World) -> None:
    store = world.cabinet.store
    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    now = [start]
    store.clock = lambda: now[0]
    tokens = world.cabinet.tokens
    alice = world.actor(world.alice)
    _, secret = tokens.create(alice, name="t")
    tokens.authenticate(secret)
    assert tokens.list(alice)[0].last_used_at == start
    now[0] = start + timedelta(seconds=59)
    tokens.authenticate(secret)
    assert tokens.list(alice)[0].last_used_at == start
    now[0] = start + timedelta(seconds=60)
    tokens.authenticate(secret)
    assert tokens.list(alice)[0].last_used_at == start + timedelta(seconds=60)


def test_find_by_email_sees_what_the_actor_may_see(world: World) -> None:
    system, alice = Actor.system(), world.actor(world.alice)
    found = world.cabinet.users.find_by_email(system, " manager@firm.example ")
    assert found is not None and found.id == world.manager.id
    assert world.cabinet.users.find_by_email(system, "nobody@firm.example") is None
    # A client's user sees itself, never another client's user.
    assert world.cabinet.users.find_by_email(alice, "alice@alfa.example") == world.alice
    assert world.cabinet.users.find_by_email(alice, "bob@beta.example") is None

"""cabinet.sessions and what ends them, on both databases: signing out, idling out,
deactivating a user or its client, a password change or reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from cabinet_core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from cabinet_core.signin import secret_hash
from fixtures_services import PASSWORD, World

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _pin(world: World, at: datetime) -> None:
    world.cabinet.store.clock = lambda: at


def test_a_session_resolves_until_closed(world: World) -> None:
    sessions = world.cabinet.sessions
    secret = sessions.open(world.alice, user_agent="Firefox", remote="10.0.0.1")
    resolved = sessions.resolve(secret)
    assert resolved is not None
    assert resolved.user.id == world.alice.id
    assert resolved.session.id == secret_hash(secret) != secret
    assert (resolved.session.user_agent, resolved.session.remote) == ("Firefox", "10.0.0.1")
    sessions.close(secret)
    assert sessions.resolve(secret) is None
    assert sessions.resolve("not-a-session") is None
    assert sessions.resolve("") is None


def test_an_idle_session_ends_and_a_used_one_is_touched(world: World) -> None:
    sessions = world.cabinet.sessions
    _pin(world, NOW)
    secret = sessions.open(world.alice)
    _pin(world, NOW + timedelta(days=10))
    resolved = sessions.resolve(secret)
    assert resolved is not None
    assert sessions.list(world.actor(world.alice))[0].last_seen_at == NOW + timedelta(days=10)
    # Fourteen days after the last use (the default), not after sign-in.
    _pin(world, NOW + timedelta(days=24, seconds=-1))
    assert sessions.resolve(secret) is not None
    _pin(world, NOW + timedelta(days=38, seconds=1))
    assert sessions.resolve(secret) is None
    assert sessions.list(world.actor(world.alice)) == []


def test_deactivating_a_user_ends_its_sessions_and_tokens(world: World) -> None:
    cabinet = world.cabinet
    assert world.alice.id is not None
    secret = cabinet.sessions.open(world.alice)
    _, token = cabinet.tokens.create(world.actor(world.alice), name="script")
    cabinet.users.deactivate(world.actor(world.manager), world.alice.id)
    assert cabinet.sessions.resolve(secret) is None
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(token)
    with pytest.raises(AuthenticationFailed):
        cabinet.users.authenticate("alice@alfa.example", PASSWORD)
    entries = cabinet.audit.list(world.actor(world.admin), entity="user", entity_id=world.alice.id)
    assert "user.deactivate" in [entry.action for entry in entries]
    # Back on: it signs in again, but the old session and token stay dead.
    cabinet.users.reactivate(world.actor(world.manager), world.alice.id)
    assert cabinet.users.authenticate("alice@alfa.example", PASSWORD).id == world.alice.id
    assert cabinet.sessions.resolve(secret) is None
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(token)
    entries = cabinet.audit.list(world.actor(world.admin), entity="user", entity_id=world.alice.id)
    assert "user.reactivate" in [entry.action for entry in entries]


def test_nobody_deactivates_themselves_or_others_clients_users(world: World) -> None:
    assert world.admin.id is not None and world.bob.id is not None
    with pytest.raises(Conflict):
        world.cabinet.users.deactivate(world.actor(world.admin), world.admin.id)
    with pytest.raises(NotFound):
        world.cabinet.users.deactivate(world.actor(world.manager), world.bob.id)
    assert world.cabinet.users.get(world.actor(world.admin), world.bob.id).active


def test_deactivating_a_client_shuts_out_all_its_users(world: World) -> None:
    cabinet = world.cabinet
    secret = cabinet.sessions.open(world.alice)
    _, token = cabinet.tokens.create(world.actor(world.alice), name="script")
    bob_secret = cabinet.sessions.open(world.bob)
    cabinet.clients.update(world.actor(world.admin), attrs.evolve(world.client_a, active=False))
    assert cabinet.sessions.resolve(secret) is None
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(token)
    with pytest.raises(AuthenticationFailed):
        cabinet.users.authenticate("alice@alfa.example", PASSWORD)
    # A new session opened by a plugin's own sign-in would not resolve either.
    assert cabinet.sessions.resolve(cabinet.sessions.open(world.alice)) is None
    assert cabinet.sessions.resolve(bob_secret) is not None


def test_changing_ones_password_ends_the_other_sessions_and_tokens(world: World) -> None:
    cabinet = world.cabinet
    here = cabinet.sessions.open(world.alice)
    elsewhere = cabinet.sessions.open(world.alice)
    _, token = cabinet.tokens.create(world.actor(world.alice), name="script")
    with pytest.raises(ValidationError) as info:
        cabinet.users.change_own_password(
            world.actor(world.alice), current="wrong", new="short", keep_session=here
        )
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("current_password", "wrong"),
        ("new_password", "too_short"),
    ]
    assert cabinet.sessions.resolve(elsewhere) is not None
    cabinet.users.change_own_password(
        world.actor(world.alice), current=PASSWORD, new="a much longer secret", keep_session=here
    )
    assert cabinet.sessions.resolve(here) is not None
    assert cabinet.sessions.resolve(elsewhere) is None
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(token)
    assert cabinet.users.authenticate("alice@alfa.example", "a much longer secret")


def test_a_password_set_by_a_manager_ends_every_session(world: World) -> None:
    cabinet = world.cabinet
    assert world.alice.id is not None
    secret = cabinet.sessions.open(world.alice)
    cabinet.users.generate_password(world.actor(world.manager), world.alice.id)
    assert cabinet.sessions.resolve(secret) is None
    secret = cabinet.sessions.open(world.alice)
    cabinet.users.set_password(world.actor(world.admin), world.alice.id, "another password")
    assert cabinet.sessions.resolve(secret) is None


def test_signing_out_everywhere_else(world: World) -> None:
    sessions = world.cabinet.sessions
    here = sessions.open(world.alice)
    there = sessions.open(world.alice)
    bobs = sessions.open(world.bob)
    assert sessions.end_others(world.actor(world.alice), here) == 1
    assert sessions.resolve(here) is not None
    assert sessions.resolve(there) is None
    assert sessions.resolve(bobs) is not None

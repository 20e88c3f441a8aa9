"""cabinet.tokens: scopes (read, write, and admin only when asked for), expiry, last use at most
once a minute, and what a token's actor may not do, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from cabinet_core.entities import TokenScope
from cabinet_core.errors import AuthenticationFailed, PermissionDenied, ValidationError
from cabinet_core.services.tokens import expiry_at_end_of, last_valid_day
from fixtures_services import World

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _pin(world: World, at: datetime) -> None:
    world.cabinet.store.clock = lambda: at


def test_scopes_include_what_they_imply_but_never_admin() -> None:
    assert TokenScope.closure([TokenScope.WRITE]) == (TokenScope.READ, TokenScope.WRITE)
    assert TokenScope.closure([TokenScope.READ]) == (TokenScope.READ,)
    assert TokenScope.closure([TokenScope.ADMIN]) == tuple(TokenScope)
    assert TokenScope.ADMIN not in TokenScope.closure([TokenScope.READ, TokenScope.WRITE])


def test_a_token_keeps_its_scopes_and_expiry(world: World) -> None:
    tokens = world.cabinet.tokens
    alice = world.actor(world.alice)
    _pin(world, NOW)
    until = NOW + timedelta(days=30)
    token, secret = tokens.create(alice, name="ERP", scopes=["write"], expires_at=until)
    assert token.scopes == (TokenScope.READ, TokenScope.WRITE)
    assert token.expires_at == until
    (listed,) = tokens.list(alice)
    assert (listed.scopes, listed.expires_at) == (token.scopes, until)
    signed_in = tokens.resolve(secret)
    assert signed_in.user.id == world.alice.id
    assert signed_in.actor.scopes == frozenset({TokenScope.READ, TokenScope.WRITE})
    # Without a choice a token reads and writes, as the tokens made before scopes existed.
    default, _ = tokens.create(alice, name="default")
    assert default.scopes == (TokenScope.READ, TokenScope.WRITE)


def test_bad_choices_are_field_errors(world: World) -> None:
    tokens = world.cabinet.tokens
    alice = world.actor(world.alice)
    _pin(world, NOW)
    with pytest.raises(ValidationError) as empty:
        tokens.create(alice, name="", scopes=[], expires_at=NOW - timedelta(seconds=1))
    assert {(e.field, e.code) for e in empty.value.errors} == {
        ("scopes", "required"),
        ("name", "required"),
        ("expires_at", "past"),
    }
    with pytest.raises(ValidationError) as unknown:
        tokens.create(alice, name="x", scopes=["root"])
    assert [(e.field, e.code) for e in unknown.value.errors] == [("scopes", "unknown")]
    assert tokens.list(alice) == []


def test_an_expired_token_signs_nobody_in(world: World) -> None:
    tokens = world.cabinet.tokens
    _pin(world, NOW)
    _, secret = tokens.create(
        world.actor(world.alice), name="short", expires_at=NOW + timedelta(hours=1)
    )
    assert tokens.authenticate(secret).id == world.alice.id
    _pin(world, NOW + timedelta(hours=1))
    with pytest.raises(AuthenticationFailed) as refused:
        tokens.authenticate(secret)
    assert refused.value.message == "The API token has expired"


def test_an_expiry_day_lasts_to_its_end_in_warsaw() -> None:
    # 31 December in Warsaw (UTC+1) ends at 23:00 UTC that day.
    assert expiry_at_end_of(date(2026, 12, 31)) == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    # In summer (UTC+2) at 22:00 UTC.
    assert expiry_at_end_of(date(2026, 7, 1)) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    for day in (date(2026, 12, 31), date(2026, 7, 1), date(2027, 3, 28)):
        assert last_valid_day(expiry_at_end_of(day)) == day


def test_last_use_is_written_at_most_once_a_minute(world: World) -> None:
    tokens = world.cabinet.tokens
    alice = world.actor(world.alice)
    _pin(world, NOW)
    _, secret = tokens.create(alice, name="ERP")
    assert tokens.list(alice)[0].last_used_at is None
    tokens.authenticate(secret)
    assert tokens.list(alice)[0].last_used_at == NOW
    _pin(world, NOW + timedelta(seconds=59))
    assert tokens.resolve(secret).token.last_used_at == NOW
    assert tokens.list(alice)[0].last_used_at == NOW
    _pin(world, NOW + timedelta(seconds=60))
    tokens.authenticate(secret)
    assert tokens.list(alice)[0].last_used_at == NOW + timedelta(seconds=60)


def test_only_an_admin_scope_manages_tokens_and_users(world: World) -> None:
    cabinet = world.cabinet
    assert world.alice.id is not None
    _, reading = cabinet.tokens.create(world.actor(world.alice), name="r", scopes=["read"])
    _, writing = cabinet.tokens.create(world.actor(world.manager), name="w", scopes=["write"])
    reader = cabinet.tokens.resolve(reading).actor
    writer = cabinet.tokens.resolve(writing).actor
    mine = cabinet.tokens.list(reader)
    for attempt in (
        lambda: cabinet.tokens.create(reader, name="more"),
        lambda: cabinet.tokens.revoke(reader, mine[0].id or 0),
        lambda: cabinet.users.change_own_password(
            reader, current="correct horse battery", new="another long password"
        ),
        lambda: cabinet.users.deactivate(writer, world.alice.id or 0),
        lambda: cabinet.users.set_password(writer, world.alice.id or 0, "a brand new password"),
        lambda: cabinet.users.generate_password(writer, world.alice.id or 0),
        lambda: cabinet.sessions.end_others(reader, "x"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    # Reading is still reading: the list of one's own tokens is there.
    assert [t.name for t in mine] == ["r"]
    _, admin = cabinet.tokens.create(world.actor(world.manager), name="a", scopes=["admin"])
    manager = cabinet.tokens.resolve(admin).actor
    # A token never hands out more than it has; with admin it may make a narrower one.
    made, _ = cabinet.tokens.create(manager, name="narrow", scopes=["read"])
    assert made.scopes == (TokenScope.READ,)
    assert cabinet.users.deactivate(manager, world.alice.id).active is False


def test_a_token_cannot_widen_its_own_scopes(world: World) -> None:
    cabinet = world.cabinet
    token, secret = cabinet.tokens.create(world.actor(world.alice), name="a", scopes=["admin"])
    actor = cabinet.tokens.resolve(secret).actor
    # An admin token has every scope, so the only way to exceed it is an unknown one.
    with pytest.raises(ValidationError):
        cabinet.tokens.create(actor, name="b", scopes=["root"])
    narrow = cabinet.tokens.create(actor, name="b", scopes=["read"])[0]
    assert narrow.scopes == (TokenScope.READ,)
    assert token.scopes == tuple(TokenScope)


def test_a_password_change_and_a_deactivation_revoke_every_token(world: World) -> None:
    cabinet = world.cabinet
    assert world.alice.id is not None
    _, first = cabinet.tokens.create(world.actor(world.alice), name="one", scopes=["admin"])
    _, second = cabinet.tokens.create(world.actor(world.alice), name="two")
    cabinet.users.set_password(world.actor(world.manager), world.alice.id, "the next password")
    for secret in (first, second):
        with pytest.raises(AuthenticationFailed):
            cabinet.tokens.authenticate(secret)
    assert cabinet.tokens.list(world.actor(world.alice)) == []
    _, third = cabinet.tokens.create(world.actor(world.alice), name="three")
    cabinet.users.deactivate(world.actor(world.manager), world.alice.id)
    with pytest.raises(AuthenticationFailed):
        cabinet.tokens.authenticate(third)

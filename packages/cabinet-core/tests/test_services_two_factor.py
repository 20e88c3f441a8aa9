"""cabinet.two_factor on both databases with a fixed clock: enrolment, codes accepted once,
recovery codes, tokens asking for the second factor, an admin's reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pyotp
import pytest
from cabinet_core.errors import Conflict, PermissionDenied, ValidationError
from fixtures_services import World

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _at(world: World, at: datetime) -> None:
    world.cabinet.store.clock = lambda: at


def _code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _enrol(world: World, user: object) -> tuple[str, list[str]]:
    actor = world.actor(user)  # type: ignore[arg-type]
    secret, uri = world.cabinet.two_factor.start_enrolment(actor, email="x@example.com")
    assert uri.startswith("otpauth://totp/") and secret in uri
    codes = world.cabinet.two_factor.confirm_enrolment(actor, _code(secret, NOW))
    return secret, codes


def test_enrolment_needs_a_right_code_and_shows_recovery_codes_once(world: World) -> None:
    _at(world, NOW)
    two_factor = world.cabinet.two_factor
    actor = world.actor(world.alice)
    assert world.alice.id is not None
    secret, _ = two_factor.start_enrolment(actor, email=world.alice.email)
    assert two_factor.pending_secret(actor) == secret
    with pytest.raises(ValidationError):
        two_factor.confirm_enrolment(actor, "000000" if _code(secret, NOW) != "000000" else "1")
    assert not two_factor.enabled(world.alice.id)
    codes = two_factor.confirm_enrolment(actor, _code(secret, NOW))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_factor.enabled(world.alice.id)
    assert two_factor.remaining_recovery_codes(actor) == 10
    with pytest.raises(Conflict):
        two_factor.start_enrolment(actor, email=world.alice.email)
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="user")
    assert "user.enable_two_factor" in [e.action for e in entries]


def test_a_code_works_once_within_its_window(world: World) -> None:
    _at(world, NOW)
    secret, _ = _enrol(world, world.alice)
    two_factor = world.cabinet.two_factor
    later = NOW + timedelta(seconds=60)
    _at(world, later)
    code = _code(secret, later)
    assert two_factor.verify(world.alice, code)
    assert not two_factor.verify(world.alice, code)  # replayed
    # One step of drift is fine, two are not.
    assert two_factor.verify(world.alice, _code(secret, later + timedelta(seconds=30)))
    assert not two_factor.verify(world.alice, _code(secret, later + timedelta(seconds=120)))
    assert not two_factor.verify(world.alice, "abc")
    assert not two_factor.verify(world.bob, _code(secret, later))


def test_a_recovery_code_works_once(world: World) -> None:
    _at(world, NOW)
    _, codes = _enrol(world, world.alice)
    two_factor = world.cabinet.two_factor
    assert two_factor.verify(world.alice, codes[0].upper())
    assert not two_factor.verify(world.alice, codes[0])
    assert two_factor.remaining_recovery_codes(world.actor(world.alice)) == 9
    entries = world.cabinet.audit.list(world.actor(world.admin), entity="user")
    assert "user.use_recovery_code" in [e.action for e in entries]


def test_a_token_asks_for_the_second_factor(world: World) -> None:
    _at(world, NOW)
    secret, _ = _enrol(world, world.alice)
    tokens = world.cabinet.tokens
    with pytest.raises(ValidationError) as info:
        tokens.create(world.actor(world.alice), name="script")
    assert info.value.errors[0].field == "code"
    later = NOW + timedelta(seconds=30)
    _at(world, later)
    _, token = tokens.create(world.actor(world.alice), name="script", code=_code(secret, later))
    assert tokens.authenticate(token).id == world.alice.id


def test_staff_must_enrol_before_making_a_token(world: World) -> None:
    cabinet = world.cabinet
    cabinet.settings = attrs.evolve(cabinet.settings, staff_two_factor=True)
    assert cabinet.two_factor.required(world.manager)
    assert not cabinet.two_factor.required(world.alice)
    with pytest.raises(Conflict):
        cabinet.tokens.create(world.actor(world.manager), name="script")
    with pytest.raises(Conflict):
        cabinet.two_factor.disable(world.actor(world.manager), "123456")


def test_a_client_turns_it_off_with_a_code(world: World) -> None:
    _at(world, NOW)
    secret, _ = _enrol(world, world.alice)
    assert world.alice.id is not None
    with pytest.raises(ValidationError):
        world.cabinet.two_factor.disable(world.actor(world.alice), "12")
    later = NOW + timedelta(seconds=30)
    _at(world, later)
    world.cabinet.two_factor.disable(world.actor(world.alice), _code(secret, later))
    assert not world.cabinet.two_factor.enabled(world.alice.id)


def test_an_admin_resets_another_users_second_factor(world: World) -> None:
    _at(world, NOW)
    _enrol(world, world.manager)
    cabinet = world.cabinet
    assert world.manager.id is not None and world.admin.id is not None
    session = cabinet.sessions.open(world.manager)
    with pytest.raises(PermissionDenied):
        cabinet.two_factor.reset(world.actor(world.manager), world.manager.id)
    with pytest.raises(Conflict):
        cabinet.two_factor.reset(world.actor(world.admin), world.admin.id)
    cabinet.two_factor.reset(world.actor(world.admin), world.manager.id)
    assert not cabinet.two_factor.enabled(world.manager.id)
    assert cabinet.sessions.resolve(session) is None
    entries = cabinet.audit.list(world.actor(world.admin), entity="user")
    assert "user.reset_two_factor" in [e.action for e in entries]


def test_guessing_codes_is_throttled(world: World) -> None:
    _at(world, NOW)
    secret, _ = _enrol(world, world.alice)
    later = NOW + timedelta(seconds=60)
    _at(world, later)
    right = _code(secret, later)
    wrong = "000000" if right != "000000" else "111111"
    attempts = world.cabinet.settings.login_attempts
    for _ in range(attempts):
        assert not world.cabinet.two_factor.verify(world.alice, wrong)
    # Even the right code is refused until the window has passed.
    assert not world.cabinet.two_factor.verify(world.alice, right)
    after = later + timedelta(seconds=world.cabinet.settings.login_window_seconds + 1)
    _at(world, after)
    assert world.cabinet.two_factor.verify(world.alice, _code(secret, after))

"""Sign-in throttling (cabinet_core.signin_throttle and cabinet.users.authenticate): a delay
that doubles up to a cap, never a lock a stranger can extend; per account+address and per
account; a known device signs its owner in while strangers keep the account throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from cabinet_core.errors import AuthenticationFailed
from cabinet_core.signin_throttle import (
    KnownDevice,
    SignInThrottled,
    ThrottlePolicy,
    throttle_keys,
    wait_left,
)
from fixtures_services import PASSWORD, World
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ALICE = "alice@alfa.example"
POLICY = ThrottlePolicy(
    free_attempts=5, window=timedelta(minutes=15), max_delay=timedelta(minutes=5)
)


def _pin(world: World, at: datetime) -> None:
    world.cabinet.store.clock = lambda: at


def test_the_delay_doubles_after_the_free_attempts_up_to_the_cap() -> None:
    assert [POLICY.delay(n).total_seconds() for n in range(4, 12)] == [0, 1, 2, 4, 8, 16, 32, 64]
    assert POLICY.delay(13) == timedelta(seconds=256)
    assert POLICY.delay(14) == POLICY.delay(10_000) == timedelta(minutes=5)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**5))
def test_the_wait_never_exceeds_the_cap(failures: int, seconds_ago: int) -> None:
    last = NOW - timedelta(seconds=seconds_ago)
    wait = wait_left(POLICY, failures, last, NOW)
    assert timedelta(0) <= wait <= POLICY.max_delay
    assert wait_left(POLICY, failures, None, NOW) == timedelta(0)


def test_the_keys_of_an_attempt() -> None:
    keys = throttle_keys(
        " Alice@Alfa.example ", remote="10.0.0.1", device=None, pair=POLICY, account=POLICY
    )
    assert [k.key for k in keys] == [
        "account:alice@alfa.example",
        "pair:alice@alfa.example|10.0.0.1",
    ]
    known = throttle_keys(ALICE, remote="10.0.0.1", device="d1", pair=POLICY, account=POLICY)
    assert [k.key for k in known] == ["device:d1|alice@alfa.example"]


def _fail(world: World, remote: str, device: KnownDevice | None = None) -> None:
    with pytest.raises(AuthenticationFailed):
        world.cabinet.users.authenticate(ALICE, "wrong password", remote=remote, device=device)


def test_a_refused_attempt_does_not_extend_the_delay(world: World) -> None:
    users = world.cabinet.users
    _pin(world, NOW)
    for _ in range(world.cabinet.settings.login_attempts):
        _fail(world, "10.0.0.1")
    # The delay is now 1 s; attempts during it are refused unchecked, however many ...
    for _ in range(50):
        with pytest.raises(SignInThrottled) as info:
            users.authenticate(ALICE, PASSWORD, remote="10.0.0.1")
        assert info.value.retry_after == 1
        assert info.value.status == 429
    # ... and once it has passed the right password is accepted at once.
    _pin(world, NOW + timedelta(seconds=1))
    assert users.authenticate(ALICE, PASSWORD, remote="10.0.0.1").id == world.alice.id


def test_a_stranger_keeps_at_most_the_cap_and_the_window_forgets(world: World) -> None:
    settings = world.cabinet.settings
    users = world.cabinet.users
    at = NOW
    # A stranger who tries again whenever allowed, for a long while, from one address.
    for _ in range(40):
        _pin(world, at)
        try:
            users.authenticate(ALICE, "wrong password", remote="203.0.113.9")
        except SignInThrottled as throttled:
            assert throttled.retry_after <= settings.login_max_delay_seconds
            at += timedelta(seconds=throttled.retry_after)
        except AuthenticationFailed:
            # Refused without a delay yet (the free attempts): counted, nothing to wait out.
            continue
    # Its failures slowed only its own address: the owner signs in from home at once.
    assert users.authenticate(ALICE, PASSWORD, remote="198.51.100.7").id == world.alice.id


def test_many_addresses_slow_the_account_but_a_known_device_still_signs_in(
    world: World,
) -> None:
    users = world.cabinet.users
    settings = world.cabinet.settings
    _pin(world, NOW - timedelta(days=1))
    assert world.alice.id is not None
    device = KnownDevice(device_id="laptop", user_ids=frozenset({world.alice.id}))
    users.authenticate(ALICE, PASSWORD, remote="198.51.100.7", device=device)
    _pin(world, NOW)
    # A botnet: each address stays under its own limit, the account key fills up.
    for n in range(settings.login_account_attempts):
        _fail(world, f"203.0.113.{n}")
    with pytest.raises(SignInThrottled):
        users.authenticate(ALICE, PASSWORD, remote="198.51.100.7")
    # The owner's known device is not throttled by the strangers ...
    assert users.authenticate(ALICE, PASSWORD, remote="198.51.100.7", device=device).id == (
        world.alice.id
    )
    # ... and its success forgives the account's failures for everyone.
    assert users.authenticate(ALICE, PASSWORD, remote="192.0.2.1").id == world.alice.id


def test_a_device_known_for_another_account_counts_as_unknown(world: World) -> None:
    users = world.cabinet.users
    _pin(world, NOW)
    assert world.bob.id is not None
    stolen = KnownDevice(device_id="bobs", user_ids=frozenset({world.bob.id}))
    for _ in range(world.cabinet.settings.login_attempts):
        _fail(world, "10.0.0.1", device=stolen)
    with pytest.raises(SignInThrottled):
        users.authenticate(ALICE, PASSWORD, remote="10.0.0.1", device=stolen)


def test_a_known_devices_own_mistakes_slow_only_that_device(world: World) -> None:
    users = world.cabinet.users
    _pin(world, NOW)
    assert world.alice.id is not None
    device = KnownDevice(device_id="phone", user_ids=frozenset({world.alice.id}))
    for _ in range(world.cabinet.settings.login_attempts):
        _fail(world, "10.0.0.1", device=device)
    with pytest.raises(SignInThrottled):
        users.authenticate(ALICE, PASSWORD, remote="10.0.0.1", device=device)
    # The same address without the device cookie is another key (the account's and the pair's).
    assert users.authenticate(ALICE, PASSWORD, remote="10.0.0.1").id == world.alice.id


def test_a_wrong_second_factor_waits_without_lengthening(world: World) -> None:
    cabinet = world.cabinet
    _pin(world, NOW)
    factor = cabinet.two_factor
    secret, uri = factor.start_enrolment(world.actor(world.alice), email=ALICE)
    assert uri.startswith("otpauth://")
    factor.confirm_enrolment(world.actor(world.alice), pyotp.TOTP(secret).at(NOW))
    later = NOW + timedelta(minutes=1)
    _pin(world, later)
    for _ in range(cabinet.settings.login_attempts):
        assert not factor.verify(
            world.alice, "000000" if pyotp.TOTP(secret).at(later) != "000000" else "111111"
        )
    for _ in range(20):
        assert not factor.verify(world.alice, pyotp.TOTP(secret).at(later))
    after = later + timedelta(seconds=1)
    _pin(world, after)
    assert factor.verify(world.alice, pyotp.TOTP(secret).at(after + timedelta(seconds=30)))


def test_trusted_proxies_come_from_the_environment() -> None:
    from cabinet_core import Settings

    assert Settings().trusted_proxies == ("127.0.0.1",)
    assert Settings.from_env({}).trusted_proxies == ("127.0.0.1",)
    assert Settings.from_env({"CABINET_TRUSTED_PROXIES": ""}).trusted_proxies == ("127.0.0.1",)
    assert Settings.from_env(
        {"CABINET_TRUSTED_PROXIES": "10.0.0.2, 172.16.0.0/12"}
    ).trusted_proxies == ("10.0.0.2", "172.16.0.0/12")
    assert Settings.from_env({"CABINET_TRUSTED_PROXIES": "none"}).trusted_proxies == ()


def test_attempts_that_left_the_window_are_deleted(world: World) -> None:
    from cabinet_core.storage import schema as t

    def rows() -> int:
        with world.cabinet.store.transaction(readonly=True) as tx:
            query = t.login_attempts.select().where(
                t.login_attempts.c.key == "account:alice@alfa.example"
            )
            return len(list(tx.connection.execute(query)))

    _pin(world, NOW)
    _fail(world, "10.0.0.1")
    _fail(world, "10.0.0.1")
    assert rows() == 2
    _pin(world, NOW + timedelta(seconds=world.cabinet.settings.login_window_seconds + 1))
    assert world.cabinet.users.authenticate(ALICE, PASSWORD, remote="10.0.0.1").id
    assert rows() == 1

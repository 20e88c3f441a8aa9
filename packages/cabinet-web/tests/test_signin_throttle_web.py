"""Sign-in throttling on the login page: a delay (429 with Retry-After), never a lock; the
known-device cookie lets the owner in while a stranger has the account throttled; forwarded
addresses are believed from trusted proxies only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_web.app import create_app
from cabinet_web.known_device import DEVICE_COOKIE
from starlette.testclient import TestClient
from web_support import World, csrf_of

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def pinned(cabinet: Cabinet) -> Iterator[list[datetime]]:
    """The cabinet's clock, moved by the test (``pinned[0] = …``)."""
    at = [NOW]
    cabinet.store.clock = lambda: at[0]
    yield at


def _login(web: TestClient, email: str, password: str, **headers: str) -> Any:
    return web.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(web)},
        headers=headers,
        follow_redirects=False,
    )


def test_the_delay_ends_and_refusals_do_not_extend_it(
    web: TestClient, world: World, pinned: list[datetime]
) -> None:
    email = world.client_user.email
    for _ in range(3):
        assert _login(web, email, "wrong-password-1").status_code == 400
    for _ in range(10):
        refused = _login(web, email, "correct-horse-9")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
    pinned[0] = NOW + timedelta(seconds=1)
    assert _login(web, email, "correct-horse-9").status_code == 303


def test_a_known_device_signs_in_while_a_stranger_keeps_the_account_throttled(
    app: Any, web: TestClient, world: World, pinned: list[datetime]
) -> None:
    email = world.client_user.email
    signed_in = _login(web, email, "correct-horse-9")
    assert signed_in.status_code == 303
    cookie = signed_in.headers.get_list("set-cookie")
    device = [c for c in cookie if c.startswith(DEVICE_COOKIE + "=")]
    assert device and "httponly" in device[0].lower()
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    pinned[0] = NOW + timedelta(hours=1)
    with TestClient(app, base_url="http://testserver") as stranger:
        for _ in range(3):
            _login(stranger, email, "guess-guess-guess")
        assert _login(stranger, email, "correct-horse-9").status_code == 429
        # A forged device cookie is ignored.
        stranger.cookies.set(DEVICE_COOKIE, "eyJkIjoieCIsInUiOlsxXX0.forged")
        assert _login(stranger, email, "correct-horse-9").status_code == 429
    # Same address, but the owner's browser is a known device of the account: in at once.
    assert web.cookies.get(DEVICE_COOKIE)
    again = _login(web, email, "correct-horse-9")
    assert again.status_code == 303
    assert again.headers["location"] == "/"


def test_a_device_cookie_of_another_account_does_not_help(
    web: TestClient, world: World, pinned: list[datetime]
) -> None:
    assert _login(web, world.other_user.email, "correct-horse-9").status_code == 303
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    for _ in range(3):
        _login(web, world.client_user.email, "guess-guess-guess")
    assert _login(web, world.client_user.email, "correct-horse-9").status_code == 429


@pytest.fixture
def proxied(cabinet: Cabinet) -> Iterator[TestClient]:
    """The app behind a trusted proxy (the test client's peer name is ``testclient``)."""
    cabinet.settings = attrs.evolve(cabinet.settings, trusted_proxies=("testclient",))
    with TestClient(create_app(cabinet), base_url="http://testserver") as client:
        yield client


def test_a_trusted_proxy_tells_each_clients_address(
    proxied: TestClient, world: World, pinned: list[datetime]
) -> None:
    email = world.client_user.email
    for _ in range(3):
        _login(proxied, email, "guess-guess-guess", **{"X-Forwarded-For": "203.0.113.9"})
    stranger = _login(proxied, email, "correct-horse-9", **{"X-Forwarded-For": "203.0.113.9"})
    assert stranger.status_code == 429
    office = _login(proxied, email, "correct-horse-9", **{"X-Forwarded-For": "198.51.100.7"})
    assert office.status_code == 303


def test_forwarded_addresses_from_anyone_else_are_ignored(
    web: TestClient, world: World, pinned: list[datetime]
) -> None:
    email = world.client_user.email
    for _ in range(3):
        _login(web, email, "guess-guess-guess", **{"X-Forwarded-For": "203.0.113.9"})
    # A client cannot escape its delay by claiming another address.
    dodge = _login(web, email, "correct-horse-9", **{"X-Forwarded-For": "198.51.100.7"})
    assert dodge.status_code == 429

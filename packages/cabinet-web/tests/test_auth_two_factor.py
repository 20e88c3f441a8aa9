"""Two-factor sign-in on the pages and the API with a fixed clock, on SQLite and PostgreSQL:
staff enrol at their next sign-in, the code comes after the password, recovery codes, tokens
ask for a code, an admin resets a lost second factor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.errors import Conflict
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import World, csrf_of, login, make_settings

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SECRET = re.compile(r'data-test="totp-secret">([A-Z2-7]+)<')
CODES = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """The test cabinet with staff required to use a second factor and a pinned clock."""
    from argon2 import PasswordHasher
    from web_support import empty_postgres

    settings = make_settings(tmp_path, database_url=database_url, staff_two_factor=True)
    with Cabinet(settings, load_entrypoints=False) as cab:
        cab.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cab.migrate()
        cab.store.clock = lambda: NOW
        try:
            yield cab
        finally:
            if database_url is not None:
                empty_postgres(cab)


def _at(cabinet: Cabinet, seconds: int) -> datetime:
    at = NOW + timedelta(seconds=seconds)
    cabinet.store.clock = lambda: at
    return at


def _enrol_manager(web: TestClient, cabinet: Cabinet, world: World) -> tuple[str, list[str]]:
    signed = login(web, world.manager.email)
    assert signed.url.path == "/two-factor/enrol"
    assert "<svg" in signed.text
    secret_match = SECRET.search(signed.text)
    assert secret_match
    secret = secret_match.group(1)
    # Not signed in yet: pages send the browser back to finish the second factor.
    assert web.get("/documents").url.path == "/two-factor/enrol"
    wrong = web.post(
        "/two-factor/enrol", data={"code": "12", "csrf_token": csrf_of(web, "/two-factor/enrol")}
    )
    assert wrong.status_code == 422
    done = web.post(
        "/two-factor/enrol",
        data={
            "code": pyotp.TOTP(secret).at(NOW),
            "csrf_token": csrf_of(web, "/two-factor/enrol"),
        },
    )
    assert done.status_code == 200
    codes = CODES.findall(done.text)
    assert len(codes) == 10
    return secret, codes


def test_staff_enrol_at_sign_in_then_give_a_code_each_time(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    secret, codes = _enrol_manager(web, cabinet, world)
    assert web.get("/documents", follow_redirects=False).status_code == 200
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    at = _at(cabinet, 90)
    signed = login(web, world.manager.email)
    assert signed.url.path == "/login/second-factor"
    assert web.get("/documents", follow_redirects=False).status_code == 303
    path = "/login/second-factor"
    used = pyotp.TOTP(secret).at(NOW)  # already used at enrolment, and too old
    refused = web.post(path, data={"code": used, "csrf_token": csrf_of(web, path)})
    assert refused.status_code == 400
    ok = web.post(path, data={"code": pyotp.TOTP(secret).at(at), "csrf_token": csrf_of(web, path)})
    assert ok.url.path == "/"
    assert web.get("/documents", follow_redirects=False).status_code == 200
    # A recovery code works once.
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    login(web, world.manager.email)
    ok = web.post(path, data={"code": codes[0], "csrf_token": csrf_of(web, path)})
    assert ok.url.path == "/"
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    login(web, world.manager.email)
    again = web.post(path, data={"code": codes[0], "csrf_token": csrf_of(web, path)})
    assert again.status_code == 400


def test_a_client_signs_in_with_a_password_only_until_it_turns_2fa_on(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    page = web.get("/two-factor")
    assert 'data-test="two-factor-off"' in page.text
    enrol = web.get("/two-factor/enrol")
    secret_match = SECRET.search(enrol.text)
    assert secret_match
    secret = secret_match.group(1)
    done = web.post(
        "/two-factor/enrol",
        data={
            "code": pyotp.TOTP(secret).at(NOW),
            "csrf_token": csrf_of(web, "/two-factor/enrol"),
        },
    )
    assert len(CODES.findall(done.text)) == 10
    assert 'data-test="two-factor-on"' in web.get("/two-factor").text
    # A token now needs a current code.
    token_page = web.get("/tokens")
    assert 'name="code"' in token_page.text
    refused = web.post(
        "/tokens", data={"name": "x", "scope_read": "1", "csrf_token": csrf_of(web, "/tokens")}
    )
    assert refused.status_code == 422
    at = _at(cabinet, 30)
    made = web.post(
        "/tokens",
        data={
            "name": "x",
            "scope_read": "1",
            "code": pyotp.TOTP(secret).at(at),
            "csrf_token": csrf_of(web, "/tokens"),
        },
    )
    assert made.status_code == 200
    assert 'id="token-secret"' in made.text
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    assert login(web, world.client_user.email).url.path == "/login/second-factor"


def test_staff_without_a_second_factor_get_no_token(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    with pytest.raises(Conflict):
        cabinet.tokens.create(Actor.of(world.accountant), name="script")


def test_an_admin_resets_a_lost_second_factor_on_the_page_and_the_api(
    app: object, web: TestClient, cabinet: Cabinet, world: World
) -> None:
    _enrol_manager(web, cabinet, world)
    assert web.get("/documents", follow_redirects=False).status_code == 200
    assert cabinet.two_factor.enabled(world.manager.id or 0)
    # The admin enrols too (staff), then resets the manager's factor on the users page.
    with TestClient(app, base_url="http://testserver") as admin:  # type: ignore[arg-type]
        signed = login(admin, world.admin.email)
        secret_match = SECRET.search(signed.text)
        assert secret_match
        admin_secret = secret_match.group(1)
        admin.post(
            "/two-factor/enrol",
            data={
                "code": pyotp.TOTP(admin_secret).at(NOW),
                "csrf_token": csrf_of(admin, "/two-factor/enrol"),
            },
        )
        users = admin.get("/users")
        assert f'data-test="reset-2fa-{world.manager.id}"' in users.text
        done = admin.post(
            f"/users/{world.manager.id}/two-factor/reset",
            data={"csrf_token": csrf_of(admin, "/users")},
        )
        assert done.url.path == "/users"
    assert not cabinet.two_factor.enabled(world.manager.id or 0)
    # The manager's sessions ended; the next sign-in enrols again.
    assert web.get("/documents", follow_redirects=False).status_code == 303
    assert login(web, world.manager.email).url.path == "/two-factor/enrol"
    # The API: only admins reset, never their own.
    at = _at(cabinet, 60)
    _, secret = cabinet.tokens.create(
        Actor.of(world.admin),
        name="api",
        scopes=["admin"],
        code=pyotp.TOTP(admin_secret).at(at),
    )
    admin_token = {"Authorization": f"Bearer {secret}"}
    assert_problem(
        web.post(f"/api/v1/users/{world.admin.id}/two-factor/reset", headers=admin_token), 409
    )
    client_token = bearer(cabinet, world.client_user)
    assert_problem(
        web.post(f"/api/v1/users/{world.accountant.id}/two-factor/reset", headers=client_token),
        403,
    )
    ok = web.post(f"/api/v1/users/{world.accountant.id}/two-factor/reset", headers=admin_token)
    assert ok.status_code == 204

"""Forgot password, the link page and invitations on the pages and the JSON API, on SQLite
and PostgreSQL: the answer never tells whether an address exists; a link works once."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.worker import Worker
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import PASSWORD, World, csrf_of, login, make_settings

LINK = re.compile(r"http://testserver/password/([A-Za-z0-9_-]+)")


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def cabinet(tmp_path: Path, database_url: str | None) -> Iterator[Cabinet]:
    """The test cabinet with the folder mailer and links to the test server."""
    from argon2 import PasswordHasher
    from web_support import empty_postgres

    settings = make_settings(
        tmp_path, database_url=database_url, mailer="folder", base_url="http://testserver"
    )
    with Cabinet(settings, load_entrypoints=False) as cab:
        cab.users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        cab.migrate()
        try:
            yield cab
        finally:
            if database_url is not None:
                empty_postgres(cab)


def _mails(cabinet: Cabinet, tmp_path: Path) -> list[email.message.EmailMessage]:
    Worker(cabinet).run_once()
    found = []
    for path in sorted(tmp_path.rglob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        found.append(parsed)
    return found


def _text(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _forgot(web: TestClient, address: str) -> str:
    response = web.post(
        "/password/forgot",
        data={"email": address, "csrf_token": csrf_of(web, "/password/forgot")},
    )
    assert response.status_code == 200
    # The form's CSRF token differs per browser; the rest of the page must not.
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(
    app: object, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    with TestClient(app, base_url="http://testserver") as one:  # type: ignore[arg-type]
        known = _forgot(one, world.client_user.email)
    with TestClient(app, base_url="http://testserver") as two:  # type: ignore[arg-type]
        unknown = _forgot(two, "nobody@nowhere.pl")
    assert known == unknown
    assert 'data-test="reset-requested"' in known
    mails = _mails(cabinet, tmp_path)
    assert [m["To"] for m in mails] == [world.client_user.email]


def test_the_reset_link_sets_the_password_once_and_signs_out_everywhere(
    app: object, web: TestClient, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    with TestClient(app, base_url="http://testserver") as signed_in:  # type: ignore[arg-type]
        assert login(signed_in, world.client_user.email).url.path == "/"
        assert 'href="/password/forgot"' in web.get("/login").text
        _forgot(web, world.client_user.email)
        (mail,) = _mails(cabinet, tmp_path)
        assert "nowe hasło" in mail["Subject"]
        match = LINK.search(_text(mail))
        assert match
        path = f"/password/{match.group(1)}"
        form = web.get(path)
        assert form.status_code == 200
        assert world.client_user.email in form.text
        short = web.post(path, data={"password": "short", "csrf_token": csrf_of(web, path)})
        assert short.status_code == 422
        assert 'data-error-for="password"' in short.text
        done = web.post(
            path, data={"password": "my-new-password", "csrf_token": csrf_of(web, path)}
        )
        assert done.url.path == "/login"
        assert "Sign in with it" in done.text or "Zaloguj się nim" in done.text
        assert signed_in.get("/documents", follow_redirects=False).status_code == 303
    again = web.get(path)
    assert again.status_code == 410
    assert 'data-test="link-invalid"' in again.text
    assert login(web, world.client_user.email, PASSWORD).url.path == "/login"
    assert login(web, world.client_user.email, "my-new-password").url.path == "/"


def test_an_unknown_link_is_gone(web: TestClient) -> None:
    response = web.get("/password/not-a-real-link")
    assert response.status_code == 410
    assert 'data-test="link-invalid"' in response.text


def test_a_manager_invites_a_client_user_on_the_users_page(
    web: TestClient, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    assert login(web, world.manager.email).url.path == "/"
    created = web.post(
        "/users",
        data={
            "email": "nowy@alfa.pl",
            "name": "Nowy",
            "role": "client",
            "client_id": str(world.client.id),
            "language": "en",
            "how": "invite",
            "csrf_token": csrf_of(web, "/users"),
        },
    )
    assert created.status_code == 200
    assert created.url.path == "/users"
    assert "nowy@alfa.pl" in created.text
    assert "secret-value" not in created.text
    (mail,) = _mails(cabinet, tmp_path)
    assert mail["To"] == "nowy@alfa.pl"
    assert "invitation" in mail["Subject"]
    match = LINK.search(_text(mail))
    assert match
    path = f"/password/{match.group(1)}"
    with TestClient(web.app, base_url="http://testserver") as invitee:
        invitee.post(
            path, data={"password": "my-first-password", "csrf_token": csrf_of(invitee, path)}
        )
        assert login(invitee, "nowy@alfa.pl", "my-first-password").url.path == "/"


def test_the_api_forgot_password_and_reset(
    web: TestClient, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    known = web.post("/api/v1/password/forgot", json={"email": world.client_user.email})
    unknown = web.post("/api/v1/password/forgot", json={"email": "nobody@nowhere.pl"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    (mail,) = _mails(cabinet, tmp_path)
    match = LINK.search(_text(mail))
    assert match
    body = assert_problem(
        web.post("/api/v1/password/reset", json={"link": match.group(1), "password": "x"}), 422
    )
    assert body["errors"][0]["field"] == "password"
    done = web.post(
        "/api/v1/password/reset", json={"link": match.group(1), "password": "api-new-password"}
    )
    assert done.status_code == 204
    replay = assert_problem(
        web.post(
            "/api/v1/password/reset", json={"link": match.group(1), "password": "api-new-password"}
        ),
        422,
    )
    assert replay["errors"][0]["field"] == "link"
    assert cabinet.users.authenticate(world.client_user.email, "api-new-password")


def test_the_api_creates_users_by_invitation_or_with_a_password(
    web: TestClient, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    staff = bearer(cabinet, world.manager, scopes=["admin"])
    invited = web.post(
        "/api/v1/users",
        headers=staff,
        json={"email": "api@alfa.pl", "role": "client", "client_id": world.client.id},
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["password"] is None
    assert "password_hash" not in invited.json()["user"]
    generated = web.post(
        "/api/v1/users",
        headers=staff,
        json={
            "email": "api2@alfa.pl",
            "role": "client",
            "client_id": world.client.id,
            "invite": False,
        },
    )
    password = generated.json()["password"]
    assert cabinet.users.authenticate("api2@alfa.pl", password)
    assert [m["To"] for m in _mails(cabinet, tmp_path)] == ["api@alfa.pl"]
    denied = web.post(
        "/api/v1/users",
        headers=staff,
        json={"email": "x@beta.pl", "role": "client", "client_id": world.other_client.id},
    )
    assert denied.status_code in (403, 404)
    staff_user = web.post(
        "/api/v1/users", headers=staff, json={"email": "acc@firm.pl", "role": "accountant"}
    )
    assert_problem(staff_user, 403)
    assert Actor.of(world.manager).role.value == "manager"


def test_the_link_page_refuses_a_common_password_and_the_email(
    web: TestClient, cabinet: Cabinet, world: World, tmp_path: Path
) -> None:
    _forgot(web, world.client_user.email)
    (mail,) = _mails(cabinet, tmp_path)
    match = LINK.search(_text(mail))
    assert match
    path = f"/password/{match.group(1)}"
    common = web.post(path, data={"password": "Password2026!", "csrf_token": csrf_of(web, path)})
    assert common.status_code == 422
    assert 'data-error-for="password"' in common.text
    assert "To hasło jest na liście popularnych haseł" in common.text
    own = web.post(
        path, data={"password": world.client_user.email, "csrf_token": csrf_of(web, path)}
    )
    assert own.status_code == 422
    assert "Hasło nie może być Twoim adresem e-mail" in own.text
    # The link survived the refusals.
    done = web.post(
        path, data={"password": "tramwaj-na-mokotow-7", "csrf_token": csrf_of(web, path)}
    )
    assert done.url.path == "/login"

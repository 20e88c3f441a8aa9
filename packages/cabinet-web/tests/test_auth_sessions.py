"""Server-side sessions, deactivation and one's own password on the pages and the JSON API,
on SQLite and PostgreSQL: signing out kills every copy of the cookie."""

from __future__ import annotations

import attrs
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.app import SESSION_COOKIE
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import PASSWORD, World, csrf_of, login


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _copy(web: TestClient, app: object) -> TestClient:
    """A second browser holding a copy of ``web``'s session cookie."""
    thief = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
    thief.cookies.set(SESSION_COOKIE, web.cookies[SESSION_COOKIE])
    return thief


def test_the_cookie_carries_only_a_session_secret(
    app: object, web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    sessions = cabinet.sessions.list(Actor.of(world.client_user))
    assert len(sessions) == 1
    # The cookie's payload (base64 JSON before the signature) names no user.
    import base64
    import json

    payload = web.cookies[SESSION_COOKIE].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}
    assert sessions[0].id != data["sid"]


def test_logout_kills_a_copied_cookie(app: object, web: TestClient, world: World) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    with _copy(web, app) as thief:
        assert thief.get("/documents", follow_redirects=False).status_code == 200
        out = web.post("/logout", data={"csrf_token": csrf_of(web, "/")}, follow_redirects=False)
        assert out.status_code == 303
        response = thief.get("/documents", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_deactivation_signs_out_everywhere_and_bars_sign_in(
    app: object, web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    token = bearer(cabinet, world.client_user)
    assert web.get("/api/v1/me", headers=token).status_code == 200
    with TestClient(app, base_url="http://testserver") as manager:  # type: ignore[arg-type]
        assert login(manager, world.manager.email).url.path == "/"
        page = manager.get("/users")
        assert f'data-test="deactivate-{world.client_user.id}"' in page.text
        done = manager.post(
            f"/users/{world.client_user.id}/deactivate",
            data={"csrf_token": csrf_of(manager, "/users")},
        )
        assert done.status_code == 200
        assert f"{world.client_user.email}" in done.text
        assert f'data-test="reactivate-{world.client_user.id}"' in done.text
    response = web.get("/documents", follow_redirects=False)
    assert response.status_code == 303
    assert_problem(web.get("/api/v1/me", headers=token), 401)
    assert login(web, world.client_user.email).url.path == "/login"


def test_a_manager_cannot_deactivate_another_managers_client_user(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.manager.email).url.path == "/"
    response = web.post(
        f"/users/{world.other_user.id}/deactivate", data={"csrf_token": csrf_of(web, "/users")}
    )
    assert response.status_code == 404
    assert cabinet.users.get(Actor.system(), world.other_user.id or 0).active


def test_deactivating_a_client_shuts_out_its_users(
    app: object, web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    token = bearer(cabinet, world.client_user)
    cabinet.clients.update(Actor.of(world.admin), attrs.evolve(world.client, active=False))
    assert web.get("/documents", follow_redirects=False).status_code == 303
    assert_problem(web.get("/api/v1/me", headers=token), 401)


def test_the_api_deactivates_and_reactivates(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    staff = bearer(cabinet, world.manager, scopes=["admin"])
    victim = bearer(cabinet, world.client_user)
    listed = web.get("/api/v1/users", headers=staff)
    assert listed.status_code == 200
    assert world.client_user.email in {u["email"] for u in listed.json()}
    assert all("password_hash" not in u for u in listed.json())
    assert_problem(web.get("/api/v1/users?role=boss", headers=staff), 422)
    done = web.post(f"/api/v1/users/{world.client_user.id}/deactivate", headers=staff)
    assert done.status_code == 200, done.text
    assert done.json()["active"] is False
    assert_problem(web.get("/api/v1/me", headers=victim), 401)
    assert_problem(web.post(f"/api/v1/users/{world.other_user.id}/deactivate", headers=staff), 404)
    assert_problem(
        web.post(
            f"/api/v1/users/{world.manager.id}/deactivate",
            headers=bearer(cabinet, world.client_user),
        ),
        401,
    )
    again = web.post(f"/api/v1/users/{world.client_user.id}/reactivate", headers=staff)
    assert again.json()["active"] is True
    assert login(web, world.client_user.email).url.path == "/"


def test_changing_the_password_on_the_profile_keeps_only_this_browser(
    app: object, web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    token = bearer(cabinet, world.client_user)
    with TestClient(app, base_url="http://testserver") as other:  # type: ignore[arg-type]
        assert login(other, world.client_user.email).url.path == "/"
        page = web.get("/profile")
        assert 'data-test="password-form"' in page.text
        assert 'data-test="end-sessions"' in page.text
        wrong = web.post(
            "/profile/password",
            data={
                "csrf_token": csrf_of(web, "/profile"),
                "current_password": "not it",
                "new_password": "short",
            },
        )
        assert wrong.status_code == 422
        assert 'data-error-for="current_password"' in wrong.text
        assert 'data-error-for="new_password"' in wrong.text
        done = web.post(
            "/profile/password",
            data={
                "csrf_token": csrf_of(web, "/profile"),
                "current_password": PASSWORD,
                "new_password": "brand-new-password",
            },
        )
        assert done.status_code == 200
        assert done.url.path == "/profile"
        assert other.get("/documents", follow_redirects=False).status_code == 303
    assert web.get("/documents", follow_redirects=False).status_code == 200
    assert_problem(web.get("/api/v1/me", headers=token), 401)
    assert login(web, world.client_user.email, "brand-new-password").url.path == "/"


def test_the_api_changes_ones_password(web: TestClient, world: World, cabinet: Cabinet) -> None:
    token = bearer(cabinet, world.accountant, scopes=["admin"])
    body = assert_problem(
        web.post(
            "/api/v1/me/password",
            headers=token,
            json={"current_password": "nope", "new_password": "x"},
        ),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {"current_password", "new_password"}
    done = web.post(
        "/api/v1/me/password",
        headers=token,
        json={"current_password": PASSWORD, "new_password": "a-new-long-password"},
    )
    assert done.status_code == 204
    # The token that changed it is revoked too: it may have been what leaked.
    assert_problem(web.get("/api/v1/me", headers=token), 401)


def test_signing_out_everywhere_else(app: object, web: TestClient, world: World) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    with TestClient(app, base_url="http://testserver") as other:  # type: ignore[arg-type]
        assert login(other, world.client_user.email).url.path == "/"
        web.post("/profile/sessions/end", data={"csrf_token": csrf_of(web, "/profile")})
        assert other.get("/documents", follow_redirects=False).status_code == 303
    assert web.get("/documents", follow_redirects=False).status_code == 200

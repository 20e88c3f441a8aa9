"""The password policy on the profile page and the JSON API: a common password is a field
error in the user's language (the reset and invitation link page: test_auth_passwords)."""

from __future__ import annotations

from cabinet_core.app import Cabinet
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import PASSWORD, World, csrf_of, login

COMMON_PL = "To hasło jest na liście popularnych haseł"
COMMON_EN = "This password is on a list of common passwords"


def test_the_profile_refuses_a_common_new_password_in_english(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    web.post("/language", data={"language": "en", "next": "/", "csrf_token": csrf_of(web, "/")})
    refused = web.post(
        "/profile/password",
        data={
            "csrf_token": csrf_of(web, "/profile"),
            "current_password": PASSWORD,
            "new_password": "qwertyuiop123",
        },
    )
    assert refused.status_code == 422
    assert 'data-error-for="new_password"' in refused.text
    assert COMMON_EN in refused.text
    assert login(web, world.client_user.email).status_code == 200


def test_the_api_refuses_a_common_password_as_a_field_problem(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    token = bearer(cabinet, world.accountant, scopes=["admin"])
    body = assert_problem(
        web.post(
            "/api/v1/me/password",
            headers=token,
            json={"current_password": PASSWORD, "new_password": "password1234"},
        ),
        422,
    )
    (error,) = body["errors"]
    assert error["field"] == "new_password"
    assert error["code"] == "common"
    assert error["message"].startswith(COMMON_PL)
    # Nothing changed: the token still works (a password change would have revoked it).
    assert web.get("/api/v1/me", headers=token).status_code == 200

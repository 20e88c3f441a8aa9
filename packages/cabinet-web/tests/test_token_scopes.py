"""API tokens over HTTP: a token's scopes limit every route (403 problem documents), the tokens
page chooses scopes and an expiry, shows the new token once in full and lists scopes, expiry
and last use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from test_api import assert_problem, bearer
from web_support import World, csrf_of

SECRET = re.compile(r'id="token-secret">(cab_[^<]+)<')


def test_a_reading_token_reads_but_never_writes(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    reader = bearer(cabinet, world.client_user, scopes=["read"])
    assert web.get("/api/v1/me", headers=reader).status_code == 200
    assert web.get("/api/v1/documents", headers=reader).status_code == 200
    body = assert_problem(
        web.post("/api/v1/documents", headers=reader, json={"doc_type": "vat_invoice"}), 403
    )
    assert body["detail"] == "Ten token API nie ma zakresu write."
    assert_problem(web.post("/api/v1/documents/preview-totals", headers=reader, json={}), 403)
    assert web.get("/api/v1/documents", headers=reader).json()["total"] == 0


def test_a_writing_token_cannot_manage_tokens_or_users(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    writer = bearer(cabinet, world.manager)
    # The JSON API's user management needs the admin scope ...
    for path in (
        f"/api/v1/users/{world.client_user.id}/deactivate",
        f"/api/v1/users/{world.client_user.id}/reactivate",
    ):
        body = assert_problem(web.post(path, headers=writer), 403)
        assert body["detail"] == "Ten token API nie ma zakresu admin."
    assert_problem(
        web.post(
            "/api/v1/me/password",
            headers=writer,
            json={"current_password": "correct-horse-9", "new_password": "a-new-long-password"},
        ),
        403,
    )
    assert_problem(
        web.post(
            "/api/v1/users",
            headers=writer,
            json={"email": "new@test.pl", "role": "client", "client_id": world.client.id},
        ),
        403,
    )
    # ... and so do the pages a token could post to without a CSRF token.
    assert (
        web.post("/tokens", headers=writer, data={"name": "x", "scope_admin": "1"}).status_code
        == 403
    )
    (own,) = cabinet.tokens.list(Actor.of(world.manager))
    assert web.post(f"/tokens/{own.id}/revoke", headers=writer).status_code == 403
    assert [t.id for t in cabinet.tokens.list(Actor.of(world.manager))] == [own.id]
    # The user is untouched and the token still works.
    assert web.get("/api/v1/me", headers=writer).status_code == 200
    admin = bearer(cabinet, world.manager, scopes=["admin"])
    done = web.post(f"/api/v1/users/{world.client_user.id}/deactivate", headers=admin)
    assert done.status_code == 200, done.text


def test_an_expired_token_is_a_401(web: TestClient, world: World, cabinet: Cabinet) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    cabinet.store.clock = lambda: now
    _, secret = cabinet.tokens.create(
        Actor.of(world.client_user), name="day", expires_at=now + timedelta(days=1)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert web.get("/api/v1/me", headers=headers).status_code == 200
    cabinet.store.clock = lambda: now + timedelta(days=1)
    body = assert_problem(web.get("/api/v1/me", headers=headers), 401)
    assert body["detail"] == "Token API wygasł"


def test_the_tokens_page_creates_with_scopes_and_expiry_and_shows_the_token_once(
    client_web: TestClient, cabinet: Cabinet
) -> None:
    page = client_web.get("/tokens")
    # The explanation names the header in full (no placeholder swallowed as a tag).
    assert "Authorization: Bearer cab_…" in page.text
    assert 'name="scope_read" value="1" checked' in page.text
    assert 'name="scope_admin" value="1" checked' not in page.text
    made = client_web.post(
        "/tokens",
        data={
            "csrf_token": csrf_of(client_web, "/tokens"),
            "name": "Excel",
            "scope_write": "1",
            "expires_on": "2099-01-31",
        },
    )
    assert made.status_code == 200
    secret = SECRET.search(made.text)
    assert secret
    assert f"Authorization: Bearer {secret.group(1)}" in made.text
    listing = client_web.get("/tokens").text
    assert secret.group(1) not in listing
    row = listing[listing.index("Excel") :]
    row = row[: row.index("</tr>")]
    assert "odczyt" in row and "zapis" in row and "administracja" not in row
    assert "31.01.2099" in row
    assert "nigdy" in row  # not used yet
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client_web.get("/api/v1/me", headers=headers).status_code == 200
    used = client_web.get("/tokens").text
    row = used[used.index("Excel") :]
    row = row[: row.index("</tr>")]
    assert "nigdy" not in row  # the expiry is a date and the last use is now shown


def test_the_tokens_page_refuses_bad_choices_with_field_errors(client_web: TestClient) -> None:
    csrf = csrf_of(client_web, "/tokens")
    none = client_web.post("/tokens", data={"csrf_token": csrf, "name": "x"})
    assert none.status_code == 422
    assert 'id="e-scopes"' in none.text
    assert "Wybierz co najmniej jeden zakres." in none.text
    past = client_web.post(
        "/tokens",
        data={"csrf_token": csrf, "name": "x", "scope_read": "1", "expires_on": "2001-01-01"},
    )
    assert past.status_code == 422
    assert 'id="e-expires"' in past.text
    assert "Wybierz datę w przyszłości." in past.text
    bad = client_web.post(
        "/tokens",
        data={"csrf_token": csrf, "name": "x", "scope_read": "1", "expires_on": "31.01.2099"},
    )
    assert bad.status_code == 422
    assert 'value="31.01.2099"' in bad.text
    assert SECRET.search(bad.text) is None

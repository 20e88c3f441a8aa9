"""Sign-in, sessions and CSRF (cabinet_web.security and the login pages)."""

from __future__ import annotations

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.app import SESSION_COOKIE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import PASSWORD, World, csrf_of, login


def test_login_page_is_polish_by_default(web: TestClient) -> None:
    response = web.get("/login")
    assert response.status_code == 200
    assert '<html lang="pl">' in response.text
    assert "Zaloguj się do Panelu Klienta" in response.text


def test_pages_need_a_signed_in_user(web: TestClient) -> None:
    response = web.get("/documents?status=draft", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdocuments%3Fstatus%3Ddraft"


def test_login_and_logout(web: TestClient, world: World) -> None:
    response = login(web, world.client_user.email)
    assert response.url.path == "/"
    assert "Alfa sp. z o.o." in response.text
    cookies = response.history[0].headers.get_list("set-cookie")
    (set_cookie,) = [c.lower() for c in cookies if c.startswith(SESSION_COOKIE + "=")]
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "secure" not in set_cookie
    response = web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    assert response.url.path == "/login"
    assert web.get("/", follow_redirects=False).status_code == 303


def test_secure_cookie_when_configured(cabinet: Cabinet, world: World) -> None:
    import attrs
    from cabinet_web.app import create_app

    cabinet.settings = attrs.evolve(cabinet.settings, secure_cookies=True)
    with TestClient(create_app(cabinet), base_url="https://testserver") as web:
        response = web.get("/login")
        assert "secure" in response.headers["set-cookie"].lower()


def test_login_follows_only_local_next(web: TestClient, world: World) -> None:
    token = csrf_of(web)
    response = web.post(
        "/login",
        data={
            "email": world.client_user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_is_shown_at_the_form_with_the_email_kept(
    web: TestClient, world: World
) -> None:
    response = login(web, world.client_user.email, "not-the-password")
    assert response.status_code == 400
    assert "Błędny e-mail lub hasło" in response.text
    assert f'value="{world.client_user.email}"' in response.text


def test_throttling_delays_even_the_right_password(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    now = cabinet.store.clock()
    cabinet.store.clock = lambda: now  # the 1 s delay must not pass while the test runs
    for _ in range(3):  # settings.login_attempts is 3 in the tests
        login(web, world.client_user.email, "not-the-password")
    response = login(web, world.client_user.email)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "Zbyt wiele nieudanych prób. Spróbuj ponownie za 1 s." in response.text
    assert web.get("/", follow_redirects=False).status_code == 303


def test_form_without_csrf_token_is_rejected(web: TestClient, world: World) -> None:
    web.get("/login")
    response = web.post("/login", data={"email": world.client_user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Formularz wygasł" in response.text
    assert web.get("/", follow_redirects=False).status_code == 303


def test_csrf_token_of_another_session_is_rejected(app: object, world: World) -> None:
    with TestClient(app) as first, TestClient(app) as second:  # type: ignore[arg-type]
        foreign = csrf_of(first)
        second.get("/login")
        response = second.post(
            "/login",
            data={"email": world.client_user.email, "password": PASSWORD, "csrf_token": foreign},
        )
        assert response.status_code == 403


def test_api_with_session_needs_the_csrf_header(client_web: TestClient) -> None:
    body = {"name": "Gamma", "nip": "9510000239"}
    assert client_web.post("/api/v1/counterparties", json=body).status_code == 403
    token = csrf_of(client_web, "/")
    response = client_web.post("/api/v1/counterparties", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 201


def test_bearer_requests_are_exempt_from_csrf_and_ignore_the_session(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    _, secret = cabinet.tokens.create(Actor.of(world.other_user), name="script")
    response = client_web.post(
        "/api/v1/counterparties",
        json={"name": "Delta"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 201
    # The token's user (the other client), not the session's user, owns the new counterparty.
    assert response.json()["client_id"] == world.other_client.id
    bogus = client_web.get("/api/v1/me", headers={"Authorization": "Bearer cab_nope"})
    assert bogus.status_code == 401


def test_new_password_ends_existing_sessions(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    assert client_web.get("/", follow_redirects=False).status_code == 200
    assert world.client_user.id is not None
    cabinet.users.set_password(Actor.system(), world.client_user.id, "another-password-1")
    assert client_web.get("/", follow_redirects=False).status_code == 303


def test_tampered_session_cookie_is_ignored(client_web: TestClient) -> None:
    value = client_web.cookies[SESSION_COOKIE]
    payload, _, signature = value.partition(".")
    client_web.cookies.clear()
    # A different signature over the same payload (a forged "user_id" needs one just the same).
    client_web.cookies.set(SESSION_COOKIE, payload + "." + signature[::-1])
    assert client_web.get("/", follow_redirects=False).status_code == 303


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    email=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    password=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
    next_path=st.text(max_size=30),
)
def test_fuzzed_login_form_never_causes_a_500(
    web: TestClient, world: World, email: str, password: str, next_path: str
) -> None:
    form = {"email": email, "password": password, "next": next_path, "csrf_token": csrf_of(web)}
    response = web.post("/login", data=form, follow_redirects=False)
    assert response.status_code in (400, 429)
    assert "Błędny e-mail lub hasło" in response.text or "Zbyt wiele" in response.text

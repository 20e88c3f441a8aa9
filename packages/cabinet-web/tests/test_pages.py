"""The HTML pages: home per role, profile form, users, API tokens, documents list."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, NewsItem, Party
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """The pages run on SQLite and on PostgreSQL."""
    return database_urls


def test_client_home_shows_news_and_quick_links(cabinet: Cabinet, client_web: TestClient) -> None:
    cabinet.news.publish(
        Actor.system(), NewsItem(title="Zmiana godzin pracy", body="<b>Uwaga</b>", important=True)
    )
    page = client_web.get("/").text
    assert "Na skróty" in page
    assert "Zmiana godzin pracy" in page
    assert "&lt;b&gt;Uwaga&lt;/b&gt;" in page  # autoescaped
    assert 'href="/users"' not in page


def test_manager_home_lists_their_clients_only(manager_web: TestClient) -> None:
    page = manager_web.get("/").text
    assert "Twoi klienci" in page
    assert "Alfa sp. z o.o." in page
    assert "Beta s.c." not in page
    assert 'href="/users"' in page


def test_branding_comes_from_settings(web: TestClient) -> None:
    page = web.get("/login").text
    assert "Kancelaria Testowa" in page
    assert "--primary: #123456" in page
    assert "--accent: #abcdef" in page
    css = web.get("/static/cabinet.css")
    assert css.status_code == 200
    assert "@media (max-width: 640px)" in css.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_profile_bad_nip_is_shown_at_the_field_with_values_kept(client_web: TestClient) -> None:
    form = {
        "csrf_token": csrf_of(client_web, "/profile"),
        "name": "Alfa sp. z o.o.",
        "nip": "1234567890",
        "email": "biuro@alfa.pl",
        "address.city": "Gdynia",
    }
    response = client_web.post("/profile/company", data=form)
    assert response.status_code == 422
    assert re.search(r'id="e-nip">Ten NIP jest nieprawidłowy', response.text)
    assert 'value="1234567890"' in response.text
    assert 'value="Gdynia"' in response.text
    # Nothing was saved.
    assert 'value="5250000110"' in client_web.get("/profile").text


def test_profile_saves_company_data(client_web: TestClient) -> None:
    form = {
        "csrf_token": csrf_of(client_web, "/profile"),
        "name": "Alfa Nowa sp. z o.o.",
        "nip": "PL 525-000-01-10",
        "address.city": "Gdynia",
    }
    response = client_web.post("/profile/company", data=form)
    assert response.url.path == "/profile"
    assert "Dane firmy zapisane." in response.text
    assert 'value="Alfa Nowa sp. z o.o."' in response.text
    assert 'value="5250000110"' in response.text


def test_users_page_is_for_managers_and_admins(client_web: TestClient) -> None:
    response = client_web.get("/users")
    assert response.status_code == 403
    assert "Nie masz uprawnień" in response.text


def test_manager_creates_a_client_user_with_a_generated_password(
    manager_web: TestClient, world: World, app: object
) -> None:
    form = {
        "csrf_token": csrf_of(manager_web, "/users"),
        "email": "nowy@alfa.pl",
        "name": "Nowy",
        "role": "client",
        "client_id": str(world.client.id),
    }
    page = manager_web.post("/users", data=form)
    assert page.status_code == 200
    password = re.search(r'<code class="secret-value">([^<]+)</code>', page.text)
    assert password
    with TestClient(app) as browser:  # type: ignore[arg-type]
        assert login(browser, "nowy@alfa.pl", password.group(1)).url.path == "/"


def test_new_user_form_errors_are_at_the_fields(manager_web: TestClient, world: World) -> None:
    form = {
        "csrf_token": csrf_of(manager_web, "/users"),
        "email": "not-an-email",
        "role": "client",
        "client_id": str(world.client.id),
    }
    page = manager_web.post("/users", data=form)
    assert page.status_code == 422
    assert 'id="e-email">Podaj poprawny adres e-mail.' in page.text
    assert 'value="not-an-email"' in page.text
    assert f'<option value="{world.client.id}" selected>' in page.text
    form["client_id"] = ""
    page = manager_web.post("/users", data=form)
    assert page.status_code == 422
    assert "Wybierz klienta." in page.text


def test_generate_new_password_for_a_user(
    manager_web: TestClient, world: World, app: object
) -> None:
    page = manager_web.post(
        f"/users/{world.client_user.id}/password",
        data={"csrf_token": csrf_of(manager_web, "/users")},
    )
    password = re.search(r'<code class="secret-value">([^<]+)</code>', page.text)
    assert password
    with TestClient(app) as browser:  # type: ignore[arg-type]
        assert login(browser, world.client_user.email, password.group(1)).url.path == "/"


def test_tokens_page_shows_the_secret_once_and_revokes(
    client_web: TestClient,
) -> None:
    page = client_web.post(
        "/tokens",
        data={"csrf_token": csrf_of(client_web, "/tokens"), "name": "Excel", "scope_read": "1"},
    )
    secret = re.search(r'id="token-secret">(cab_[^<]+)<', page.text)
    assert secret
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client_web.get("/api/v1/me", headers=headers).status_code == 200
    listing = client_web.get("/tokens").text
    assert "Excel" in listing
    assert secret.group(1) not in listing
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', listing)
    assert token_id
    client_web.post(
        f"/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf_of(client_web, "/tokens")}
    )
    assert client_web.get("/api/v1/me", headers=headers).status_code == 401


def test_documents_list_filters(cabinet: Cabinet, client_web: TestClient, world: World) -> None:
    assert world.client.id is not None
    for number, net in ((1, "100.00"), (2, "250.00")):
        cabinet.documents.create(
            Actor.of(world.client_user),
            Document(
                client_id=world.client.id,
                doc_type="vat_invoice",
                issue_date=date(2026, 11, number),
                seller=Party(name="Alfa sp. z o.o.", nip="5250000110"),
                buyer=Party(name=f"Kupiec {number}"),
                lines=(DocumentLine(name="Usługa", unit_price=Decimal(net)),),
            ),
        )
    page = client_web.get("/documents").text
    assert "2 dokumenty" in page
    assert "Kupiec 1" in page and "Kupiec 2" in page
    assert "307,50" in page  # 250 + 23 % VAT, formatted the Polish way
    filtered = client_web.get("/documents?date_from=2026-11-02").text
    assert "1 dokument" in filtered
    assert "Kupiec 1" not in filtered
    bad = client_web.get("/documents?date_from=02.11.2026&doc_type=nope")
    assert bad.status_code == 422
    assert "Podaj datę w formacie RRRR-MM-DD." in bad.text
    assert "Nieznany rodzaj dokumentu." in bad.text


def test_ids_out_of_range_on_pages_are_not_found(manager_web: TestClient) -> None:
    token = csrf_of(manager_web, "/users")
    for path in (f"/users/{10**22}/password", "/users/abc/password", f"/tokens/{10**22}/revoke"):
        response = manager_web.post(path, data={"csrf_token": token})
        assert response.status_code == 404
        assert "Nie znaleziono" in response.text


FORM_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            "name": FORM_TEXT,
            "nip": FORM_TEXT,
            "regon": FORM_TEXT,
            "email": FORM_TEXT,
            "address.postal_code": FORM_TEXT,
            "address.country": FORM_TEXT,
        },
    )
)
def test_fuzzed_profile_form_never_causes_a_500(
    client_web: TestClient, values: dict[str, str]
) -> None:
    token = csrf_of(client_web, "/profile")
    response = client_web.post("/profile/company", data={**values, "csrf_token": token})
    assert response.status_code in (200, 422), response.text


def test_accountant_home_lists_every_client(web: TestClient, world: World) -> None:
    page = login(web, world.accountant.email).text
    assert "Klienci" in page
    assert "Alfa sp. z o.o." in page and "Beta s.c." in page
    assert 'href="/users"' not in page  # managers and admins only
    assert web.get("/users").status_code == 403


def test_admin_may_create_staff_but_a_manager_only_client_users(
    web: TestClient, world: World, app: object
) -> None:
    login(web, world.admin.email)
    page = web.get("/users").text
    assert '<option value="accountant"' in page
    form = {
        "csrf_token": csrf_of(web, "/users"),
        "email": "ksiegowa2@firma.pl",
        "role": "accountant",
        "language": "en",
    }
    created = web.post("/users", data=form)
    assert created.status_code == 200, created.text
    assert "ksiegowa2@firma.pl" in created.text
    with TestClient(app) as manager:  # type: ignore[arg-type]
        login(manager, world.manager.email)
        assert '<option value="accountant"' not in manager.get("/users").text
        forged = {**form, "email": "x@firma.pl", "csrf_token": csrf_of(manager, "/users")}
        assert manager.post("/users", data=forged).status_code == 403

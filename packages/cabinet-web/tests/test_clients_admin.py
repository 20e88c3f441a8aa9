"""Creating and editing clients (managers and admins), with bank sub-accounts and the client's
first user; a client user's own bank accounts in the profile."""

from __future__ import annotations

import re
from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, BankAccount, Role
from starlette.testclient import TestClient
from web_support import World, csrf_of, login

SYSTEM = Actor.system()
PLN_IBAN = "PL61 1090 1014 0000 0712 1981 2874"
EUR_IBAN = "DE89 3704 0044 0532 0130 00"


def _form(web: TestClient, path: str, **fields: str) -> dict[str, Any]:
    return {"csrf_token": csrf_of(web, path), "language": "pl", **fields}


def test_a_manager_creates_a_client_with_accounts_and_a_first_user(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    listing = manager_web.get("/clients")
    assert 'href="/clients/new"' in listing.text
    page = manager_web.get("/clients/new")
    assert page.status_code == 200
    assert 'name="bank_accounts.0.iban"' in page.text
    assert 'name="manager_id"' not in page.text  # only an admin chooses the manager
    response = manager_web.post(
        "/clients/new",
        data=_form(
            manager_web,
            "/clients/new",
            name="Gamma sp. z o.o.",
            nip="PL 123-456-32-18",
            email="biuro@gamma.example",
            **{
                "address.line1": "ul. Długa 1",
                "address.postal_code": "00-950",
                "address.city": "Warszawa",
                "address.country": "pl",
                "bank_accounts.0.currency": "PLN",
                "bank_accounts.0.iban": PLN_IBAN,
                "bank_accounts.0.bank_name": "Santander",
                # Row 1 left empty (the spare row): no account.
                "bank_accounts.1.currency": "EUR",
                "bank_accounts.2.currency": "EUR",
                "bank_accounts.2.iban": EUR_IBAN,
                "bank_accounts.2.label": "EUR",
                "first_user.email": "jan@gamma.example",
                "first_user.name": "Jan Gamma",
            },
        ),
    )
    assert response.status_code == 200
    password = re.search(r'<code class="secret-value">([^<]+)</code>', response.text)
    assert password is not None
    [client] = [c for c in cabinet.clients.list(SYSTEM) if c.name == "Gamma sp. z o.o."]
    assert client.manager_id == world.manager.id
    assert client.nip == "1234563218"
    assert client.address.country == "PL"
    assert client.bank_accounts == (
        BankAccount(currency="PLN", iban="PL61109010140000071219812874", bank_name="Santander"),
        BankAccount(currency="EUR", iban="DE89370400440532013000", label="EUR"),
    )
    user = cabinet.users.authenticate("jan@gamma.example", password.group(1))
    assert (user.client_id, user.role, user.name) == (client.id, Role.CLIENT, "Jan Gamma")
    # The password is on that answer only.
    again = manager_web.get(f"/clients/{client.id}/edit")
    assert password.group(1) not in again.text
    assert 'value="DE89370400440532013000"' in again.text


def test_bad_input_comes_back_in_place_and_saves_nothing(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    before = cabinet.clients.list(SYSTEM)
    users_before = cabinet.users.list(SYSTEM)
    response = manager_web.post(
        "/clients/new",
        data=_form(
            manager_web,
            "/clients/new",
            name="Delta",
            nip="1234563219",
            **{
                "address.postal_code": "00950",
                "address.country": "PL",
                "bank_accounts.0.currency": "PLN",
                "bank_accounts.0.iban": PLN_IBAN,
                "bank_accounts.1.currency": "EUR",
                "bank_accounts.1.iban": "DE89 3704 0044 0532 0130 01",
                "first_user.email": world.client_user.email,
            },
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert 'data-error-for="nip"' in text
    assert 'data-error-for="address.postal_code"' in text
    # The error is on the row the user typed the wrong IBAN in, and what was typed stays.
    assert 'data-error-for="bank_accounts.1.iban"' in text
    assert 'data-error-for="bank_accounts.0.iban"' not in text
    assert 'value="DE89 3704 0044 0532 0130 01"' in text
    assert 'data-error-for="first_user.email"' in text
    assert 'value="Delta"' in text
    assert cabinet.clients.list(SYSTEM) == before
    assert cabinet.users.list(SYSTEM) == users_before


def test_an_admin_chooses_the_manager_and_deactivates(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    path = f"/clients/{world.other_client.id}/edit"
    page = web.get(path)
    assert f'<option value="{world.manager.id}">Marek</option>' in page.text
    response = web.post(
        path,
        data=_form(
            web,
            path,
            name="Beta s.c.",
            nip="7790000126",
            manager_id=str(world.manager.id),
            **{
                "address.country": "PL",
                "bank_accounts.0.currency": "USD",
                "bank_accounts.0.iban": EUR_IBAN,
            },
        ),
    )
    assert response.url.path == path
    stored = cabinet.clients.get(SYSTEM, world.other_client.id)
    assert stored.manager_id == world.manager.id
    assert stored.active is False  # the box was not ticked
    assert stored.bank_accounts[0].currency == "USD"
    # A manager that is not a manager is a field error.
    bad = web.post(
        path, data=_form(web, path, name="Beta s.c.", manager_id=str(world.client_user.id))
    )
    assert bad.status_code == 422
    assert 'data-error-for="manager_id"' in bad.text


def test_a_manager_edits_only_their_clients_and_keeps_manager_and_active(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    assert manager_web.get(f"/clients/{world.other_client.id}/edit").status_code == 404
    path = f"/clients/{world.client.id}/edit"
    response = manager_web.post(
        path,
        data=_form(
            manager_web,
            path,
            name="Alfa sp. z o.o.",
            nip="5250000110",
            manager_id="",
            email="nowy@alfa.example",
            **{"address.country": "PL"},
        ),
    )
    assert response.url.path == path
    stored = cabinet.clients.get(SYSTEM, world.client.id)
    assert stored.email == "nowy@alfa.example"
    assert (stored.manager_id, stored.active) == (world.manager.id, True)


def test_accountants_and_client_users_cannot_create_clients(
    web: TestClient, client_web: TestClient, world: World
) -> None:
    assert client_web.get("/clients/new").status_code == 403
    assert client_web.get(f"/clients/{world.client.id}/edit").status_code == 403
    web.post("/logout", data={"csrf_token": csrf_of(web, "/")})
    login(web, world.accountant.email)
    assert web.get("/clients/new").status_code == 403
    assert 'href="/clients/new"' not in web.get("/clients").text


def test_a_client_user_edits_its_bank_accounts_in_the_profile(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    page = client_web.get("/profile")
    assert 'name="bank_accounts.0.iban"' in page.text
    values = {
        "name": "Alfa sp. z o.o.",
        "nip": "5250000110",
        "address.line1": "ul. Prosta 1",
        "address.postal_code": "00-001",
        "address.city": "Warszawa",
        "address.country": "PL",
        "bank_accounts.0.currency": "EUR",
        "bank_accounts.0.iban": "DE89 3704 0044 0532 0130 01",
    }
    bad = client_web.post(
        "/profile/company", data={**values, "csrf_token": csrf_of(client_web, "/profile")}
    )
    assert bad.status_code == 422
    assert 'data-error-for="bank_accounts.0.iban"' in bad.text
    assert cabinet.clients.get(SYSTEM, world.client.id).bank_accounts == ()
    values["bank_accounts.0.iban"] = EUR_IBAN
    saved = client_web.post(
        "/profile/company", data={**values, "csrf_token": csrf_of(client_web, "/profile")}
    )
    assert saved.url.path == "/profile"
    assert cabinet.clients.get(SYSTEM, world.client.id).bank_accounts == (
        BankAccount(currency="EUR", iban="DE89370400440532013000"),
    )
    # Clearing the row removes the account.
    values["bank_accounts.0.iban"] = ""
    client_web.post(
        "/profile/company", data={**values, "csrf_token": csrf_of(client_web, "/profile")}
    )
    assert cabinet.clients.get(SYSTEM, world.client.id).bank_accounts == ()


def test_the_clients_krs_is_kept_and_a_bad_one_is_shown_at_its_field(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    path = f"/clients/{world.client.id}/edit"
    fields = {"name": "Alfa sp. z o.o.", "nip": "5250000110", "address.country": "PL"}
    bad = manager_web.post(path, data=_form(manager_web, path, krs="12x", **fields))
    assert bad.status_code == 422
    assert 'name="krs"' in bad.text and 'value="12x"' in bad.text
    assert cabinet.clients.get(SYSTEM, world.client.id).krs is None
    manager_web.post(path, data=_form(manager_web, path, krs="123456", **fields))
    assert cabinet.clients.get(SYSTEM, world.client.id).krs == "0000123456"
    assert 'value="0000123456"' in manager_web.get(path).text


def test_an_admin_assigns_the_clients_accountant_on_the_form_and_through_the_api(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    path = f"/clients/{world.client.id}/edit"
    page = web.get(path)
    assert 'name="accountant_id"' in page.text
    assert f'<option value="{world.accountant.id}">' in page.text
    current = cabinet.clients.get(SYSTEM, world.client.id)
    response = web.post(
        path,
        data=_form(
            web,
            path,
            name=current.name,
            nip=current.nip or "",
            manager_id=str(current.manager_id or ""),
            accountant_id=str(world.accountant.id),
            active="true",
            **{"address.country": "PL"},
        ),
    )
    assert response.status_code == 200, response.text
    assert cabinet.clients.get(SYSTEM, world.client.id).accountant_id == world.accountant.id
    listed = web.get("/clients")
    assert f'data-test="client-accountant-{world.client.id}">' in listed.text
    # A manager is not an accountant: a field error, nothing saved.
    bad = web.post(
        path,
        data=_form(web, path, name=current.name, accountant_id=str(world.manager.id)),
    )
    assert bad.status_code == 422 and 'data-error-for="accountant_id"' in bad.text
    # The API: PATCH sets it, null takes it away.
    _token, secret = cabinet.tokens.create(Actor.of(world.admin), name="api")
    headers = {"Authorization": f"Bearer {secret}"}
    patched = web.patch(
        f"/api/v1/clients/{world.client.id}", json={"accountant_id": None}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["accountant_id"] is None


def test_a_manager_sees_no_accountant_field(web: TestClient, world: World) -> None:
    login(web, world.manager.email)
    page = web.get(f"/clients/{world.client.id}/edit")
    assert page.status_code == 200 and 'name="accountant_id"' not in page.text

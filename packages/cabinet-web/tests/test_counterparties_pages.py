"""The "Counterparties" pages: a client's user lists, adds, edits and deletes its own
counterparties; the core's NIP and e-mail checks answer at their fields with nothing saved;
staff choose the client; another client's counterparty is not found."""

from __future__ import annotations

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Address, Counterparty
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


def _counterparty(
    cabinet: Cabinet, client_id: int | None, name: str = "Gamma S.A."
) -> Counterparty:
    return cabinet.counterparties.create(
        Actor.system(),
        Counterparty(
            client_id=client_id or 0,
            name=name,
            nip="9510000239",
            address=Address(line1="ul. Długa 2", postal_code="00-002", city="Kraków"),
        ),
    )


def _form(web: TestClient, path: str = "/counterparties/new", **values: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(web, path),
        "kind": "company",
        "name": "Delta sp. z o.o.",
        "nip": "525-000-01-10",
        "address.line1": "ul. Krótka 3",
        "address.postal_code": "00-003",
        "address.city": "Gdańsk",
        "address.country": "pl",
        "email": "biuro@delta.pl",
        **values,
    }


def test_a_client_user_lists_adds_edits_and_deletes_its_counterparties(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    _counterparty(cabinet, world.other_client.id, "Cudzy kontrahent")
    assert 'href="/counterparties"' in client_web.get("/").text
    page = client_web.get("/counterparties").text
    assert "Kontrahenci" in page and "Cudzy kontrahent" not in page
    response = client_web.post(
        "/counterparties/new", data=_form(client_web), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    [made] = cabinet.counterparties.list(Actor.system(), world.client.id).items
    assert (made.name, made.nip, made.address.country) == ("Delta sp. z o.o.", "5250000110", "PL")
    path = f"/counterparties/{made.id}"
    assert 'value="5250000110"' in client_web.get(path).text
    response = client_web.post(
        path, data=_form(client_web, path, name="Delta S.A."), follow_redirects=False
    )
    assert response.status_code == 303
    assert cabinet.counterparties.get(Actor.system(), made.id or 0).name == "Delta S.A."
    response = client_web.post(
        f"{path}/delete", data={"csrf_token": csrf_of(client_web, path)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert cabinet.counterparties.list(Actor.system(), world.client.id).total == 0


def test_bad_values_are_shown_at_their_fields_and_nothing_is_saved(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    form = _form(
        client_web, name=" ", nip="1234567890", email="nie-adres", **{"address.country": "XX"}
    )
    response = client_web.post("/counterparties/new", data=form)
    assert response.status_code == 422
    for field in ("name", "nip", "email", "address.country"):
        assert f'data-error-for="{field}"' in response.text, field
    assert cabinet.counterparties.list(Actor.system(), world.client.id).total == 0


def test_another_clients_counterparty_is_not_found(
    cabinet: Cabinet, client_web: TestClient, manager_web: TestClient, world: World
) -> None:
    theirs = _counterparty(cabinet, world.other_client.id, "Cudzy kontrahent")
    path = f"/counterparties/{theirs.id}"
    assert client_web.get(path).status_code == 404
    assert client_web.post(path, data=_form(client_web, name="Mój")).status_code == 404
    csrf = csrf_of(client_web, "/counterparties")
    assert client_web.post(f"{path}/delete", data={"csrf_token": csrf}).status_code == 404
    assert cabinet.counterparties.get(Actor.system(), theirs.id or 0).name == "Cudzy kontrahent"


def test_a_manager_chooses_among_its_clients(
    cabinet: Cabinet, manager_web: TestClient, world: World
) -> None:
    _counterparty(cabinet, world.client.id)
    theirs = _counterparty(cabinet, world.other_client.id, "Cudzy kontrahent")
    page = manager_web.get("/counterparties").text
    assert 'data-test="choose-client"' in page and world.other_client.name not in page
    assert "Gamma S.A." in manager_web.get(f"/counterparties?client_id={world.client.id}").text
    assert manager_web.get(f"/counterparties/{theirs.id}").status_code == 404
    form = _form(manager_web, client_id=str(world.other_client.id))
    assert manager_web.post("/counterparties/new", data=form).status_code == 404
    response = manager_web.post("/counterparties/new", data=_form(manager_web, client_id=""))
    assert response.status_code == 422 and 'data-error-for="client_id"' in response.text


def test_an_accountant_reads_the_list_without_the_new_button(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    _counterparty(cabinet, world.client.id)
    login(web, world.accountant.email)
    page = web.get(f"/counterparties?client_id={world.client.id}").text
    assert "Gamma S.A." in page and 'data-test="new-counterparty"' not in page
    form = _form(web, "/counterparties", client_id=str(world.client.id))
    assert web.post("/counterparties/new", data=form).status_code == 403


def test_a_client_user_sees_the_new_button(client_web: TestClient) -> None:
    assert 'data-test="new-counterparty"' in client_web.get("/counterparties").text

"""Clients for staff, an admin's templates per client, and the client's own preferences."""

from __future__ import annotations

import re

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


def test_staff_see_clients_with_their_manager(manager_web: TestClient, world: World) -> None:
    page = manager_web.get("/clients")
    assert page.status_code == 200
    assert "Alfa sp. z o.o." in page.text
    assert "5250000110" in page.text
    assert "Marek" in page.text  # the manager's name
    assert "Beta s.c." not in page.text  # not this manager's client
    assert 'href="/clients"' in page.text  # in the menu
    # Only an admin edits the document settings.
    assert f"/clients/{world.client.id}/settings" not in page.text
    assert manager_web.get(f"/clients/{world.client.id}/settings").status_code == 403


def test_client_users_have_no_clients_page(client_web: TestClient) -> None:
    assert client_web.get("/clients").status_code == 403
    assert 'href="/clients"' not in client_web.get("/").text


def test_admin_assigns_templates_default_auto_send_and_language(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    listing = web.get("/clients?search=Beta")
    assert "Beta s.c." in listing.text
    assert "Alfa sp. z o.o." not in listing.text
    path = f"/clients/{world.client.id}/settings"
    page = web.get(path)
    assert page.status_code == 200
    assert 'value="classic"' in page.text and 'value="modern"' in page.text
    assert "Faktura VAT" in page.text  # the document types each template lays out
    response = web.post(
        path,
        data={
            "csrf_token": csrf_of(web, path),
            "allowed_templates": ["modern"],
            "default_template": "modern",
            "auto_send": "on",
            "language": "en",
        },
    )
    assert response.url.path == path
    assert "Ustawienia klienta zapisane." in response.text or "Client settings saved." in (
        response.text
    )
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.allowed_templates == ("modern",)
    assert stored.default_template == "modern"
    assert stored.auto_send is True
    assert stored.language == "en"
    assert re.search(r'value="modern" checked', response.text)


def test_a_default_outside_the_allowed_templates_saves_nothing(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    path = f"/clients/{world.client.id}/settings"
    response = web.post(
        path,
        data={
            "csrf_token": csrf_of(web, path),
            "allowed_templates": ["classic"],
            "default_template": "modern",
            "auto_send": "on",
            "language": "pl",
        },
    )
    assert response.status_code == 422
    assert 'id="e-default_template"' in response.text
    assert 'value="classic" checked' in response.text  # the values are kept
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.allowed_templates == ()
    assert stored.auto_send is False


def test_unknown_template_or_language_is_a_field_error(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.admin.email)
    path = f"/clients/{world.client.id}/settings"
    response = web.post(
        path,
        data={
            "csrf_token": csrf_of(web, path),
            "allowed_templates": ["nope"],
            "language": "xx",
        },
    )
    assert response.status_code == 422
    assert 'id="e-language"' in response.text
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.language == "pl"
    response = web.post(
        path,
        data={"csrf_token": csrf_of(web, path), "allowed_templates": ["nope"], "language": "pl"},
    )
    assert response.status_code == 422
    assert 'id="e-allowed_templates"' in response.text
    assert cabinet.clients.get(Actor.system(), world.client.id).allowed_templates == ()


def test_client_switches_auto_send_and_picks_an_allowed_default(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    cabinet.clients.assign_templates(Actor.system(), world.client.id, ["classic"], None)
    page = client_web.get("/profile").text
    assert 'name="auto_send"' in page
    assert '<option value="classic"' in page
    assert '<option value="modern"' not in page  # not allowed for this client
    response = client_web.post(
        "/profile/preferences",
        data={
            "csrf_token": csrf_of(client_web, "/profile"),
            "auto_send": "on",
            "default_template": "classic",
        },
    )
    assert response.url.path == "/profile"
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.auto_send is True
    assert stored.default_template == "classic"
    assert re.search(r'name="auto_send" id="f-auto_send" checked', response.text)
    # A template the admin did not allow is refused at the field, nothing changes.
    response = client_web.post(
        "/profile/preferences",
        data={"csrf_token": csrf_of(client_web, "/profile"), "default_template": "modern"},
    )
    assert response.status_code == 422
    assert 'id="e-default_template"' in response.text
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.auto_send is True
    assert stored.default_template == "classic"
    # Switching off.
    client_web.post("/profile/preferences", data={"csrf_token": csrf_of(client_web, "/profile")})
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.auto_send is False
    assert stored.default_template is None


def test_staff_have_no_preferences_form(manager_web: TestClient) -> None:
    assert 'action="/profile/preferences"' not in manager_web.get("/profile").text
    response = manager_web.post(
        "/profile/preferences", data={"csrf_token": csrf_of(manager_web, "/profile")}
    )
    assert response.status_code == 403

"""``/settings/document-notes`` and ``/api/v1/settings/document-notes``: admins set the notes
each document type starts with; a new document's form opens with them (audited, an unknown type
or an over-long text refused)."""

from __future__ import annotations

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.services.document_notes import DEFAULT_NOTES_KEY, MAX_LENGTH
from starlette.testclient import TestClient
from web_support import World, csrf_of, login

NOTE = "Płatność w ciągu 14 dni na rachunek podany powyżej."


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def test_admin_sets_a_types_notes_and_a_new_document_starts_with_them(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    assert "/settings/document-notes" in web.get("/settings").text
    path = "/settings/document-notes"
    saved = web.post(path, data={"vat_invoice": NOTE, "csrf_token": csrf_of(web, path)})
    assert saved.status_code == 200 and saved.url.path == path
    assert NOTE in saved.text
    assert cabinet.document_notes.for_type("vat_invoice") == NOTE
    entries = cabinet.audit.list(Actor.of(world.admin), entity="setting")
    assert entries[0].detail["key"] == DEFAULT_NOTES_KEY
    form = web.get(f"/documents/new?type=vat_invoice&client_id={world.client.id}")
    assert form.status_code == 200 and NOTE in form.text
    other = web.get(f"/documents/new?type=proforma&client_id={world.client.id}")
    assert NOTE not in other.text


def test_a_too_long_text_is_refused_at_its_field(web: TestClient, world: World) -> None:
    login(web, world.admin.email)
    path = "/settings/document-notes"
    refused = web.post(
        path, data={"vat_invoice": "x" * (MAX_LENGTH + 1), "csrf_token": csrf_of(web, path)}
    )
    assert refused.status_code == 422 and 'data-error-for="vat_invoice"' in refused.text


def test_document_notes_through_the_api(web: TestClient, world: World, cabinet: Cabinet) -> None:
    _token, secret = cabinet.tokens.create(Actor.of(world.admin), name="notes")
    headers = {"Authorization": f"Bearer {secret}"}
    put = web.put("/api/v1/settings/document-notes", json={"proforma": NOTE}, headers=headers)
    assert put.status_code == 200 and put.json() == {"proforma": NOTE}
    bad = web.put("/api/v1/settings/document-notes", json={"nothing": "x"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "nothing"
    cleared = web.put("/api/v1/settings/document-notes", json={"proforma": ""}, headers=headers)
    assert cleared.json() == {}
    _token, manager = cabinet.tokens.create(Actor.of(world.manager), name="notes")
    refused = web.get(
        "/api/v1/settings/document-notes", headers={"Authorization": f"Bearer {manager}"}
    )
    assert refused.status_code == 403

"""``/api/v1/settings/branding`` and ``/api/v1/settings/mail``: admins only, the same checks as
the pages (WCAG AA contrast, SMTP fields), the password write-only, the test e-mail queued."""

from __future__ import annotations

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.worker import Worker
from starlette.testclient import TestClient
from web_support import World


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _headers(cabinet: Cabinet, user: object) -> dict[str, str]:
    _token, secret = cabinet.tokens.create(Actor.of(user), name="settings")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


def test_branding_through_the_api(web: TestClient, world: World, cabinet: Cabinet) -> None:
    headers = _headers(cabinet, world.admin)
    body = {"firm_name": "Nowak", "primary_color": "#0b3d2e", "accent_color": "#ffd166"}
    saved = web.put("/api/v1/settings/branding", json=body, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["primary_color"] == "#0b3d2e"
    assert web.get("/api/v1/settings/branding", headers=headers).json()["firm_name"] == "Nowak"
    refused = web.put(
        "/api/v1/settings/branding", json={**body, "primary_color": "#777777"}, headers=headers
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["primary_color"]
    manager = _headers(cabinet, world.manager)
    assert web.get("/api/v1/settings/branding", headers=manager).status_code == 403
    assert web.put("/api/v1/settings/branding", json=body, headers=manager).status_code == 403


def test_mail_settings_and_test_email_through_the_api(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    headers = _headers(cabinet, world.admin)
    body = {"host": "smtp.example.pl", "port": 587, "starttls": True, "sender": "b@example.pl"}
    saved = web.put(
        "/api/v1/settings/mail", json={**body, "password": "tajne-haslo"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["password_set"] is True
    assert "tajne-haslo" not in saved.text
    assert "tajne-haslo" not in web.get("/api/v1/settings/mail", headers=headers).text
    bad = web.put("/api/v1/settings/mail", json={**body, "port": 0}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "port"
    queued = web.post("/api/v1/settings/mail/test", json={"to": "t@example.pl"}, headers=headers)
    assert queued.status_code == 202
    assert queued.json()["state"] == "queued" and queued.json()["to"] == "t@example.pl"
    Worker(cabinet).run_once()  # the folder mailer of the test cabinet
    tests = web.get("/api/v1/settings/mail/tests", headers=headers).json()
    assert [t["state"] for t in tests] == ["sent"]
    manager = _headers(cabinet, world.manager)
    assert (
        web.post("/api/v1/settings/mail/test", json={"to": "t@example.pl"}, headers=manager)
    ).status_code == 403

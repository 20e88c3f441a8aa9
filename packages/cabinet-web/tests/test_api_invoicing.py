"""The invoicing endpoints of the JSON API: templates per client."""

from __future__ import annotations

from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from starlette.testclient import TestClient
from web_support import World


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    """Authorization headers with a fresh personal token of ``user``."""
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_admin_puts_a_clients_templates(cabinet: Cabinet, web: TestClient, world: World) -> None:
    headers = bearer(cabinet, world.admin)
    url = f"/api/v1/clients/{world.client.id}/templates"
    body = {"templates": ["classic", "modern"], "default": "modern"}
    response = web.put(url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["allowed_templates"] == ["classic", "modern"]
    assert response.json()["default_template"] == "modern"
    stored = cabinet.clients.get(Actor.system(), world.client.id)
    assert stored.allowed_templates == ("classic", "modern")


def test_unknown_template_is_a_422_and_nothing_changes(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.admin)
    url = f"/api/v1/clients/{world.client.id}/templates"
    body = assert_problem(web.put(url, json={"templates": ["nope"]}, headers=headers), 422)
    assert body["errors"][0]["field"] == "allowed_templates"
    body = assert_problem(web.put(url, json={"templates": "classic"}, headers=headers), 422)
    assert body["errors"][0]["field"] == "templates"
    body = assert_problem(
        web.put(url, json={"templates": ["classic"], "default": "modern"}, headers=headers), 422
    )
    assert body["errors"][0]["field"] == "default_template"
    assert cabinet.clients.get(Actor.system(), world.client.id).allowed_templates == ()


def test_only_admins_assign_templates(cabinet: Cabinet, web: TestClient, world: World) -> None:
    url = f"/api/v1/clients/{world.client.id}/templates"
    for user in (world.client_user, world.manager, world.accountant):
        response = web.put(url, json={"templates": ["classic"]}, headers=bearer(cabinet, user))
        assert_problem(response, 403)
    assert cabinet.clients.get(Actor.system(), world.client.id).allowed_templates == ()

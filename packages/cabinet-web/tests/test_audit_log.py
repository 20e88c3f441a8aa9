"""The audit log page and ``/api/v1/audit``: filters, paging, the CSV export of exactly the
filtered entries, who may search what, where each change came from, and that nothing on the
web changes an entry. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, AuditEntry
from cabinet_core.storage import schema as t
from starlette.routing import Route
from starlette.testclient import TestClient
from web_support import World, login

UA = "AuditTest/1.0 (X11; Linux)"


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _token, secret = cabinet.tokens.create(Actor.of(user), name="audit test")
    # The users' own language (Polish) names the actions and the CSV's columns.
    return {"Authorization": f"Bearer {secret}"}


def _seed(cabinet: Cabinet, world: World) -> None:
    """Entries with known times: 30 on Alfa by the manager in November, 30 on Beta by the
    admin in December, one clientless setting change."""
    with cabinet.store.transaction() as tx:
        for day in range(1, 31):
            tx.record(
                AuditEntry(
                    at=datetime(2026, 11, day, 10, tzinfo=UTC),
                    actor_id=world.manager.id,
                    client_id=world.client.id,
                    action="document.update",
                    entity="document",
                    entity_id=1000 + day,
                    detail={"note": f"alfa-{day}"},
                )
            )
        for day in range(1, 31):
            tx.record(
                AuditEntry(
                    at=datetime(2026, 12, day, 10, tzinfo=UTC),
                    actor_id=world.admin.id,
                    client_id=world.other_client.id,
                    action="client.update",
                    entity="client",
                    entity_id=world.other_client.id,
                    detail={"note": f"beta-{day} Zażółć"},
                )
            )
        tx.record(
            AuditEntry(
                at=datetime(2026, 12, 5, 8, tzinfo=UTC),
                actor_id=world.admin.id,
                action="settings.set",
                entity="setting",
                detail={"key": "branding.firm_name"},
            )
        )


def _api(web: TestClient, headers: dict[str, str], **params: Any) -> Any:
    response = web.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_change_records_the_request_address_and_browser(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    web.headers["User-Agent"] = UA
    token_page = web.get("/tokens")
    csrf = token_page.text.split('name="csrf_token" value="')[1].split('"')[0]
    made = web.post("/tokens", data={"name": "laptop", "scope_read": "1", "csrf_token": csrf})
    assert made.status_code == 200
    found = _api(web, _bearer(cabinet, world.admin), action="token.create", q="")
    ours = [item for item in found["items"] if item["actor_id"] == world.admin.id]
    # The bearer helper's own token was created outside a request: no address.
    from_web = [item for item in ours if item["ip"] is not None]
    assert len(from_web) == 1
    assert from_web[0]["ip"] == "testclient"
    assert from_web[0]["user_agent"] == UA
    assert from_web[0]["action_label"] == "Utworzono token API"
    outside = [item for item in ours if item["ip"] is None]
    assert outside and outside[0]["user_agent"] is None


def test_admin_filters_pages_and_searches(web: TestClient, world: World, cabinet: Cabinet) -> None:
    _seed(cabinet, world)
    headers = _bearer(cabinet, world.admin)
    by_client = _api(web, headers, client_id=world.client.id, entity="document", limit=10)
    assert by_client["total"] == 30
    assert len(by_client["items"]) == 10
    assert all(item["client_name"] == "Alfa sp. z o.o." for item in by_client["items"])
    second = _api(web, headers, client_id=world.client.id, entity="document", limit=10, offset=10)
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in by_client["items"]})
    assert by_client["items"][0]["id"] > second["items"][0]["id"]  # newest first
    assert _api(web, headers, actor_id=world.admin.id, entity="client")["total"] == 30
    assert _api(web, headers, action="settings.set")["total"] == 1
    december = _api(web, headers, since="2026-12-10", until="2026-12-12", entity="client")
    assert december["total"] == 3
    assert _api(web, headers, q="BETA-7 zażółć")["total"] == 1
    assert _api(web, headers, q="marek")["total"] == 30  # the actor's name
    assert _api(web, headers, q="100%")["total"] == 0  # wildcards are literal
    labels = {item["action_label"] for item in _api(web, headers, limit=200)["items"]}
    assert {"Zmieniono dokument", "Zmieniono klienta", "Zmieniono ustawienie"} <= labels


def test_page_shows_entries_in_words_and_pages(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    _seed(cabinet, world)
    login(web, world.admin.email)
    first = web.get(
        "/audit",
        params={"client_id": world.client.id, "entity": "document"},
        headers={"Accept-Language": "pl"},
    )
    assert first.status_code == 200
    assert first.text.count('data-test="audit-row"') == 30
    page = web.get("/audit", headers={"Accept-Language": "pl"})
    assert page.text.count('data-test="audit-row"') == 50
    assert 'data-test="audit-next"' in page.text
    older = web.get("/audit", params={"offset": 50})
    assert older.text.count('data-test="audit-row"') > 0
    assert 'data-test="audit-previous"' in older.text
    pl = web.get("/audit", params={"action": "client.update"}, headers={"Accept-Language": "pl"})
    assert "Zmieniono klienta" in pl.text
    assert ">client.update<" not in pl.text


def test_csv_export_is_exactly_the_filtered_set(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    _seed(cabinet, world)
    headers = _bearer(cabinet, world.admin)
    params = {"since": "2026-11-05", "until": "2026-12-03", "q": "a"}
    expected = [item["id"] for item in _api(web, headers, limit=200, **params)["items"]]
    assert 3 < len(expected) < 61
    for path in ("/audit.csv", "/api/v1/audit/export"):
        response = web.get(path, params=params, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][0] == "ID" and rows[0][5] == "Co"
        assert [int(row[0]) for row in rows[1:]] == expected
        assert {row[5] for row in rows[1:]} <= {"Zmieniono dokument", "Zmieniono klienta"}


def test_export_streams_in_batches(web: TestClient, world: World, cabinet: Cabinet) -> None:
    from cabinet_core.services import audit as audit_service

    _seed(cabinet, world)
    original = audit_service.EXPORT_BATCH
    audit_service.EXPORT_BATCH = 7
    try:
        response = web.get("/api/v1/audit/export", headers=_bearer(cabinet, world.admin))
    finally:
        audit_service.EXPORT_BATCH = original
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    ids = [int(row[0]) for row in rows]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids, reverse=True)
    assert len(ids) >= 61


def test_manager_sees_only_their_clients(web: TestClient, world: World, cabinet: Cabinet) -> None:
    _seed(cabinet, world)
    headers = _bearer(cabinet, world.manager)
    everything = _api(web, headers, limit=200)
    assert everything["total"] >= 30
    assert {item["client_id"] for item in everything["items"]} == {world.client.id}
    assert _api(web, headers, q="beta")["total"] == 0
    assert _api(web, headers, action="settings.set")["total"] == 0
    other = web.get("/api/v1/audit", params={"client_id": world.other_client.id}, headers=headers)
    assert other.status_code == 404
    export = web.get("/api/v1/audit/export", headers=headers)
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1:]
    assert rows and {row[4] for row in rows} == {"Alfa sp. z o.o."}
    login(web, world.manager.email)
    page = web.get("/audit")
    assert page.status_code == 200
    assert "beta-" not in page.text
    assert 'href="/audit"' in page.text  # in the manager's menu
    assert web.get("/audit", params={"client_id": world.other_client.id}).status_code == 404
    assert web.get("/audit.csv", params={"client_id": world.other_client.id}).status_code == 404


@pytest.mark.parametrize("who", ["accountant", "client_user"])
def test_other_roles_have_no_audit_log(
    web: TestClient, world: World, cabinet: Cabinet, who: str
) -> None:
    user = getattr(world, who)
    headers = _bearer(cabinet, user)
    assert web.get("/api/v1/audit", headers=headers).status_code == 403
    assert web.get("/api/v1/audit/export", headers=headers).status_code == 403
    login(web, user.email)
    assert web.get("/audit").status_code == 403
    assert web.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in web.get("/").text


def test_bad_filters_are_field_errors(web: TestClient, world: World, cabinet: Cabinet) -> None:
    headers = _bearer(cabinet, world.admin)
    reversed_range = web.get(
        "/api/v1/audit", params={"since": "2026-12-05", "until": "2026-12-01"}, headers=headers
    )
    assert reversed_range.status_code == 422
    assert reversed_range.json()["errors"][0]["field"] == "until"
    bad_date = web.get("/api/v1/audit", params={"since": "yesterday"}, headers=headers)
    assert bad_date.status_code == 422
    login(web, world.admin.email)
    page = web.get("/audit", params={"since": "2026-12-05", "until": "2026-12-01"})
    assert page.status_code == 422
    assert 'data-error-for="until"' in page.text
    assert web.get("/audit.csv", params={"since": "nope"}).status_code == 422


def test_no_route_changes_the_audit_log(
    web: TestClient, world: World, cabinet: Cabinet, app: Any
) -> None:
    _seed(cabinet, world)

    def rows() -> list[dict[str, Any]]:
        with cabinet.store.engine.connect() as connection:
            query = sa.select(t.audit_log).order_by(t.audit_log.c.id)
            return [dict(row) for row in connection.execute(query).mappings()]

    audit_routes = [
        route for route in app.routes if isinstance(route, Route) and "audit" in route.path
    ]
    assert {route.path for route in audit_routes} >= {
        "/audit",
        "/audit.csv",
        "/api/v1/audit",
        "/api/v1/audit/export",
    }
    for route in audit_routes:
        assert route.methods is not None and route.methods <= {"GET", "HEAD"}, route.path
    headers = _bearer(cabinet, world.admin)
    login(web, world.admin.email)  # a sign-in is an entry: taken before "before"
    before = rows()
    entry_id = before[0]["id"]
    for path in (
        "/audit",
        "/audit.csv",
        "/api/v1/audit",
        "/api/v1/audit/export",
        f"/api/v1/audit/{entry_id}",
        f"/audit/{entry_id}",
    ):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = web.request(method, path, headers=headers, json={"action": "x"})
            assert response.status_code in (403, 404, 405), (method, path)
    assert rows() == before
    # Nor does the storage offer a way to.
    from cabinet_core.storage import Tx

    assert not [
        name
        for name in dir(Tx)
        if "audit" in name
        and not name.startswith(("add_", "list_", "search_", "count_", "record", "_audit"))
    ]


def test_entries_read_in_english_for_an_english_user(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    _seed(cabinet, world)
    cabinet.users.set_language(Actor.system(), world.admin.id, "en")
    headers = _bearer(cabinet, world.admin)
    labels = {item["action_label"] for item in _api(web, headers, limit=200)["items"]}
    assert {"Document changed", "Client changed", "Setting changed"} <= labels
    export = web.get("/api/v1/audit/export", params={"action": "settings.set"}, headers=headers)
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "When", "Who"]
    assert rows[1][5] == "Setting changed" and rows[1][7] == "Setting"
    login(web, world.admin.email)
    page = web.get("/audit", params={"entity": "client"})
    assert "Audit log" in page.text and "Client changed" in page.text

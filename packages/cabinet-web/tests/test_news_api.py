"""``/api/v1/news``: managers and admins publish, change and withdraw news through the API as on
the news page (audited by the service); clients only read; a CRM's item is changed there."""

from __future__ import annotations

from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, NewsItem
from starlette.testclient import TestClient
from web_support import World


def _headers(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _token, secret = cabinet.tokens.create(Actor.of(user), name="news")
    return {"Authorization": f"Bearer {secret}"}


def test_publish_change_and_withdraw_news(web: TestClient, world: World, cabinet: Cabinet) -> None:
    staff = _headers(cabinet, world.manager)
    made = web.post(
        "/api/v1/news",
        json={"title": "Nowe terminy JPK", "body": "Do 25.", "important": True},
        headers=staff,
    )
    assert made.status_code == 201, made.text
    news_id = made.json()["id"]
    assert made.json()["important"] is True
    client = _headers(cabinet, world.client_user)
    assert web.get(f"/api/v1/news/{news_id}", headers=client).json()["title"] == "Nowe terminy JPK"
    notes = cabinet.notifications.list(Actor.of(world.client_user))
    assert any(n.kind == "news.important" for n in notes)
    changed = web.put(
        f"/api/v1/news/{news_id}", json={"title": "Terminy JPK", "body": "Do 25."}, headers=staff
    )
    assert changed.status_code == 200 and changed.json()["title"] == "Terminy JPK"
    assert changed.json()["important"] is False
    entries = cabinet.audit.list(Actor.of(world.admin), entity="news", entity_id=news_id)
    assert {e.action for e in entries} == {"news.publish", "news.update"}
    refused = web.post("/api/v1/news", json={"title": "Moje"}, headers=client)
    assert refused.status_code == 403
    empty = web.post("/api/v1/news", json={"title": " "}, headers=staff)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "title"
    typo = web.post("/api/v1/news", json={"title": "A", "importnat": True}, headers=staff)
    assert typo.status_code == 422 and typo.json()["errors"][0]["field"] == "importnat"
    assert web.delete(f"/api/v1/news/{news_id}", headers=staff).status_code == 204
    assert web.get(f"/api/v1/news/{news_id}", headers=client).status_code == 404


def test_a_crm_news_item_is_changed_in_the_crm(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    item = cabinet.news.publish(
        Actor.of(world.admin), NewsItem(title="Z Bitrix24", external_id="b24:1")
    )
    staff = _headers(cabinet, world.admin)
    put = web.put(f"/api/v1/news/{item.id}", json={"title": "Zmiana"}, headers=staff)
    assert put.status_code == 409

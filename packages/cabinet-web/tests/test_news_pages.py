"""/news: everybody reads, staff publish, edit and delete; items from Bitrix24 are edited there."""

from __future__ import annotations

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, NewsItem
from starlette.testclient import TestClient
from web_support import CSRF, World, login


def csrf(web: TestClient, path: str) -> str:
    match = CSRF.search(web.get(path).text)
    assert match
    return match.group(1)


def test_staff_publish_edit_and_delete_clients_read(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.manager.email)
    token = csrf(web, "/news")
    blank = web.post("/news", data={"title": " ", "body": "kept", "csrf_token": token})
    assert blank.status_code == 422 and "kept" in blank.text
    published = web.post(
        "/news",
        data={"title": "Termin JPK", "body": "Do 25.", "important": "true", "csrf_token": token},
    )
    assert published.url.path == "/news" and "Termin JPK" in published.text
    (item,) = cabinet.news.list(Actor.system()).items
    assert item.important
    edit = f"/news/{item.id}/edit"
    assert "Termin JPK" in web.get(edit).text
    saved = web.post(edit, data={"title": "Termin JPK_V7M", "body": "Do 25.", "csrf_token": token})
    assert saved.url.path == "/news"
    assert cabinet.news.get(Actor.system(), item.id or 0).title == "Termin JPK_V7M"
    web.post("/logout", data={"csrf_token": token})

    login(web, world.client_user.email)
    page = web.get("/news")
    assert "Termin JPK_V7M" in page.text and 'action="/news"' not in page.text
    client_token = csrf(web, "/news")
    assert web.post("/news", data={"title": "x", "csrf_token": client_token}).status_code == 403
    assert web.get(edit).status_code == 403
    deleted = web.post(f"/news/{item.id}/delete", data={"csrf_token": client_token})
    assert deleted.status_code == 403
    web.post("/logout", data={"csrf_token": client_token})

    login(web, world.admin.email)
    web.post(f"/news/{item.id}/delete", data={"csrf_token": csrf(web, "/news")})
    assert cabinet.news.list(Actor.system()).total == 0
    assert web.get(edit).status_code == 404


def test_items_from_bitrix24_are_not_edited_here(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    item, _ = cabinet.news.upsert_external(
        Actor.system(), NewsItem(title="Z Bitrix24", body="treść", external_id="b24:post:201")
    )
    login(web, world.admin.email)
    listing = web.get("/news").text
    assert "from Bitrix24" in listing or "z Bitrix24" in listing
    assert f'href="/news/{item.id}/edit"' not in listing
    refused = web.post(
        f"/news/{item.id}/edit",
        data={"title": "Zmienione", "csrf_token": csrf(web, "/news")},
    )
    assert refused.status_code == 409
    assert cabinet.news.get(Actor.system(), item.id or 0).title == "Z Bitrix24"

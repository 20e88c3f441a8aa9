"""/chat and /api/v1/chat: a client talks to its manager, staff pick the client, forms keep
their values on errors, nobody reads another client's conversation."""

from __future__ import annotations

from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from web_support import CSRF, World, login


def csrf(web: TestClient, path: str) -> str:
    match = CSRF.search(web.get(path).text)
    assert match
    return match.group(1)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def test_client_writes_and_manager_answers_newest_at_the_bottom(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    login(web, world.client_user.email)
    home = web.get("/chat", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == f"/chat/{world.client.id}"
    page = f"/chat/{world.client.id}"
    assert 'href="/chat"' in web.get(page).text  # the menu link
    sent = web.post(page, data={"body": "Czy faktura doszła?", "csrf_token": csrf(web, page)})
    assert sent.status_code == 200 and sent.url.path == page
    web.post("/logout", data={"csrf_token": csrf(web, page)})

    login(web, world.manager.email)
    picker = web.get("/chat")
    assert f'href="/chat/{world.client.id}"' in picker.text
    assert "Beta s.c." not in picker.text  # not the manager's client
    web.post(page, data={"body": "Tak, <b>doszła</b>.", "csrf_token": csrf(web, page)})
    text = web.get(page).text
    assert text.index("Czy faktura doszła?") < text.index("Tak, &lt;b&gt;doszła&lt;/b&gt;.")
    assert "Jan" in text  # the client's user by name
    assert 'src="/static/chat.js"' in text
    assert web.get("/static/chat.js").status_code == 200
    assert web.get("/static/chat.css").status_code == 200


def test_a_blank_or_too_long_message_is_a_field_error_and_nothing_is_saved(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    page = f"/chat/{world.client.id}"
    token = csrf(client_web, page)
    blank = client_web.post(page, data={"body": "   ", "csrf_token": token})
    assert blank.status_code == 422 and 'id="body-error"' in blank.text
    long = client_web.post(page, data={"body": "x" * 5001, "csrf_token": token})
    assert long.status_code == 422 and "x" * 5001 in long.text  # the text is kept
    assert cabinet.chat.list(Actor.system(), world.client.id or 0) == []


def test_another_clients_conversation_is_not_found(client_web: TestClient, world: World) -> None:
    assert client_web.get(f"/chat/{world.other_client.id}").status_code == 404
    assert client_web.get("/chat/not-a-number").status_code == 404
    token = csrf(client_web, f"/chat/{world.client.id}")
    posted = client_web.post(
        f"/chat/{world.other_client.id}", data={"body": "hej", "csrf_token": token}
    )
    assert posted.status_code == 404


def test_api_lists_posts_and_polls(cabinet: Cabinet, web: TestClient, world: World) -> None:
    client_headers = bearer(cabinet, world.client_user)
    first = web.post("/api/v1/chat", json={"body": "Pytanie"}, headers=client_headers)
    assert first.status_code == 201, first.text
    assert first.json()["client_id"] == world.client.id
    manager_headers = bearer(cabinet, world.manager)
    answer = web.post(
        "/api/v1/chat",
        json={"client_id": world.client.id, "body": "Odpowiedź"},
        headers=manager_headers,
    )
    assert answer.status_code == 201
    listed = web.get("/api/v1/chat", headers=client_headers).json()
    assert [m["body"] for m in listed] == ["Pytanie", "Odpowiedź"]
    newer = web.get(f"/api/v1/chat?after_id={first.json()['id']}", headers=client_headers).json()
    assert [m["body"] for m in newer] == ["Odpowiedź"]


def test_api_errors_are_problems_with_field_errors(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    client_headers = bearer(cabinet, world.client_user)
    blank = web.post("/api/v1/chat", json={"body": " "}, headers=client_headers)
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "body"
    wrong = web.post("/api/v1/chat", json={"body": 5}, headers=client_headers)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body"
    extra = web.post("/api/v1/chat", json={"body": "x", "to": 1}, headers=client_headers)
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "to"
    other = web.get(f"/api/v1/chat?client_id={world.other_client.id}", headers=client_headers)
    assert other.status_code == 404
    staff = bearer(cabinet, world.manager)
    missing = web.get("/api/v1/chat", headers=staff)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "client_id"
    assert cabinet.chat.list(Actor.system(), world.client.id or 0) == []

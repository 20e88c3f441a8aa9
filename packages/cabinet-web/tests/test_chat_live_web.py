"""The live chat on the web: the Server-Sent Event streams read as a browser reads them (a
message posted meanwhile arrives; a reconnect with Last-Event-ID resumes after it), the paged
history, read markers, unread counts and the inbox in the JSON API with RFC 9457 problems,
and the pages (inbox, older pages, the manager by name)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, ChatMessage
from starlette.testclient import TestClient
from web_support import CSRF, World, login


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    """On SQLite (in-process broadcast) and on PostgreSQL (LISTEN/NOTIFY under the streams)."""
    return database_urls


def csrf(web: TestClient, path: str) -> str:
    match = CSRF.search(web.get(path).text)
    assert match
    return match.group(1)


def bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def _seed(cabinet: Cabinet, client_id: int, author_id: int | None, count: int) -> list[int]:
    with cabinet.store.transaction() as tx:
        return [
            tx.add_chat_message(
                ChatMessage(client_id=client_id, author_id=author_id, body=f"m{n}")
            ).id
            or 0
            for n in range(count)
        ]


def _parse(block: str) -> dict[str, Any] | None:
    fields: dict[str, str] = {}
    for line in block.split("\n"):
        if line.startswith(":") or ": " not in line:
            continue
        key, value = line.split(": ", 1)
        fields[key] = value
    if "event" not in fields:
        return None
    return {"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])}


async def _read_stream(
    app: Any,
    url: str,
    headers: dict[str, str],
    *,
    want: int,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    """Open ``url`` as an ASGI request and read ``want`` events (running ``meanwhile`` once
    the stream has started), then hang up as a browser would."""
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(key.lower().encode(), value.encode()) for key, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    hung_up = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await outgoing.put(message)

    task = asyncio.create_task(app(scope, receive, send))
    start = await asyncio.wait_for(outgoing.get(), 10)
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    events: list[dict[str, Any]] = []
    buffer = ""
    started = False
    try:
        while start["status"] == 200 and len(events) < want:
            message = await asyncio.wait_for(outgoing.get(), 10)
            buffer += message.get("body", b"").decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                if block.startswith("retry:") and not started:
                    started = True
                    if meanwhile is not None:
                        await meanwhile()
                event = _parse(block)
                if event is not None:
                    events.append(event)
    finally:
        hung_up.set()
        await asyncio.wait_for(task, 10)
    return start["status"], response_headers, events


def test_the_conversation_stream_sends_the_backlog_then_new_messages_at_once(
    cabinet: Cabinet, app: Any, web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    earlier = _seed(cabinet, client_id, world.manager.id, 2)
    headers = {**bearer(cabinet, world.client_user), "accept": "text/event-stream"}

    async def post() -> None:
        await asyncio.to_thread(
            cabinet.chat.post, Actor.of(world.manager), client_id=client_id, body="Na żywo"
        )

    status, response_headers, events = asyncio.run(
        _read_stream(
            app,
            f"/api/v1/chat/{client_id}/events?after={earlier[0]}",
            headers,
            want=2,
            meanwhile=post,
        )
    )
    assert status == 200
    assert response_headers["content-type"].startswith("text/event-stream")
    assert [e["event"] for e in events] == ["message", "message"]
    assert events[0]["id"] == str(earlier[1]) and events[0]["data"]["body"] == "m1"
    live = events[1]["data"]
    assert live["body"] == "Na żywo" and live["author"] == "Marek" and live["mine"] is False
    assert int(events[1]["id"]) == live["id"]
    # The API stream marks nothing read.
    assert cabinet.chat.unread(Actor.of(world.client_user)) == {client_id: 3}

    # A reconnect resumes after the last event it had (Last-Event-ID wins over ?after=).
    later = _seed(cabinet, client_id, world.manager.id, 1)
    _, _, resumed = asyncio.run(
        _read_stream(
            app,
            f"/api/v1/chat/{client_id}/events?after=0",
            {**headers, "last-event-id": events[1]["id"]},
            want=1,
        )
    )
    assert [int(e["id"]) for e in resumed] == later


def test_the_page_stream_counts_what_it_sent_as_read(
    cabinet: Cabinet, app: Any, client_web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    cookie = "; ".join(f"{k}={v}" for k, v in client_web.cookies.items())
    first = cabinet.chat.post(Actor.of(world.manager), client_id=client_id, body="Dzień dobry")
    assert cabinet.chat.unread(Actor.of(world.client_user)) == {client_id: 1}
    status, _, events = asyncio.run(
        _read_stream(app, f"/chat/{client_id}/events?after=0", {"cookie": cookie}, want=1)
    )
    assert status == 200 and events[0]["data"]["id"] == first.id
    assert cabinet.chat.unread(Actor.of(world.client_user)) == {}


def test_another_clients_stream_is_not_found_before_any_byte(
    cabinet: Cabinet, app: Any, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.client_user)
    status, response_headers, events = asyncio.run(
        _read_stream(app, f"/api/v1/chat/{world.other_client.id}/events", headers, want=1)
    )
    assert status == 404 and events == []
    assert response_headers["content-type"].startswith("application/problem+json")


def test_the_inbox_stream_sends_the_changed_line_of_the_readers_clients_only(
    cabinet: Cabinet, app: Any, web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0

    async def post_both() -> None:
        # Another manager's client first: the manager's inbox must not hear of it.
        await asyncio.to_thread(
            cabinet.chat.post,
            Actor.of(world.other_user),
            client_id=world.other_client.id or 0,
            body="Nie do ciebie",
        )
        await asyncio.to_thread(
            cabinet.chat.post, Actor.of(world.client_user), client_id=client_id, body="Pytanie"
        )

    status, _, events = asyncio.run(
        _read_stream(
            app, "/api/v1/chat/events", bearer(cabinet, world.manager), want=1, meanwhile=post_both
        )
    )
    assert status == 200
    assert events[0]["event"] == "conversation"
    line = events[0]["data"]
    assert (line["client_id"], line["unread"]) == (client_id, 1)
    assert line["last_message"]["body"] == "Pytanie" and line["last_message"]["author"] == "Jan"


def test_api_pages_history_marks_read_and_counts_unread(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    ids = _seed(cabinet, client_id, world.manager.id, 45)
    headers = bearer(cabinet, world.client_user)
    newest = web.get(f"/api/v1/chat/{client_id}/messages", headers=headers).json()
    assert [m["id"] for m in newest["messages"]] == ids[15:]
    assert newest["has_more"] is True
    assert newest["manager_name"] == "Marek"
    assert newest["authors"][str(world.manager.id)] == "Marek"
    older = web.get(
        f"/api/v1/chat/{client_id}/messages?before={ids[15]}&limit=10", headers=headers
    ).json()
    assert [m["id"] for m in older["messages"]] == ids[5:15] and older["has_more"] is True

    unread = web.get("/api/v1/chat/unread", headers=headers).json()
    assert unread == {"total": 45, "conversations": {str(client_id): 45}}
    read = web.post(f"/api/v1/chat/{client_id}/read", json={"up_to": ids[39]}, headers=headers)
    assert read.status_code == 200 and read.json() == {"last_read_id": ids[39]}
    assert web.get("/api/v1/chat/unread", headers=headers).json()["total"] == 5
    assert web.post(f"/api/v1/chat/{client_id}/read", headers=headers).json() == {
        "last_read_id": ids[-1]
    }

    posted = web.post(
        f"/api/v1/chat/{client_id}/messages", json={"body": "Dziękuję"}, headers=headers
    )
    assert posted.status_code == 201 and posted.json()["author_id"] == world.client_user.id
    inbox = web.get("/api/v1/chat/conversations", headers=bearer(cabinet, world.manager)).json()
    assert [(row["client_id"], row["unread"]) for row in inbox] == [(client_id, 1)]
    assert inbox[0]["last_message"]["body"] == "Dziękuję"


def test_api_problems_for_bad_paging_foreign_conversations_and_bad_bodies(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    headers = bearer(cabinet, world.client_user)
    client_id = world.client.id or 0
    for query in ("limit=0", "limit=101", "before=0", "limit=abc"):
        response = web.get(f"/api/v1/chat/{client_id}/messages?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] in {"limit", "before"}
    foreign = world.other_client.id
    for method, path in (
        ("GET", f"/api/v1/chat/{foreign}/messages"),
        ("POST", f"/api/v1/chat/{foreign}/read"),
    ):
        response = web.request(method, path, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    refused = web.post(f"/api/v1/chat/{foreign}/messages", json={"body": "hej"}, headers=headers)
    assert refused.status_code == 404
    blank = web.post(f"/api/v1/chat/{client_id}/messages", json={"body": " "}, headers=headers)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "body"
    extra = web.post(
        f"/api/v1/chat/{client_id}/messages", json={"body": "x", "to": 1}, headers=headers
    )
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "to"
    bad_marker = web.post(f"/api/v1/chat/{client_id}/read", json={"up_to": "x"}, headers=headers)
    assert bad_marker.status_code == 422
    assert web.get(f"/api/v1/chat/{client_id}/messages").status_code == 401


def test_the_inbox_page_lists_conversations_newest_first_with_unread_badges(
    cabinet: Cabinet, web: TestClient, world: World
) -> None:
    cabinet.chat.post(Actor.of(world.other_user), client_id=world.other_client.id or 0, body="B")
    cabinet.chat.post(Actor.of(world.client_user), client_id=world.client.id or 0, body="A?")
    login(web, world.admin.email)
    page = web.get("/chat").text
    assert 'id="chat-inbox"' in page
    assert page.index("Alfa sp. z o.o.") < page.index("Beta s.c.")
    assert page.count('class="badge"') == 2


def test_the_conversation_page_pages_older_messages_and_names_the_manager(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    ids = _seed(cabinet, client_id, world.manager.id, 35)
    page = client_web.get(f"/chat/{client_id}").text
    assert ">m34</p>" in page and ">m4</p>" not in page
    assert f'data-before="{ids[5]}"' in page
    assert "Marek" in page  # the manager by name, on the client's side
    older = client_web.get(f"/chat/{client_id}?before={ids[5]}").text
    assert ">m4</p>" in older and ">m5</p>" not in older
    assert 'data-live="no"' in older
    # Opening the newest page read it.
    assert cabinet.chat.unread(Actor.of(world.client_user)) == {}
    token = csrf(client_web, f"/chat/{client_id}")
    sent = client_web.post(
        f"/api/v1/chat/{client_id}/messages",
        json={"body": "Przez stronę"},
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_file_is_sent_with_a_message_and_opened_only_by_its_conversation(
    cabinet: Cabinet, client_web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    page = f"/chat/{client_id}"
    sent = client_web.post(
        page,
        data={"body": "Skan faktury", "csrf_token": csrf(client_web, page)},
        files={"file": ("skan.png", PNG, "image/png")},
    )
    assert sent.status_code == 200 and sent.url.path == page
    message = cabinet.chat.history(Actor.of(world.client_user), client_id).messages[-1]
    (attachment,) = message.attachments
    assert f'href="/chat/files/{attachment.id}"' in sent.text and "skan.png" in sent.text
    opened = client_web.get(f"/chat/files/{attachment.id}")
    assert opened.status_code == 200 and opened.content == PNG
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["x-content-type-options"] == "nosniff"

    wrong = client_web.post(
        page,
        data={"body": "", "csrf_token": csrf(client_web, page)},
        files={"file": ("virus.png", b"MZ\x90\x00", "image/png")},
    )
    assert wrong.status_code == 422 and 'id="file-error"' in wrong.text

    other = bearer(cabinet, world.other_user)
    denied = client_web.get(f"/api/v1/chat/attachments/{attachment.id}", headers=other)
    assert denied.status_code == 404
    assert denied.headers["content-type"].startswith("application/problem+json")
    mine = client_web.get(
        f"/api/v1/chat/attachments/{attachment.id}", headers=bearer(cabinet, world.manager)
    )
    assert mine.status_code == 200 and mine.content == PNG


def test_the_api_takes_a_file_as_multipart_and_refuses_a_large_one_before_reading_it(
    cabinet: Cabinet, app: Any, web: TestClient, world: World
) -> None:
    client_id = world.client.id or 0
    headers = bearer(cabinet, world.client_user)
    posted = web.post(
        f"/api/v1/chat/{client_id}/messages",
        data={"body": "Umowa"},
        files={"file": ("umowa.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=headers,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["attachments"][0]["content_type"] == "application/pdf"
    bad = web.post(
        f"/api/v1/chat/{client_id}/messages",
        files={"file": ("a.pdf", b"not a pdf", "application/pdf")},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file"

    declared = cabinet.settings.attachment_max_bytes * 2

    async def huge_upload() -> tuple[int, bytes]:
        read: list[bool] = []

        async def receive() -> dict[str, Any]:
            read.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/api/v1/chat/{client_id}/messages",
            "raw_path": f"/api/v1/chat/{client_id}/messages".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"authorization", headers["Authorization"].encode()),
                (b"content-type", b"multipart/form-data; boundary=x"),
                (b"content-length", str(declared).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        assert read == []  # refused on the declared length alone
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = asyncio.run(huge_upload())
    assert status == 413
    assert json.loads(body)["status"] == 413

"""Server-Sent Events for the live chat: one stream per conversation, one for a staff inbox.

A stream subscribes to the cabinet's broadcast seam first, then reads through the chat
service what the reader has not seen yet, and after that waits for the next event (a poke that
something changed, from this process or, on PostgreSQL, from any other). Each message goes out
with its id as the SSE ``id``, so a browser that reconnects sends ``Last-Event-ID`` and the
stream resumes after the last message it had. A comment line every :data:`HEARTBEAT` seconds
keeps proxies from closing an idle stream and notices a browser that went away.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from cabinet_core.entities import Actor, ChatConversation, ChatMessage
from cabinet_core.errors import CabinetError
from cabinet_core.services.chat import INBOX_CHANNEL, conversation_channel
from starlette.requests import Request
from starlette.responses import StreamingResponse

from cabinet_web.kit import actor_of, cabinet_of, run

__all__ = [
    "HEARTBEAT",
    "conversation_json",
    "message_json",
    "resume_after",
    "sse",
    "stream_conversation",
    "stream_inbox",
]

#: Seconds between keep-alive comments on an idle stream.
HEARTBEAT = 15.0
#: How long a browser waits before reconnecting a dropped stream (milliseconds).
RETRY_MS = 2000
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: Any, *, event_id: int | None = None) -> str:
    """One Server-Sent Event (JSON data on one line)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def message_json(
    message: ChatMessage, *, me: int | None, authors: dict[int, str], firm: str, you: str
) -> dict[str, Any]:
    """A message as a page shows it: with its author's label from the reader's side."""
    mine = message.author_id is not None and message.author_id == me
    if mine:
        author = you
    elif message.author_id is not None and message.author_id in authors:
        author = authors[message.author_id]
    else:
        author = firm
    return {
        "id": message.id,
        "client_id": message.client_id,
        "author_id": message.author_id,
        "author": author,
        "mine": mine,
        "body": message.body,
        "created_at": message.created_at.isoformat() if message.created_at else None,
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "url": f"/chat/files/{a.id}",
            }
            for a in message.attachments
        ],
    }


def conversation_json(row: ChatConversation, *, label: Callable[[ChatMessage], str]) -> Any:
    """An inbox line as a page shows it."""
    last = row.last_message
    return {
        "client_id": row.client_id,
        "client_name": row.client_name,
        "unread": row.unread,
        "last_message": None
        if last is None
        else {
            "id": last.id,
            "author": label(last),
            "body": last.body,
            "created_at": last.created_at.isoformat() if last.created_at else None,
        },
    }


def resume_after(request: Request) -> int | None:
    """Where a stream starts: after ``Last-Event-ID`` (a reconnect), else after the query's
    ``after``; ``None`` when neither is a message id (then only new messages are sent)."""
    for value in (request.headers.get("last-event-id"), request.query_params.get("after")):
        if value is not None and value.strip().isdigit() and len(value.strip()) <= 18:
            return int(value.strip())
    return None


def _stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)


async def stream_conversation(
    request: Request, client_id: int, *, mark_read: bool
) -> StreamingResponse:
    """The live stream of one conversation; ``mark_read``: messages sent count as read (the
    conversation page is open). Access is checked before the stream starts (404 otherwise)."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    # The access check, the names and where to start, before any byte is sent.
    first = await run(cabinet.chat.history, actor, client_id, limit=1)
    after = resume_after(request)
    if after is None:
        after = (first.messages[-1].id or 0) if first.messages else 0
    gettext = request.state.gettext
    firm, you = cabinet.settings.branding.firm_name, gettext("You")

    async def events() -> AsyncIterator[str]:
        last = after
        authors = dict(first.authors)
        with cabinet.broadcast.subscribe(conversation_channel(client_id)) as subscription:
            # Listening before the backlog is read: a message posted in between is not lost.
            # A database that does not answer must not hold the page: the backlog still shows.
            with contextlib.suppress(TimeoutError):
                await cabinet.broadcast.ready()
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                try:
                    new = await run(cabinet.chat.list, actor, client_id, after_id=last)
                    if any(m.author_id is not None and m.author_id not in authors for m in new):
                        page = await run(cabinet.chat.history, actor, client_id, limit=1)
                        authors = dict(page.authors)
                    if new and mark_read:
                        await run(cabinet.chat.mark_read, actor, client_id, up_to=new[-1].id)
                except CabinetError:
                    return  # access lost (the client moved to another manager): end quietly
                for message in new:
                    data = message_json(
                        message, me=actor.user_id, authors=authors, firm=firm, you=you
                    )
                    yield sse("message", data, event_id=message.id)
                    last = message.id or last
                if await subscription.get(HEARTBEAT) is None:
                    yield ": keep-alive\n\n"

    return _stream(events())


async def stream_inbox(request: Request) -> StreamingResponse:
    """The live stream of the reader's inbox: each new message sends its conversation's line
    (only conversations the reader may see)."""
    cabinet = cabinet_of(request)
    actor: Actor = actor_of(request)
    gettext = request.state.gettext
    firm, you = cabinet.settings.branding.firm_name, gettext("You")

    async def events() -> AsyncIterator[str]:
        with cabinet.broadcast.subscribe(INBOX_CHANNEL) as subscription:
            with contextlib.suppress(TimeoutError):
                await cabinet.broadcast.ready()
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                event = await subscription.get(HEARTBEAT)
                if event is None:
                    yield ": keep-alive\n\n"
                    continue
                client_id = event.get("client_id")
                if not isinstance(client_id, int):
                    continue
                try:
                    row = await run(cabinet.chat.conversation, actor, client_id)
                    authors = (await run(cabinet.chat.history, actor, client_id, limit=1)).authors
                except CabinetError:
                    continue  # another manager's client: not this inbox's business

                def label(message: ChatMessage, authors: dict[int, str] = authors) -> str:
                    return str(
                        message_json(
                            message, me=actor.user_id, authors=authors, firm=firm, you=you
                        )["author"]
                    )

                yield sse("conversation", conversation_json(row, label=label))

    return _stream(events())

"""``/api/v1/chat``: a client's conversation with its manager. A client's user reads and writes
its own; staff name the client (``client_id``, in the path for the per-conversation calls).

``/chat/{client_id}/messages`` pages the history (``before=<id>&limit=``), ``/read`` moves the
caller's read marker, ``/chat/conversations`` is the inbox with unread counts, and
``/chat/{client_id}/events`` and ``/chat/events`` are the live Server-Sent Event streams
(resumed with ``Last-Event-ID``). The older ``GET/POST /chat`` stay for existing callers."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import ChatConversation, ChatMessage, ChatPage
from cabinet_core.errors import N_, ValidationError
from cabinet_core.services.chat import HISTORY_PAGE
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import Param, actor, int_param, json_body, json_whole, text
from cabinet_web.api.v1 import _client_for, _id, _path_int, endpoint
from cabinet_web.chat_files import read_upload, serve, too_large
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import MAX_INT
from cabinet_web.live import stream_conversation, stream_inbox

CLIENT_PARAM = Param(
    name="client_id",
    where="query",
    schema={"type": "integer"},
    description="The client whose conversation it is (a client's user may leave it out)",
)
AFTER_PARAM = Param(
    name="after_id",
    where="query",
    schema={"type": "integer"},
    description="Only messages newer than this message id (polling)",
)
POST_SCHEMA = {
    "type": "object",
    "properties": {
        "client_id": {
            "type": ["integer", "null"],
            "description": "The client (a client's user may leave it out or send null)",
        },
        "body": text(max_length=5000, non_blank=True, description="The message text"),
    },
    "required": ["body"],
    "additionalProperties": False,
}


@endpoint(
    "/chat",
    "GET",
    "A client's conversation with its manager, oldest first",
    params=(CLIENT_PARAM, AFTER_PARAM),
    response=("list", ChatMessage),
)
async def list_chat(request: Request) -> Any:
    """The messages the user may read; ``after_id`` for only the new ones."""
    cabinet = cabinet_of(request)
    client_id = _client_for(request)
    after_id = int_param(request, "after_id")
    return await run(cabinet.chat.list, actor(request), client_id, after_id=after_id)


@endpoint(
    "/chat",
    "POST",
    "Write to a client's conversation",
    body=POST_SCHEMA,
    response=ChatMessage,
    status=201,
)
async def post_chat(request: Request) -> ChatMessage:
    """Post a message (the client's users to their manager; staff to the client)."""
    data = await json_body(request)
    return await _post(request, data, _client_for(request, data), {"client_id", "body"})


async def _post(
    request: Request, data: dict[str, Any], client_id: int, allowed: set[str]
) -> ChatMessage:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )
    body = data.get("body")
    # A JSON number with a fraction arrives as a str subclass (kept exact for Decimals).
    if type(body) is not str:
        raise ValidationError.single("body", "type", N_("This value has the wrong type or format."))
    message: ChatMessage = await run(
        cabinet_of(request).chat.post, actor(request), client_id=client_id, body=body
    )
    return message


CONVERSATION_ID = _id("client_id", "The client whose conversation it is")
BEFORE_PARAM = Param(
    name="before",
    where="query",
    schema={"type": "integer", "minimum": 1},
    description="Only messages older than this message id (the previous page)",
)
LIMIT_PARAM = Param(
    name="limit",
    where="query",
    schema={"type": "integer", "minimum": 1, "maximum": 100, "default": HISTORY_PAGE},
    description="How many messages (the newest of those asked for)",
)
AFTER_EVENT_PARAM = Param(
    name="after",
    where="query",
    schema={"type": "integer"},
    description="Start after this message id (the Last-Event-ID header wins on a reconnect); "
    "without either only new messages are sent",
)
MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {"body": text(max_length=5000, non_blank=True, description="The text")},
    "required": ["body"],
    "additionalProperties": False,
}
READ_SCHEMA = {
    "type": "object",
    "properties": {
        "up_to": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_INT,
            "description": "The newest message read (the newest of all when left out)",
        }
    },
    "additionalProperties": False,
}
READ_RESPONSE = {
    "type": "object",
    "properties": {"last_read_id": {"type": "integer"}},
    "required": ["last_read_id"],
}
UNREAD_RESPONSE = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "conversations": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Unread messages by client id (only conversations with any)",
        },
    },
    "required": ["total", "conversations"],
}
EVENT_STREAM = {
    "type": "string",
    "description": "text/event-stream: `message` events, each a message with its id as the "
    "event id",
}
INBOX_STREAM = {
    "type": "string",
    "description": "text/event-stream: a `conversation` event (an inbox line) per new message",
}


@endpoint(
    "/chat/{client_id}/messages",
    "GET",
    "A page of a conversation: the newest messages, or those before a message id",
    params=(CONVERSATION_ID, BEFORE_PARAM, LIMIT_PARAM),
    response=ChatPage,
)
async def chat_history(request: Request) -> ChatPage:
    """The newest ``limit`` messages older than ``before``, oldest first, with ``has_more``."""
    limit = int_param(request, "limit")
    page: ChatPage = await run(
        cabinet_of(request).chat.history,
        actor(request),
        _path_int(request, "client_id"),
        before=int_param(request, "before"),
        limit=HISTORY_PAGE if limit is None else limit,
    )
    return page


@endpoint(
    "/chat/{client_id}/messages",
    "POST",
    "Write to a conversation",
    params=(CONVERSATION_ID,),
    body=MESSAGE_SCHEMA,
    response=ChatMessage,
    status=201,
)
async def chat_post_message(request: Request) -> Response | ChatMessage:
    """Post a message (JSON, or multipart/form-data with ``body`` and a ``file``); every open
    stream of the conversation gets it at once."""
    client_id = _path_int(request, "client_id")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        data = await json_body(request)
        return await _post(request, data, client_id, {"body"})
    refused = too_large(request)
    if refused is not None:
        return refused
    body, filename, content = await read_upload(request)
    message: ChatMessage = await run(
        cabinet_of(request).chat.post,
        actor(request),
        client_id=client_id,
        body=body,
        filename=filename,
        data=content,
    )
    return message


@endpoint(
    "/chat/attachments/{att_id}",
    "GET",
    "A file sent with a chat message (its bytes)",
    params=(_id("att_id", "The attachment's id"),),
    response={"type": "string", "format": "binary"},
)
async def chat_attachment(request: Request) -> Response:
    """The file with the type recognised from its content (``?download=1`` to save it)."""
    found, data = await run(
        cabinet_of(request).chat.open_attachment, actor(request), _path_int(request, "att_id")
    )
    return serve(found, data, download=request.query_params.get("download") == "1")


@endpoint(
    "/chat/{client_id}/read",
    "POST",
    "Mark a conversation read (up to a message)",
    params=(CONVERSATION_ID,),
    body=READ_SCHEMA,
    body_required=False,
    response=READ_RESPONSE,
)
async def chat_mark_read(request: Request) -> dict[str, int]:
    """Move the caller's read marker forward (never back)."""
    data = await json_body(request) if await request.body() else {}
    unknown = sorted(set(data) - {"up_to"})
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )
    up_to = json_whole(data.get("up_to"))
    if up_to is not None and (not isinstance(up_to, int) or isinstance(up_to, bool)):
        raise ValidationError.single("up_to", "integer", N_("Enter a whole number."))
    marker: int = await run(
        cabinet_of(request).chat.mark_read,
        actor(request),
        _path_int(request, "client_id"),
        up_to=up_to,
    )
    return {"last_read_id": marker}


@endpoint(
    "/chat/conversations",
    "GET",
    "The inbox: every conversation the caller may see, newest first, with unread counts",
    response=("list", ChatConversation),
)
async def chat_conversations(request: Request) -> list[ChatConversation]:
    """Conversations with messages newest first, then the silent ones by client name."""
    rows: list[ChatConversation] = await run(cabinet_of(request).chat.inbox, actor(request))
    return rows


@endpoint("/chat/unread", "GET", "Unread messages per conversation", response=UNREAD_RESPONSE)
async def chat_unread(request: Request) -> dict[str, Any]:
    """How many messages the caller has not read, in all and per client id."""
    counts: dict[int, int] = await run(cabinet_of(request).chat.unread, actor(request))
    return {
        "total": sum(counts.values()),
        "conversations": {str(key): value for key, value in sorted(counts.items())},
    }


@endpoint(
    "/chat/{client_id}/events",
    "GET",
    "The conversation's live stream (Server-Sent Events)",
    params=(CONVERSATION_ID, AFTER_EVENT_PARAM),
    response=EVENT_STREAM,
)
async def chat_events(request: Request) -> Response:
    """New messages as they are posted in any web process; reading it marks nothing read."""
    return await stream_conversation(request, _path_int(request, "client_id"), mark_read=False)


@endpoint(
    "/chat/events",
    "GET",
    "The inbox's live stream (Server-Sent Events)",
    response=INBOX_STREAM,
)
async def chat_inbox_events(request: Request) -> Response:
    """A ``conversation`` event with the changed inbox line for each new message."""
    return await stream_inbox(request)

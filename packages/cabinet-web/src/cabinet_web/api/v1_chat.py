"""``/api/v1/chat``: a client's conversation with its manager. A client's user reads and writes
its own; staff name the client (``client_id``). The cabinet's chat page polls the same list
with ``after_id`` to show new messages without reloading."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import ChatMessage
from cabinet_core.errors import N_, ValidationError
from starlette.requests import Request

from cabinet_web.api._endpoint import Param, actor, int_param, json_body
from cabinet_web.api.v1 import _client_for, endpoint
from cabinet_web.kit import cabinet_of, run

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
            "type": "integer",
            "description": "The client (a client's user may leave it out)",
        },
        "body": {"type": "string", "maxLength": 5000, "description": "The message text"},
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
    cabinet = cabinet_of(request)
    data = await json_body(request)
    unknown = sorted(set(data) - {"client_id", "body"})
    if unknown:
        raise ValidationError.single(
            unknown[0], "unknown", N_("This field is not part of the request.")
        )
    body = data.get("body")
    if not isinstance(body, str):
        raise ValidationError.single("body", "type", N_("This value has the wrong type or format."))
    message: ChatMessage = await run(
        cabinet.chat.post, actor(request), client_id=_client_for(request, data), body=body
    )
    return message

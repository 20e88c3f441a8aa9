"""The live chat: ``/chat`` (a client's user goes to its conversation; staff get their inbox of
all their clients' conversations with unread counts, newest first) and ``/chat/{client_id}``
(the newest page of one conversation; ``?before=<id>`` shows an older page).

Both pages stay current through Server-Sent Events (``/chat/events`` and
``/chat/{client_id}/events``, see :mod:`cabinet_web.live`); a small script appends what
arrives and loads older pages in place. Without the script the pages work by reload.
"""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import ChatMessage, Role
from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.chat_files import read_upload, serve, too_large
from cabinet_web.limits import parse_id
from cabinet_web.live import message_json, stream_conversation, stream_inbox
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    page,
    read_form,
    redirect,
    render,
    run,
)


def author_label(
    message: ChatMessage, *, me: int | None, names: dict[int, str], firm: str, you: str
) -> str:
    """Who wrote ``message``, as the reader sees it."""
    return str(message_json(message, me=me, authors=names, firm=firm, you=you)["author"])


async def _conversation(
    request: Request, client_id: int, *, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    before_text = request.query_params.get("before", "").strip()
    before = parse_id(before_text) if before_text else None
    client = await run(cabinet.clients.get, actor, client_id)
    history = await run(cabinet.chat.history, actor, client_id, before=before)
    if before is None and history.messages:
        # The newest page is on screen: the reader has read it.
        await run(cabinet.chat.mark_read, actor, client_id, up_to=history.messages[-1].id)
    _ = request.state.gettext
    firm = cabinet.settings.branding.firm_name
    rows = [
        {
            "message": message,
            "author": author_label(
                message, me=actor.user_id, names=history.authors, firm=firm, you=_("You")
            ),
            "mine": message.author_id == actor.user_id,
        }
        for message in history.messages
    ]
    context: dict[str, Any] = {
        "client": client,
        "rows": rows,
        "history": history,
        "older": history.messages[0].id if history.has_more and history.messages else None,
        "paged": before is not None,
        "last_id": history.messages[-1].id if history.messages else 0,
        "values": values,
        "errors": errors,
        "is_staff": actor.role is not Role.CLIENT,
        "firm": firm,
    }
    return render(request, "chat.html", context, status_code=status)


@page()
async def chat_home(request: Request) -> Response:
    """A client's user goes to its conversation; staff get the inbox."""
    actor = actor_of(request)
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return redirect(f"/chat/{actor.client_id}")
    wanted = request.query_params.get("client_id", "").strip()
    if wanted.isdigit():
        return redirect(f"/chat/{int(wanted)}")
    cabinet = cabinet_of(request)
    inbox = await run(cabinet.chat.inbox, actor)
    return render(request, "chat_inbox.html", {"conversations": inbox})


@page()
async def inbox_events(request: Request) -> Response:
    """The inbox's live stream."""
    return await stream_inbox(request)


@page()
async def conversation(request: Request) -> Response:
    """One client's conversation and the form to write."""
    client_id = parse_id(request.path_params["client_id"])
    return await _conversation(request, client_id, values={}, errors={}, status=200)


@page()
async def conversation_events(request: Request) -> Response:
    """The conversation's live stream (what it sends counts as read: the page is open)."""
    client_id = parse_id(request.path_params["client_id"])
    return await stream_conversation(request, client_id, mark_read=True)


@page()
async def attachment(request: Request) -> Response:
    """A file sent in a conversation the reader may see (``?download=1`` to save it)."""
    found, data = await run(
        cabinet_of(request).chat.open_attachment,
        actor_of(request),
        parse_id(request.path_params["att_id"]),
    )
    return serve(found, data, download=request.query_params.get("download") == "1")


@page()
async def post_message(request: Request) -> Response:
    """Post the form's message; bad input shows the form again with the message at the field."""
    client_id = parse_id(request.path_params["client_id"])
    refused = too_large(request)
    if refused is not None:
        return refused
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body, filename, data = await read_upload(request)
    else:
        body, filename, data = (await read_form(request)).get("body", ""), "", None
    try:
        await run(
            cabinet_of(request).chat.post,
            actor_of(request),
            client_id=client_id,
            body=body,
            filename=filename,
            data=data,
        )
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        return await _conversation(
            request, client_id, values={"body": body}, errors=errors, status=422
        )
    return redirect(f"/chat/{client_id}#latest")


ROUTES = [
    Route("/chat", chat_home, methods=["GET"], name="chat"),
    Route("/chat/events", inbox_events, methods=["GET"], name="chat_inbox_events"),
    Route("/chat/{client_id}", conversation, methods=["GET"], name="chat_conversation"),
    Route(
        "/chat/{client_id}/events",
        conversation_events,
        methods=["GET"],
        name="chat_conversation_events",
    ),
    Route("/chat/{client_id}", post_message, methods=["POST"], name="chat_post"),
    Route("/chat/files/{att_id}", attachment, methods=["GET"], name="chat_attachment"),
]

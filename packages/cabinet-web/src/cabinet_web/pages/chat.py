"""The client's conversation with its manager: ``/chat`` (a client's user: its own; staff pick
the client) and ``/chat/{client_id}``. Newest at the bottom; a small script polls
``/api/v1/chat?after_id=`` to show new messages, and without it a reload does the same."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Actor, ChatMessage, Client, Role
from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
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


def _authors(request: Request, actor: Actor, client_id: int) -> dict[int, str]:
    """Names of the people the user may know by name: the client's users, and for staff every
    user they may see. Anyone else speaks for the firm."""
    cabinet = cabinet_of(request)
    names = {u.id: u.name or u.email for u in cabinet.users.list(actor, client_id=client_id)}
    if actor.role is not Role.CLIENT:
        names.update({u.id: u.name or u.email for u in cabinet.users.list(actor)})
    return {key: value for key, value in names.items() if key is not None}


def author_label(
    message: ChatMessage, *, me: int | None, names: dict[int, str], firm: str, you: str
) -> str:
    """Who wrote ``message``, as the reader sees it."""
    if message.author_id is not None and message.author_id == me:
        return you
    if message.author_id is not None and message.author_id in names:
        return names[message.author_id]
    return firm


async def _conversation(
    request: Request, client_id: int, *, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    client: Client = await run(cabinet.clients.get, actor, client_id)
    messages = await run(cabinet.chat.list, actor, client_id)
    names = await run(_authors, request, actor, client_id)
    _ = request.state.gettext
    firm = cabinet.settings.branding.firm_name
    rows = [
        {
            "message": message,
            "author": author_label(message, me=actor.user_id, names=names, firm=firm, you=_("You")),
            "mine": message.author_id == actor.user_id,
        }
        for message in messages
    ]
    context: dict[str, Any] = {
        "client": client,
        "rows": rows,
        "last_id": messages[-1].id if messages else 0,
        "names": names,
        "firm": firm,
        "values": values,
        "errors": errors,
        "is_staff": actor.role is not Role.CLIENT,
    }
    return render(request, "chat.html", context, status_code=status)


@page()
async def chat_home(request: Request) -> Response:
    """A client's user goes to its conversation; staff choose a client."""
    actor = actor_of(request)
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return redirect(f"/chat/{actor.client_id}")
    wanted = request.query_params.get("client_id", "").strip()
    if wanted.isdigit():
        return redirect(f"/chat/{int(wanted)}")
    clients = await run(cabinet_of(request).clients.list, actor)
    return render(request, "chat.html", {"clients": clients, "client": None})


@page()
async def conversation(request: Request) -> Response:
    """One client's conversation and the form to write."""
    client_id = parse_id(request.path_params["client_id"])
    return await _conversation(request, client_id, values={}, errors={}, status=200)


@page()
async def post_message(request: Request) -> Response:
    """Post the form's message; bad input shows the form again with the message at the field."""
    client_id = parse_id(request.path_params["client_id"])
    form = await read_form(request)
    body = form.get("body", "")
    try:
        await run(cabinet_of(request).chat.post, actor_of(request), client_id=client_id, body=body)
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        return await _conversation(
            request, client_id, values={"body": body}, errors=errors, status=422
        )
    return redirect(f"/chat/{client_id}#latest")


ROUTES = [
    Route("/chat", chat_home, methods=["GET"], name="chat"),
    Route("/chat/{client_id}", conversation, methods=["GET"], name="chat_conversation"),
    Route("/chat/{client_id}", post_message, methods=["POST"], name="chat_post"),
]

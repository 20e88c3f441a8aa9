"""The home page, different per role (``cabinet.dashboard.for_actor``): staff see their queue
(what waits for approval, returned documents, overdue receivables, KSeF, unread chat, failed
deliveries) with each count linking to its list, and their clients; a client sees its money
picture and what waits for it. News and the latest notifications follow."""

from __future__ import annotations

from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.dashboard import Attention
from cabinet_core.entities import Actor, Client, Role
from cabinet_core.errors import N_
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import actor_of, cabinet_of, page, pop_flashes, render, run

#: What each dashboard item says (``%(type)s`` is a document type's label, ``%(subscriber)s``
#: the delivery's recipient).
LABELS = {
    "review": N_("%(type)s awaiting approval"),
    "returned": N_("Returned documents"),
    "overdue_receivables": N_("Overdue receivables"),
    "overdue_payables": N_("Overdue payables"),
    "ksef_rejected": N_("Rejected by KSeF"),
    "ksef_waiting": N_("Waiting for KSeF"),
    "unread_chat": N_("Unread chat messages"),
    "failed_deliveries": N_("Failed deliveries: %(subscriber)s"),
    "unread_notifications": N_("Unread notifications"),
}


def attention_label(request: Request, item: Attention) -> str:
    """The item's text in the user's language."""
    cabinet = cabinet_of(request)
    language = request.state.language
    doc_type = cabinet.document_types.get(item.doc_type or "")
    type_label = doc_type.label.get(language, item.doc_type or "") if doc_type else ""
    subscriber = item.subscriber or ""
    if subscriber == "mail":
        subscriber = request.state.gettext("e-mail")
    template: str = request.state.gettext(LABELS.get(item.key, item.key))
    return template % {
        "type": type_label,
        "subscriber": subscriber,
    }


@page()
async def home(request: Request) -> Response:
    """The signed-in user's start page."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    board, news, notifications, client = await run(_home_parts, cabinet, actor)
    context: dict[str, object] = {
        "flashes": pop_flashes(request),
        "dashboard": board,
        "attention": [(item, attention_label(request, item)) for item in board.attention],
        "news": news,
        "notifications": notifications,
        "client": client,
    }
    return render(request, "home.html", context)


def _home_parts(cabinet: Cabinet, actor: Actor) -> tuple[Any, Any, Any, Client | None]:
    # One trip to a worker thread for the whole page: under load each trip cost more than
    # the small read it carried (docs/performance.md, "Load").
    board = cabinet.dashboard.for_actor(actor)
    news = cabinet.news.list(actor, limit=5).items
    notifications = cabinet.notifications.list(actor)[:10]
    client = None
    if actor.role is Role.CLIENT:
        assert actor.client_id is not None
        client = cabinet.clients.get(actor, actor.client_id)
    return board, news, notifications, client


ROUTES = [Route("/", home, methods=["GET"], name="home")]

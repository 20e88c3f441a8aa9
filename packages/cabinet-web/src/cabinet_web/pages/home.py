"""The home page, different per role: a client sees news, notifications and quick links; staff
see the clients they look after."""

from __future__ import annotations

from cabinet_core.entities import Role
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import actor_of, cabinet_of, page, pop_flashes, render, run


@page()
async def home(request: Request) -> Response:
    """The signed-in user's start page."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    context: dict[str, object] = {"flashes": pop_flashes(request)}
    context["news"] = (await run(cabinet.news.list, actor, limit=5)).items
    context["notifications"] = (await run(cabinet.notifications.list, actor))[:10]
    if actor.role is Role.CLIENT:
        assert actor.client_id is not None
        context["client"] = await run(cabinet.clients.get, actor, actor.client_id)
        context["clients"] = []
    else:
        context["client"] = None
        context["clients"] = await run(cabinet.clients.list, actor)
    return render(request, "home.html", context)


ROUTES = [Route("/", home, methods=["GET"], name="home")]

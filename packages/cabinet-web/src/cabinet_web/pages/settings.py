"""``GET /settings``: the administrators' index of settings pages, which plugins add through
the ``settings_pages`` hook (the Bitrix24 connection is one)."""

from __future__ import annotations

from collections.abc import Mapping

from cabinet_core.entities import Role
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.kit import page, render


def settings_pages(request: Request) -> list[Mapping[str, str]]:
    """Every plugin's settings page for the signed-in administrator, sorted by label."""
    pm = request.app.state.cabinet.pm
    found: list[Mapping[str, str]] = []
    for pages in pm.hook.settings_pages(actor=request.state.user, request=request):
        found.extend(pages or ())
    return sorted(found, key=lambda entry: str(entry.get("label", "")).casefold())


@page(roles=[Role.ADMIN])
async def settings_index(request: Request) -> Response:
    """The list of settings pages (empty with a note when no plugin adds one)."""
    return render(request, "settings.html", {"pages": settings_pages(request)})


ROUTES = [Route("/settings", settings_index, methods=["GET"], name="settings")]

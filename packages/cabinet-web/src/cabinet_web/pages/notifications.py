"""``/notifications``: the signed-in user's notifications (what the bell counts), newest first,
with "mark read" on each and "mark all read"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)

#: How many notifications the page shows (the newest).
PAGE_SIZE = 100


@page()
async def notifications_page(request: Request) -> Response:
    """The user's notifications; ``?unread=1`` only the unread ones."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    unread_only = request.query_params.get("unread") == "1"
    items = await run(cabinet.notifications.list, actor, unread_only=unread_only, limit=PAGE_SIZE)
    context = {"items": items, "unread_only": unread_only, "flashes": pop_flashes(request)}
    return render(request, "notifications.html", context)


@page()
async def mark_read(request: Request) -> Response:
    """Mark one notification read, then follow its link when asked (``open=1``)."""
    notification_id = parse_id(request.path_params["notification_id"])
    form = await read_form(request)
    cabinet = cabinet_of(request)
    await run(cabinet.notifications.mark_read, actor_of(request), notification_id)
    link = form.get("next", "")
    # Only the cabinet's own paths: a notification's link is always one.
    if link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect("/notifications")


@page()
async def mark_all_read(request: Request) -> Response:
    """Mark every unread notification read."""
    await read_form(request)
    count = await run(cabinet_of(request).notifications.mark_all_read, actor_of(request))
    flash(
        request,
        request.state.translations.ngettext(
            "%(num)d notification marked read.", "%(num)d notifications marked read.", count
        )
        % {"num": count},
    )
    return redirect("/notifications")


ROUTES = [
    Route("/notifications", notifications_page, methods=["GET"], name="notifications"),
    Route(
        "/notifications/{notification_id}/read",
        mark_read,
        methods=["POST"],
        name="notification_read",
    ),
    Route("/notifications/read-all", mark_all_read, methods=["POST"], name="notifications_read"),
]

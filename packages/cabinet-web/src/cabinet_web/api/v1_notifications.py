"""``/api/v1/notifications`` and ``/api/v1/dashboard``: the signed-in user's notifications (list,
unread count, mark read, mark all read) and its home page's counts. Thin adapters over
``cabinet.notifications`` and ``cabinet.dashboard``."""

from __future__ import annotations

from typing import Any

from cabinet_core.dashboard import Dashboard
from cabinet_core.entities import Notification
from cabinet_core.errors import N_, ValidationError
from cabinet_core.notification_kinds import EMAIL_KINDS
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import Param, actor, int_param, json_body, limit_param, page_limit
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run

UNREAD_PARAM = Param(
    name="unread",
    where="query",
    schema={"type": "integer", "enum": [0, 1]},
    description="1: only the unread ones",
)
LIMIT_PARAM = limit_param(description="At most this many, newest first (default 50)")
COUNT_SCHEMA = {
    "type": "object",
    "properties": {"unread": {"type": "integer", "description": "Unread notifications"}},
    "required": ["unread"],
}
PREFERENCES_SCHEMA = {
    "type": "object",
    "description": "Notification kind → whether it is e-mailed too",
    "properties": {kind: {"type": "boolean"} for kind in EMAIL_KINDS},
    "additionalProperties": False,
}
MARKED_SCHEMA = {
    "type": "object",
    "properties": {"marked": {"type": "integer", "description": "How many were marked read"}},
    "required": ["marked"],
}


@endpoint(
    "/notifications",
    "GET",
    "The signed-in user's notifications, newest first",
    params=(UNREAD_PARAM, LIMIT_PARAM),
    response=("list", Notification),
)
async def list_notifications(request: Request) -> Any:
    """``unread=1`` for only the unread ones."""
    unread = int_param(request, "unread")
    if unread not in (None, 0, 1):
        raise ValidationError.single("unread", "choice", N_("Choose a value from the list."))
    unread_only = unread == 1
    limit = page_limit(request)
    return await run(
        cabinet_of(request).notifications.list, actor(request), unread_only=unread_only, limit=limit
    )


@endpoint(
    "/notifications/unread-count",
    "GET",
    "How many of the user's notifications are unread (the bell's number)",
    response=COUNT_SCHEMA,
)
async def unread_count(request: Request) -> Any:
    """``{"unread": n}``."""
    count = await run(cabinet_of(request).notifications.unread_count, actor(request))
    return {"unread": count}


@endpoint(
    "/notifications/{notification_id:int}/read",
    "POST",
    "Mark one of the user's notifications read",
    params=(_id("notification_id", "The notification's id"),),
    response={},
    status=204,
)
async def mark_read(request: Request) -> Response:
    """Another user's notification is 404."""
    notification_id = _path_int(request, "notification_id")
    await run(cabinet_of(request).notifications.mark_read, actor(request), notification_id)
    return Response(status_code=204)


@endpoint(
    "/notifications/read-all",
    "POST",
    "Mark all of the user's notifications read",
    response=MARKED_SCHEMA,
)
async def mark_all_read(request: Request) -> Any:
    """``{"marked": n}``: how many were unread."""
    marked = await run(cabinet_of(request).notifications.mark_all_read, actor(request))
    return {"marked": marked}


@endpoint(
    "/dashboard",
    "GET",
    "The user's dashboard: what needs attention (each count with its list's link) and, for a "
    "client, its money picture in PLN",
    response=Dashboard,
)
async def dashboard(request: Request) -> Dashboard:
    """Staff: the queue across their clients; a client's user: its money and what waits."""
    board: Dashboard = await run(cabinet_of(request).dashboard.for_actor, actor(request))
    return board


@endpoint(
    "/notifications/preferences",
    "GET",
    "Which notifications the user also gets by e-mail",
    response=PREFERENCES_SCHEMA,
)
async def email_preferences(request: Request) -> Any:
    """Every kind with ``true`` (e-mailed, the default) or ``false``."""
    return await run(cabinet_of(request).notifications.email_preferences, actor(request))


@endpoint(
    "/notifications/preferences",
    "PUT",
    "Choose which notifications the user also gets by e-mail",
    body=PREFERENCES_SCHEMA,
    response=PREFERENCES_SCHEMA,
)
async def set_email_preferences(request: Request) -> Any:
    """Kinds left out keep the default (on); an unknown kind or a non-boolean is a 422."""
    data = await json_body(request)
    for kind, value in data.items():
        if not isinstance(value, bool):
            raise ValidationError.single(
                kind, "type", N_("This value has the wrong type or format.")
            )
    return await run(cabinet_of(request).notifications.set_email_preferences, actor(request), data)

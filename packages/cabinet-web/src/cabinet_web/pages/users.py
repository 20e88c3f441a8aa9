"""Users, for managers (their clients' users) and admins (everyone): invite a user by e-mail or
create one with a generated password, hand out a new password, deactivate and reactivate."""

from __future__ import annotations

import secrets
from typing import Any

from cabinet_core.entities import Role, User
from cabinet_core.errors import N_, FieldError, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import MAX_ID, parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)

STAFF = (Role.MANAGER, Role.ADMIN)


def generated_password() -> str:
    """A password a manager can read out or paste: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


async def _render(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    shown: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    users: list[User] = await run(cabinet.users.list, actor)
    clients = await run(cabinet.clients.list, actor)
    context: dict[str, Any] = {
        "users": users,
        "clients": clients,
        "client_names": {client.id: client.name for client in clients},
        "values": values or {"role": Role.CLIENT.value},
        "errors": errors or {},
        "shown": shown,
        "roles": [Role.CLIENT] if actor.role is Role.MANAGER else list(Role),
        "flashes": pop_flashes(request),
    }
    return render(request, "users.html", context, status_code=status)


@page(roles=STAFF)
async def users_page(request: Request) -> Response:
    """The list of users this staff member may manage."""
    return await _render(request)


def _parse_new_user(form: dict[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    role_value = form.get("role", Role.CLIENT.value)
    try:
        role = Role(role_value)
    except ValueError:
        errors.append(FieldError(field="role", code="choice", message=N_("Choose a role.")))
        role = Role.CLIENT
    client_id: int | None = None
    raw_client = form.get("client_id", "").strip()
    if role is Role.CLIENT:
        # Checked here: the service asks "may this manager act for that client?" first.
        try:
            client_id = int(raw_client)
            if not 0 < client_id <= MAX_ID:
                raise ValueError(raw_client)
        except ValueError:
            errors.append(
                FieldError(field="client_id", code="choice", message=N_("Choose a client."))
            )
    data = {
        "email": form.get("email", "").strip(),
        "name": form.get("name", "").strip(),
        "role": role,
        "client_id": client_id,
        "language": form.get("language", "pl"),
    }
    return data, errors


@page(roles=STAFF)
async def create_user(request: Request) -> Response:
    """Create a user and either e-mail an invitation (a single-use link to set a password) or
    generate a password shown once on the page that follows."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    data, problems = _parse_new_user(form)
    invite = form.get("how") == "invite"
    password = "" if invite else generated_password()
    try:
        if problems:
            raise ValidationError(problems)
        user = await run(
            cabinet.users.create, actor_of(request), password=password, invite=invite, **data
        )
    except ValidationError as exc:
        return await _render(
            request, values=form, errors=errors_by_field(request, exc.errors), status=422
        )
    if invite:
        message = request.state.gettext("An invitation was sent to %(email)s.")
        flash(request, message % {"email": user.email})
        return redirect("/users")
    return await _render(request, shown={"email": user.email, "password": password})


@page(roles=STAFF)
async def invite_again(request: Request) -> Response:
    """E-mail a user a new invitation link."""
    cabinet = cabinet_of(request)
    user_id = parse_id(request.path_params["user_id"])
    actor = actor_of(request)
    await run(cabinet.users.invite_again, actor, user_id)
    user = await run(cabinet.users.get, actor, user_id)
    message = request.state.gettext("An invitation was sent to %(email)s.")
    flash(request, message % {"email": user.email})
    return redirect("/users")


@page(roles=STAFF)
async def new_password(request: Request) -> Response:
    """Generate a new password for a user and show it once."""
    cabinet = cabinet_of(request)
    user_id = parse_id(request.path_params["user_id"])
    actor = actor_of(request)
    password = await run(cabinet.users.generate_password, actor, user_id)
    user = await run(cabinet.users.get, actor, user_id)
    return await _render(request, shown={"email": user.email, "password": password})


@page(roles=STAFF)
async def deactivate(request: Request) -> Response:
    """Deactivate a user: signed out everywhere at once, tokens revoked, no more sign-in."""
    cabinet = cabinet_of(request)
    user_id = parse_id(request.path_params["user_id"])
    user = await run(cabinet.users.deactivate, actor_of(request), user_id)
    message = request.state.gettext("%(email)s is deactivated and signed out everywhere.")
    flash(request, message % {"email": user.email})
    return redirect("/users")


@page(roles=STAFF)
async def reactivate(request: Request) -> Response:
    """Let a deactivated user sign in again."""
    cabinet = cabinet_of(request)
    user_id = parse_id(request.path_params["user_id"])
    user = await run(cabinet.users.reactivate, actor_of(request), user_id)
    flash(request, request.state.gettext("%(email)s can sign in again.") % {"email": user.email})
    return redirect("/users")


ROUTES = [
    Route("/users", users_page, methods=["GET"], name="users"),
    Route("/users", create_user, methods=["POST"], name="users_create"),
    Route("/users/{user_id}/password", new_password, methods=["POST"], name="users_password"),
    Route("/users/{user_id}/invite", invite_again, methods=["POST"], name="users_invite"),
    Route("/users/{user_id}/deactivate", deactivate, methods=["POST"], name="users_deactivate"),
    Route("/users/{user_id}/reactivate", reactivate, methods=["POST"], name="users_reactivate"),
]

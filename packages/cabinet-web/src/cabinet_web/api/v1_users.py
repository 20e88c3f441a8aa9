"""``/api/v1/users…`` and ``/api/v1/me/password``: the user lifecycle through the same service
calls as the users and profile pages (list, deactivate, reactivate, change one's password)."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role, User
from cabinet_core.errors import N_, FieldError, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.api._endpoint import Param, actor, int_param, json_body, json_whole, language
from cabinet_web.api.v1 import _id, _path_int, endpoint
from cabinet_web.kit import cabinet_of, run
from cabinet_web.limits import MAX_INT

USER = _id("user_id", "The user's id")
PASSWORD_BODY = {
    "type": "object",
    "required": ["current_password", "new_password"],
    "properties": {
        "current_password": {"type": "string"},
        "new_password": {"type": "string", "minLength": 10},
    },
}


# RFC 5321's longest address (64 + 1 + 255).
MAX_EMAIL_LENGTH = 320


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    # A JSON number with a fraction arrives as a str subclass (kept exact for Decimals).
    if type(value) is not str:
        raise ValidationError([FieldError(field=name, code="string", message=N_("Enter text."))])
    return value


@endpoint(
    "/users",
    "GET",
    "Users the caller may see (staff: their clients' users; admins: everyone)",
    params=(
        Param(
            name="client_id",
            where="query",
            schema={"type": "integer", "minimum": 0, "maximum": MAX_INT},
        ),
        Param(name="role", where="query", schema={"enum": [role.value for role in Role]}),
    ),
    response=("list", User),
)
async def list_users(request: Request) -> list[User]:
    """The visible users, optionally of one client and one role."""
    cabinet = cabinet_of(request)
    raw_role = request.query_params.get("role")
    errors: list[FieldError] = []
    # Held to the id range the database can hold (a 2**70 id is a 422, not a driver error).
    client_id = int_param(request, "client_id")
    role: Role | None = None
    if raw_role:
        try:
            role = Role(raw_role)
        except ValueError:
            errors.append(FieldError(field="role", code="choice", message=N_("Choose a role.")))
    if errors:
        raise ValidationError(errors)
    return list(await run(cabinet.users.list, actor(request), client_id=client_id, role=role))


@endpoint(
    "/users/{user_id:int}/deactivate",
    "POST",
    "Deactivate a user: signed out everywhere at once, API tokens revoked, no sign-in",
    params=(USER,),
    response=User,
)
async def deactivate_user(request: Request) -> User:
    """Managers for their clients' users, admins for everyone; never oneself."""
    cabinet = cabinet_of(request)
    user: User = await run(cabinet.users.deactivate, actor(request), _path_int(request, "user_id"))
    return user


@endpoint(
    "/users/{user_id:int}/reactivate",
    "POST",
    "Let a deactivated user sign in again (old sessions and tokens stay revoked)",
    params=(USER,),
    response=User,
)
async def reactivate_user(request: Request) -> User:
    """Managers for their clients' users, admins for everyone."""
    cabinet = cabinet_of(request)
    user: User = await run(cabinet.users.reactivate, actor(request), _path_int(request, "user_id"))
    return user


@endpoint(
    "/me/password",
    "POST",
    "Change one's own password (the current one required); every session ends and every "
    "API token is revoked, the calling one included",
    body=PASSWORD_BODY,
    response={},
    status=204,
)
async def change_my_password(request: Request) -> Response:
    """A token-authenticated change keeps no session: sign in again with the new password."""
    cabinet = cabinet_of(request)
    body = await json_body(request)
    await run(
        cabinet.users.change_own_password,
        actor(request),
        current=_text(body, "current_password"),
        new=_text(body, "new_password"),
    )
    return Response(status_code=204)


NEW_USER_BODY = {
    "type": "object",
    "required": ["email", "role"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "role": {"enum": [role.value for role in Role]},
        "client_id": {
            "type": ["integer", "null"],
            "minimum": -MAX_INT,
            "maximum": MAX_INT,
            "description": "The client of a client user (required for the role client); "
            "staff belong to none",
        },
        "language": language("Default: pl", blank=True),
        "invite": {
            "type": "boolean",
            "description": "true (default): e-mail a single-use link to set the password; "
            "false: generate a password, returned in this response only",
        },
    },
    # A client user belongs to a client: the role decides whether client_id is required.
    "if": {"properties": {"role": {"const": Role.CLIENT.value}}, "required": ["role"]},
    "then": {"properties": {"client_id": {"type": "integer"}}, "required": ["client_id"]},
}


@endpoint(
    "/users",
    "POST",
    "Create a user: invite by e-mail, or get a generated password once (staff managing the "
    "client; admins for staff)",
    body=NEW_USER_BODY,
    response={
        "type": "object",
        "properties": {"user": {"type": "object"}, "password": {"type": ["string", "null"]}},
    },
    status=201,
)
async def create_user(request: Request) -> dict[str, Any]:
    """The same call as the users page; the password (when generated) is never shown again."""
    from cabinet_web.api._endpoint import to_json
    from cabinet_web.pages.users import generated_password

    cabinet = cabinet_of(request)
    body = await json_body(request)
    invite = body.get("invite", True)
    errors: list[FieldError] = []
    if not isinstance(invite, bool):
        errors.append(
            FieldError(field="invite", code="boolean", message=N_("Enter true or false."))
        )
        invite = True
    try:
        role = Role(str(body.get("role", "")))
    except ValueError:
        errors.append(FieldError(field="role", code="choice", message=N_("Choose a role.")))
        role = Role.CLIENT
    client_id = json_whole(body.get("client_id"))
    if client_id is not None and (not isinstance(client_id, int) or isinstance(client_id, bool)):
        errors.append(
            FieldError(field="client_id", code="integer", message=N_("Enter a whole number."))
        )
        client_id = None
    if errors:
        raise ValidationError(errors)
    password = "" if invite else generated_password()
    user: User = await run(
        cabinet.users.create,
        actor(request),
        email=_text(body, "email"),
        name=_text(body, "name"),
        role=role,
        client_id=client_id,
        language=_text(body, "language") or "pl",
        password=password,
        invite=invite,
    )
    return {"user": to_json(user), "password": password or None}


@endpoint(
    "/password/forgot",
    "POST",
    "Ask for a single-use link to set a new password; the answer is the same for any address",
    body={
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "maxLength": MAX_EMAIL_LENGTH}},
    },
    response={},
    status=202,
    public=True,
)
async def forgot_password(request: Request) -> Response:
    """202 for any well-formed address: nothing tells whether it belongs to an account. A body
    without a textual address is a 422 (that reveals nothing about accounts)."""
    body = await json_body(request)
    if "email" not in body:
        raise ValidationError.single("email", "required", N_("This field is required."))
    email = _text(body, "email")
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError.single(
            "email",
            "too_long",
            N_("This is too long (at most %(limit)s characters)."),
            limit=MAX_EMAIL_LENGTH,
        )
    remote = request.client.host if request.client else ""
    await run(cabinet_of(request).password_links.request_reset, email, remote=remote)
    return Response(status_code=202)


# Anonymous JSON calls carry no session cookie, so there is no CSRF token to check; both take
# only what an e-mail holds (an address, a link's secret).
forgot_password.csrf_exempt = True  # type: ignore[attr-defined]


@endpoint(
    "/password/reset",
    "POST",
    "Set a password with the secret of an e-mailed link (it works once); every session and "
    "API token of the user ends",
    body={
        "type": "object",
        "required": ["link", "password"],
        "properties": {"link": {"type": "string"}, "password": {"type": "string"}},
    },
    response={},
    status=204,
    public=True,
)
async def reset_password(request: Request) -> Response:
    """A spent, expired or unknown link is a 422 problem on the field ``link``."""
    body = await json_body(request)
    await run(
        cabinet_of(request).password_links.complete,
        _text(body, "link"),
        _text(body, "password"),
    )
    return Response(status_code=204)


reset_password.csrf_exempt = True  # type: ignore[attr-defined]


@endpoint(
    "/users/{user_id:int}/two-factor/reset",
    "POST",
    "Remove another user's second factor (admins; the user's sessions end, audited)",
    params=(USER,),
    response={},
    status=204,
)
async def reset_two_factor(request: Request) -> Response:
    """The user enrols again at its next sign-in (staff) or may (clients)."""
    await run(cabinet_of(request).two_factor.reset, actor(request), _path_int(request, "user_id"))
    return Response(status_code=204)

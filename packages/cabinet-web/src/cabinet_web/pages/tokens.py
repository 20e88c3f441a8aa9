"""Personal API tokens: create one (its secret is shown once, never stored), revoke one."""

from __future__ import annotations

from typing import Any

from cabinet_core.errors import Conflict, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
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


async def _render(
    request: Request,
    *,
    secret: str | None = None,
    errors: dict[str, str] | None = None,
    name: str = "",
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    tokens = await run(cabinet.tokens.list, actor_of(request))
    user = request.state.user
    context: dict[str, Any] = {
        "needs_code": await run(cabinet.two_factor.enabled, user.id),
        "tokens": tokens,
        "secret": secret,
        "errors": errors or {},
        "name": name,
        "flashes": pop_flashes(request),
    }
    return render(request, "tokens.html", context, status_code=status)


@page()
async def tokens_page(request: Request) -> Response:
    """The user's tokens."""
    return await _render(request)


@page()
async def create_token(request: Request) -> Response:
    """Create a token and show its secret in this response only (not in the signed cookie)."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    name = form.get("name", "").strip()
    try:
        _token, secret = await run(
            cabinet.tokens.create, actor_of(request), name=name, code=form.get("code") or None
        )
    except Conflict as exc:
        message = request.state.gettext(exc.message)
        return await _render(request, errors={"code": message}, name=name, status=409)
    except ValidationError as exc:
        return await _render(
            request, errors=errors_by_field(request, exc.errors), name=name, status=422
        )
    return await _render(request, secret=secret)


@page()
async def revoke_token(request: Request) -> Response:
    """Revoke one of the user's tokens."""
    cabinet = cabinet_of(request)
    token_id = parse_id(request.path_params["token_id"])
    await run(cabinet.tokens.revoke, actor_of(request), token_id)
    flash(request, request.state.gettext("The token was revoked."))
    return redirect("/tokens")


ROUTES = [
    Route("/tokens", tokens_page, methods=["GET"], name="tokens"),
    Route("/tokens", create_token, methods=["POST"], name="tokens_create"),
    Route("/tokens/{token_id}/revoke", revoke_token, methods=["POST"], name="tokens_revoke"),
]

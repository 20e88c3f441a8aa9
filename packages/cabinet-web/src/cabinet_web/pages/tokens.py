"""Personal API tokens: create one with its scopes and an optional expiry (its secret is shown
once, never stored), list them with their last use, revoke one."""

from __future__ import annotations

from datetime import date
from typing import Any

from cabinet_core.entities import TokenScope
from cabinet_core.errors import N_, Conflict, FieldError, ValidationError
from cabinet_core.services.tokens import expiry_at_end_of, last_valid_day
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

#: Each scope's name and what it allows, as the form and the list show them.
SCOPE_TEXTS: dict[TokenScope, tuple[str, str]] = {
    TokenScope.READ: (
        N_("read"),
        N_("see what you can see in the cabinet: documents, files, reports, chat"),
    ),
    TokenScope.WRITE: (
        N_("write"),
        N_("also create and change what you may change (includes read)"),
    ),
    TokenScope.ADMIN: (
        N_("account administration"),
        N_(
            "also manage API tokens, users, passwords and two-factor sign-in "
            "(includes write; give it only to a program that needs it)"
        ),
    ),
}


async def _render(
    request: Request,
    *,
    secret: str | None = None,
    errors: dict[str, str] | None = None,
    name: str = "",
    scopes: frozenset[str] = frozenset({TokenScope.READ.value}),
    expires_on: str = "",
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
        "scope_texts": {scope.value: texts for scope, texts in SCOPE_TEXTS.items()},
        "chosen_scopes": scopes,
        "expires_on": expires_on,
        "now": cabinet.store.clock(),
        "last_valid_day": last_valid_day,
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
    scopes = frozenset(scope.value for scope in TokenScope if form.get(f"scope_{scope.value}"))
    expires_on = form.get("expires_on", "").strip()

    async def again(errors: dict[str, str], status: int) -> Response:
        # The form comes back with what was typed and ticked.
        return await _render(
            request,
            errors=errors,
            name=name,
            scopes=scopes,
            expires_on=expires_on,
            status=status,
        )

    try:
        expires_at = expiry_at_end_of(date.fromisoformat(expires_on)) if expires_on else None
    except ValueError:
        error = FieldError(field="expires_on", code="date", message=N_("Enter a valid date."))
        return await again(errors_by_field(request, [error]), 422)
    try:
        _token, secret = await run(
            cabinet.tokens.create,
            actor_of(request),
            name=name,
            scopes=sorted(scopes),
            expires_at=expires_at,
            code=form.get("code") or None,
        )
    except Conflict as exc:
        message = request.state.gettext(exc.message)
        return await again({"code": message}, 409)
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        if "expires_at" in errors:
            errors["expires_on"] = errors.pop("expires_at")
        return await again(errors, 422)
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

"""Two-factor sign-in on the pages: the code after the password, enrolment with a QR code
(forced for staff when required), the recovery codes shown once, turning it off (clients) and
an admin's reset of another user's second factor."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.kit import (
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
    safe_next,
    sign_in,
)
from cabinet_web.limits import parse_id
from cabinet_web.pages.auth import NEXT_KEY, SECOND_FACTOR
from cabinet_web.pages.ksef import qr_svg

ENROL = "/two-factor/enrol"


def _pending(request: Request) -> User | None:
    user: User | None = getattr(request.state, "pending_user", None)
    return user


async def second_factor_form(request: Request) -> Response:
    """Ask for the code (or a recovery code) after the password."""
    user = _pending(request)
    if user is None:
        return redirect("/login")
    assert user.id is not None
    if not await run(cabinet_of(request).two_factor.enabled, user.id):
        return redirect(ENROL)  # staff who must enrol first
    return render(request, "two_factor_code.html", {"errors": {}})


async def second_factor(request: Request) -> Response:
    """Check the code; a right one opens a fresh, fully signed-in session."""
    cabinet = cabinet_of(request)
    user = _pending(request)
    if user is None:
        return redirect("/login")
    form = await read_form(request)
    target = safe_next(request.session.get(NEXT_KEY))
    if not await run(cabinet.two_factor.verify, user, form.get("code", "")):
        message = request.state.gettext("The code is wrong or was already used.")
        context = {"errors": {"code": message}}
        return render(request, "two_factor_code.html", context, status_code=400)
    await run(sign_in, request, user, second_factor_given=True)
    return redirect(target)


def _enrolling(request: Request) -> User | None:
    user: User | None = request.state.user
    return user if user is not None else _pending(request)


async def enrol_form(request: Request) -> Response:
    """The QR code and the secret to type into an authenticator app, and a field for a code."""
    cabinet = cabinet_of(request)
    user = _enrolling(request)
    if user is None:
        return redirect("/login")
    assert user.id is not None
    actor = Actor.of(user)
    if await run(cabinet.two_factor.enabled, user.id):
        return redirect("/two-factor" if request.state.user is not None else SECOND_FACTOR)
    pending: str | None = await run(cabinet.two_factor.pending_secret, actor)
    if pending is not None:
        return _enrol_page(request, user, pending, {})
    secret, _ = await run(cabinet.two_factor.start_enrolment, actor, email=user.email)
    return _enrol_page(request, user, secret, {})


def _enrol_page(
    request: Request, user: User, secret: str, errors: dict[str, str], status: int = 200
) -> Response:
    uri = cabinet_of(request).two_factor.enrolment_uri(secret, email=user.email)
    context: dict[str, Any] = {
        "qr": qr_svg(uri, request.state.gettext("QR code for your authenticator app")),
        "secret": secret,
        "errors": errors,
        "forced": request.state.user is None,
    }
    return render(request, "two_factor_enrol.html", context, status_code=status)


async def enrol(request: Request) -> Response:
    """Confirm the enrolment with a first code; show the recovery codes this once."""
    cabinet = cabinet_of(request)
    user = _enrolling(request)
    if user is None:
        return redirect("/login")
    actor = Actor.of(user)
    form = await read_form(request)
    try:
        codes = await run(cabinet.two_factor.confirm_enrolment, actor, form.get("code", ""))
    except ValidationError as exc:
        secret = await run(cabinet.two_factor.pending_secret, actor)
        if secret is None:
            return redirect(ENROL)
        errors = errors_by_field(request, exc.errors)
        return _enrol_page(request, user, secret, errors, status=422)
    target = "/two-factor"
    if request.state.user is None:
        target = safe_next(request.session.get(NEXT_KEY))
        await run(sign_in, request, user, second_factor_given=True)
    return render(request, "two_factor_codes.html", {"codes": codes, "next": target})


@page()
async def overview(request: Request) -> Response:
    """Whether two-factor sign-in is on, the recovery codes left, and turning it off."""
    cabinet = cabinet_of(request)
    user: User = request.state.user
    assert user.id is not None
    context = {
        "enabled": await run(cabinet.two_factor.enabled, user.id),
        "required": cabinet.two_factor.required(user),
        "remaining": await run(cabinet.two_factor.remaining_recovery_codes, actor_of(request)),
        "errors": {},
        "flashes": pop_flashes(request),
    }
    return render(request, "two_factor.html", context)


@page()
async def disable(request: Request) -> Response:
    """Turn one's own second factor off, proven with a current code."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    try:
        await run(cabinet.two_factor.disable, actor_of(request), form.get("code", ""))
    except ValidationError as exc:
        user: User = request.state.user
        context = {
            "enabled": True,
            "required": cabinet.two_factor.required(user),
            "remaining": await run(cabinet.two_factor.remaining_recovery_codes, actor_of(request)),
            "errors": errors_by_field(request, exc.errors),
        }
        return render(request, "two_factor.html", context, status_code=422)
    flash(request, request.state.gettext("Two-factor sign-in is off."))
    return redirect("/two-factor")


@page(roles=[Role.ADMIN])
async def reset(request: Request) -> Response:
    """An admin removes another user's second factor (the user's sessions end)."""
    cabinet = cabinet_of(request)
    user_id = parse_id(request.path_params["user_id"])
    actor = actor_of(request)
    await run(cabinet.two_factor.reset, actor, user_id)
    target = await run(cabinet.users.get, actor, user_id)
    message = request.state.gettext("The second factor of %(email)s was reset.")
    flash(request, message % {"email": target.email})
    return redirect("/users")


ROUTES = [
    Route(SECOND_FACTOR, second_factor_form, methods=["GET"], name="second_factor"),
    Route(SECOND_FACTOR, second_factor, methods=["POST"], name="second_factor_post"),
    Route(ENROL, enrol_form, methods=["GET"], name="two_factor_enrol"),
    Route(ENROL, enrol, methods=["POST"], name="two_factor_enrol_post"),
    Route("/two-factor", overview, methods=["GET"], name="two_factor"),
    Route("/two-factor/disable", disable, methods=["POST"], name="two_factor_disable"),
    Route("/users/{user_id}/two-factor/reset", reset, methods=["POST"], name="two_factor_reset"),
]

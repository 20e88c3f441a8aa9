""" "Forgot password" and the single-use link's page (a reset or an invitation): open to
everyone, like the sign-in page. The answer to a reset request is the same page whether the
address exists or not."""

from __future__ import annotations

from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.kit import cabinet_of, errors_by_field, flash, read_form, redirect, render, run


async def forgot_form(request: Request) -> Response:
    """Ask for the address to send a reset link to."""
    return render(request, "password_forgot.html", {"sent": False, "email": ""})


async def forgot(request: Request) -> Response:
    """Queue a reset link if the address is a user's; say the same thing either way."""
    form = await read_form(request)
    email = form.get("email", "").strip()[:320]
    remote = request.client.host if request.client else ""
    await run(cabinet_of(request).password_links.request_reset, email, remote=remote)
    return render(request, "password_forgot.html", {"sent": True, "email": ""})


async def link_form(request: Request) -> Response:
    """The form to set a password through a link (or why the link no longer works)."""
    secret = request.path_params["secret"]
    try:
        link, user = await run(cabinet_of(request).password_links.check, secret)
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        return render(
            request, "password_set.html", {"errors": errors, "valid": False}, status_code=410
        )
    context = {"errors": {}, "valid": True, "email": user.email, "purpose": link.purpose.value}
    return render(request, "password_set.html", context)


async def use_link(request: Request) -> Response:
    """Set the password (the link is then spent) and go to the sign-in page."""
    cabinet = cabinet_of(request)
    secret = request.path_params["secret"]
    form = await read_form(request)
    try:
        await run(cabinet.password_links.complete, secret, form.get("password", ""))
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        valid = "link" not in errors
        return render(
            request, "password_set.html", {"errors": errors, "valid": valid}, status_code=422
        )
    flash(request, request.state.gettext("Your password is set. Sign in with it."))
    return redirect("/login")


ROUTES = [
    Route("/password/forgot", forgot_form, methods=["GET"], name="password_forgot"),
    Route("/password/forgot", forgot, methods=["POST"], name="password_forgot_post"),
    Route("/password/{secret:str}", link_form, methods=["GET"], name="password_link"),
    Route("/password/{secret:str}", use_link, methods=["POST"], name="password_link_post"),
]

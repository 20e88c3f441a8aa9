"""Signing in and out, and the language switch (available before signing in too)."""

from __future__ import annotations

import functools
import os

import anyio
import anyio.to_thread
from cabinet_core.entities import Actor, User
from cabinet_core.errors import AuthenticationFailed
from cabinet_core.signin_throttle import SignInThrottled
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.i18n import LANGUAGE_COOKIE, format_message, translations
from cabinet_web.kit import (
    cabinet_of,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
    safe_next,
    sign_in,
)
from cabinet_web.known_device import known_device, remember_device
from cabinet_web.security import session_secret

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
#: Where a password-checked session gives its second factor (or, for staff, enrols one).
SECOND_FACTOR = "/login/second-factor"
#: The page to go to once the second factor is given, kept in the cookie meanwhile.
NEXT_KEY = "next"
#: How many password checks (argon2id: 64 MiB and ~0.2 s of CPU each, by design) one process
#: runs at once. The others wait on the event loop, holding no thread of the shared pool, so a
#: crowd signing in neither starves the pages of threads nor takes 64 MiB per waiting request.
PASSWORD_CHECKS_AT_ONCE = max(1, min(4, os.cpu_count() or 1))


def _password_checks(request: Request) -> anyio.CapacityLimiter:
    """The app's limiter of concurrent password checks (made on first use, in the loop)."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "password_checks", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(PASSWORD_CHECKS_AT_ONCE)
        state.password_checks = limiter
    return limiter


async def login_form(request: Request) -> Response:
    """The sign-in page (signed-in users go home; a password already given goes on to the
    second factor)."""
    if request.state.user is not None:
        return redirect(safe_next(request.query_params.get("next")))
    if getattr(request.state, "pending_user", None) is not None:
        return redirect(SECOND_FACTOR)
    return render(
        request,
        "login.html",
        {
            "email": "",
            "error": "",
            "next": safe_next(request.query_params.get("next")),
            "flashes": pop_flashes(request),
        },
    )


async def login(request: Request) -> Response:
    """Check the credentials (throttled by the users service) and open a fresh session."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    email = form.get("email", "").strip()
    password = form.get("password", "")
    target = safe_next(form.get("next"))
    # The proxy's address is replaced by the client's only for trusted proxies
    # (settings.trusted_proxies): a forged X-Forwarded-For cannot pick another throttle key.
    remote = request.client.host if request.client else ""
    try:
        check = functools.partial(
            cabinet.users.authenticate,
            email,
            password,
            remote=remote,
            device=known_device(request),
        )
        user: User = await anyio.to_thread.run_sync(check, limiter=_password_checks(request))
    except AuthenticationFailed as exc:
        catalog = translations(request.state.language)
        refused = render(
            request,
            "login.html",
            {
                "email": email,
                "error": format_message(catalog, exc.message, exc.params),
                "next": target,
            },
            status_code=429 if isinstance(exc, SignInThrottled) else 400,
        )
        if isinstance(exc, SignInThrottled):
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in cabinet.settings.languages and chosen != user.language:
        # The language picked on the login page becomes the user's remembered choice.
        user = await run(cabinet.users.set_language, Actor.of(user), user.id, chosen)
    assert user.id is not None
    if not await run(sign_in, request, user):
        request.session[NEXT_KEY] = target
        response = redirect(SECOND_FACTOR)
    else:
        response = redirect(target)
    # The password was right: this browser is a known device of the account from now on.
    remember_device(request, response, user.id)
    return response


async def logout(request: Request) -> Response:
    """End the session on the server too (the form carries the CSRF token like every other):
    a copy of the cookie signs nobody in afterwards."""
    await run(cabinet_of(request).sessions.close, session_secret(request.session))
    request.session.clear()
    return redirect("/login")


async def switch_language(request: Request) -> Response:
    """Remember the language in a cookie and, when signed in, on the user."""
    cabinet = cabinet_of(request)
    form = await read_form(request)
    language = form.get("language", "")
    target = safe_next(form.get("next"))
    response = redirect(target)
    if language not in cabinet.settings.languages:
        return response
    user: User | None = request.state.user
    if user is not None and user.language != language:
        await run(cabinet.users.set_language, Actor.of(user), user.id, language)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=cabinet.settings.secure_cookies,
    )
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"], name="login_post"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/language", switch_language, methods=["POST"], name="language"),
]

"""The public web kit: what a plugin's pages need from cabinet-web, and all they may use.

Plugins reach the web shell only through hooks (``register_routes``, ``template_dirs``,
``translation_dirs``, ``static_dirs``, ``settings_pages`` …) and this module; everything else in
``cabinet_web`` is private and may change. The built-in pages use the same kit. A page::

    from cabinet_web import kit

    @kit.page(roles=[Role.ADMIN])
    async def my_settings(request):
        _ = request.state.gettext  # the user's language, plugin catalogs merged in
        values = await kit.run(my_service, kit.cabinet_of(request))
        return kit.render(request, "my_settings.html", {"values": values})

Documented in docs/plugins/web-kit.md.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import FieldError, PermissionDenied
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cabinet_web import blocking
from cabinet_web.i18n import format_message, translations
from cabinet_web.security import rotate_session, session_fingerprint, session_secret
from cabinet_web.templating import Templates

__all__ = [
    "Endpoint",
    "actor_of",
    "cabinet_of",
    "errors_by_field",
    "flash",
    "gettext",
    "page",
    "pop_flashes",
    "read_form",
    "redirect",
    "render",
    "run",
    "safe_next",
    "session_fingerprint",
    "sign_in",
]

T = TypeVar("T")
#: A Starlette endpoint: an async function from a request to a response.
Endpoint = Callable[[Request], Awaitable[Response]]


def cabinet_of(request: Request) -> Cabinet:
    """The cabinet this app serves."""
    cabinet: Cabinet = request.app.state.cabinet
    return cabinet


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render the page template ``name`` for ``request`` (a plugin's template dirs are
    searched first; ``{% extends "base.html" %}`` gives it the cabinet's layout and menu)."""
    templates: Templates = request.app.state.templates
    return templates.response(request, name, context, status_code=status_code)


def gettext(request: Request) -> Callable[[str], str]:
    """The request's ``gettext`` (also ``request.state.gettext``): the user's language, with
    the plugins' ``translation_dirs`` merged into the web's catalogs."""
    translate: Callable[[str], str] = request.state.gettext
    return translate


def actor_of(request: Request) -> Actor:
    """The signed-in user as the services' :class:`Actor` (limited by its API token's scopes
    when the request came with one)."""
    return Actor.of(request.state.user, scopes=getattr(request.state, "token_scopes", None))


async def run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking, database-bound) service call off the event loop."""
    return await blocking.run_blocking(func, *args, **kwargs)


def page(*, roles: Iterable[Role] | None = None) -> Callable[[Endpoint], Endpoint]:
    """Require a signed-in user (else a redirect to the login page, coming back afterwards) and,
    when ``roles`` is given, one of them (else 403 with a problem page)."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            user: User | None = request.state.user
            if user is None:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            if allowed is not None and user.role not in allowed:
                raise PermissionDenied()
            return await endpoint(request)

        return wrapper

    return decorate


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files and repeated keys are dropped). The CSRF
    check has already run (a plugin's POST routes get it like the built-in ones)."""
    form: FormData = await request.form()
    try:
        return {key: value for key, value in form.items() if isinstance(value, str)}
    finally:
        await form.close()


def errors_by_field(request: Request, errors: Sequence[FieldError]) -> dict[str, str]:
    """Translated messages keyed by field (the first message per field)."""
    catalog = getattr(request.state, "translations", None) or translations(request.state.language)
    result: dict[str, str] = {}
    for error in errors:
        result.setdefault(error.field, format_message(catalog, error.message, error.params))
    return result


def flash(request: Request, message: str) -> None:
    """Show ``message`` (already translated) on the next page."""
    request.session.setdefault("flash", []).append(message)


def pop_flashes(request: Request) -> list[str]:
    """Messages queued by :func:`flash` (removed once shown)."""
    return list(request.session.pop("flash", []))


def redirect(path: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the next page."""
    return RedirectResponse(path, status_code=303)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in(request: Request, user: User, *, second_factor_given: bool = False) -> bool:
    """Start a fresh session for ``user`` (what the login form does once the password is
    right): nothing from before survives, a new CSRF token is made, and the session ends when
    the user's password changes or the user signs out. For a plugin that proved who the user
    is its own way (a CRM placement); an inactive user is refused.

    A user with two-factor sign-in on (or staff who must enrol) gets a session that still
    waits for the second factor: ``False`` is returned and the caller sends the browser to
    ``/login/second-factor``; ``True`` means signed in."""
    if not user.active:
        raise PermissionDenied()
    cabinet = request.app.state.cabinet
    assert user.id is not None
    verified = second_factor_given or not (
        cabinet.two_factor.enabled(user.id) or cabinet.two_factor.required(user)
    )
    old = session_secret(request.session)
    if old:
        cabinet.sessions.close(old)
    secret = cabinet.sessions.open(
        user,
        user_agent=request.headers.get("user-agent", ""),
        remote=request.client.host if request.client else "",
        verified=verified,
    )
    rotate_session(request.session, secret)
    return verified

"""What every page endpoint needs: the signed-in user, forms that keep their values, flashes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Role, User
from cabinet_core.errors import FieldError, PermissionDenied
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cabinet_web.i18n import format_message, translations
from cabinet_web.templating import Templates

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]


def cabinet_of(request: Request) -> Cabinet:
    """The cabinet this app serves."""
    cabinet: Cabinet = request.app.state.cabinet
    return cabinet


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render the page template ``name`` for ``request``."""
    templates: Templates = request.app.state.templates
    return templates.response(request, name, context, status_code=status_code)


def actor_of(request: Request) -> Actor:
    """The signed-in user as the services' :class:`Actor`."""
    return Actor.of(request.state.user)


async def run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking, database-bound) service call off the event loop."""
    return await run_in_threadpool(func, *args, **kwargs)


def page(*, roles: Iterable[Role] | None = None) -> Callable[[Endpoint], Endpoint]:
    """Require a signed-in user (redirect to the login page) and optionally one of ``roles``."""
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
    """The submitted form as plain strings (files and repeated keys are not used by our forms)."""
    form: FormData = await request.form()
    try:
        return {key: value for key, value in form.items() if isinstance(value, str)}
    finally:
        await form.close()


def errors_by_field(request: Request, errors: Sequence[FieldError]) -> dict[str, str]:
    """Translated messages keyed by field (the first message per field)."""
    catalog = translations(request.state.language)
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

"""The request body limit, enforced on every route while the body streams in, before anything
parses it.

Without it a route read the whole body first and checked later: one 300 MB request to
``/hooks/bitrix24`` (no sign-in needed) took a server from 134 MB to 705 MB. The
:class:`BodyLimitMiddleware` sits outside the session, the user lookup and the CSRF check, so
an oversized request costs neither memory nor a database query:

* a declared ``Content-Length`` over the route's limit is answered with 413 before a byte of
  the body is read (a length that is not a number is a 400);
* otherwise ``receive`` is wrapped and counts the bytes as they arrive; the chunk that passes
  the limit is never handed to the app, which gets :class:`BodyTooLarge` instead, and the
  client gets 413 whatever the app made of that (a handler that swallows the error cannot
  turn it into another answer).

Every route has :attr:`~cabinet_core.settings.Settings.max_body_bytes` (2 MiB by default,
``CABINET_MAX_BODY_BYTES``); the routes that take files declare more (:data:`UPLOAD_LIMITS`),
and a plugin's endpoint may declare its own with a ``max_body_bytes`` attribute: an ``int``, or
a callable taking the :class:`~starlette.requests.Request` and returning one (the inbound
``/hooks/{backend}`` route asks the named backend's handler). The answer is an RFC 9457 problem
for the API and other programs, a small plain page for a browser (one that accepts HTML).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cabinet_core.errors import N_
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from cabinet_core.services.branding import LOGO_MAX_BYTES
from cabinet_core.settings import Settings
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinet_web import blocking
from cabinet_web.i18n import LANGUAGE_COOKIE, choose_language, format_message, translations
from cabinet_web.problems import STATUS_TITLES, problem, wants_json

__all__ = [
    "BODY_LIMIT_ATTRIBUTE",
    "FORM_OVERHEAD",
    "UPLOAD_LIMITS",
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "route_limits",
]

#: An endpoint attribute declaring the route's own limit (an int, or ``f(request) -> int``).
BODY_LIMIT_ATTRIBUTE = "max_body_bytes"
#: Room for the text fields and the multipart framing around an uploaded file.
FORM_OVERHEAD = 64 * 1024

Limit = Callable[[Request], int]


def _attachment_limit(request: Request) -> int:
    settings: Settings = request.app.state.cabinet.settings
    return settings.attachment_max_bytes + FORM_OVERHEAD


def _fa3_limit(_request: Request) -> int:
    return MAX_FA3_BYTES + FORM_OVERHEAD


def _logo_limit(_request: Request) -> int:
    return LOGO_MAX_BYTES + FORM_OVERHEAD


#: The built-in routes that take files, by method and path, with their larger limits.
UPLOAD_LIMITS: Mapping[tuple[str, str], Limit] = {
    ("POST", "/documents/{doc_id:int}/attachments"): _attachment_limit,
    ("POST", "/api/v1/documents/{doc_id:int}/attachments"): _attachment_limit,
    ("POST", "/chat/{client_id}"): _attachment_limit,
    ("POST", "/api/v1/chat/{client_id}/messages"): _attachment_limit,
    ("POST", "/api/v1/chat"): _attachment_limit,
    ("POST", "/documents/import"): _fa3_limit,
    ("POST", "/api/v1/documents/import-fa3"): _fa3_limit,
    ("POST", "/settings/branding/logo"): _logo_limit,
}


class BodyTooLarge(Exception):
    """The request body passed its route's limit while it was being received."""


def _declared(route: BaseRoute) -> Limit | None:
    """The route's own limit: its endpoint's attribute, else the built-in upload table."""
    if not isinstance(route, Route):
        return None
    value: Any = getattr(route.endpoint, BODY_LIMIT_ATTRIBUTE, None)
    if isinstance(value, int) and not isinstance(value, bool):
        fixed = value
        return lambda _request: fixed
    if callable(value):
        return value  # type: ignore[no-any-return]
    for method in route.methods or ():
        if (method, route.path) in UPLOAD_LIMITS:
            return UPLOAD_LIMITS[(method, route.path)]
    return None


def route_limits(routes: Iterable[BaseRoute]) -> tuple[tuple[Route, Limit], ...]:
    """The routes that declare a limit of their own, with it (computed once per app)."""
    found: list[tuple[Route, Limit]] = []
    for route in routes:
        limit = _declared(route)
        if limit is not None:
            assert isinstance(route, Route)
            found.append((route, limit))
    return tuple(found)


class BodyLimitMiddleware:
    """Refuses request bodies over their route's limit with 413, while they stream in."""

    def __init__(
        self, app: ASGIApp, *, default: int, routes: tuple[tuple[Route, Limit], ...] = ()
    ) -> None:
        self.app = app
        self.default = default
        self.routes = routes

    async def _limit(self, scope: Scope) -> int:
        for route, limit in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                request = Request({**scope, **child})
                return int(await blocking.run_blocking(limit, request))
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = await self._limit(scope)
        declared = _content_length(scope)
        if declared == -1:
            await _refusal(scope, 400, limit)(scope, receive, send)
            return
        if declared is not None and declared > limit:
            await _refusal(scope, 413, limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        answered = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded(message: Message) -> None:
            nonlocal answered
            if exceeded:
                # Whatever the app answers after the limit was passed, the client gets 413.
                if message["type"] == "http.response.start" and not answered:
                    answered = True
                    await _refusal(scope, 413, limit)(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if not answered:
                answered = True
                await _refusal(scope, 413, limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; ``None`` without one, ``-1`` for a value that is no length."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


def _refusal(scope: Scope, status: int, limit: int) -> Response:
    """413 (or 400 for a bad length) as a problem document or a plain page.

    Nothing of the request is resolved yet (no session, no user, no template state), so the
    page is built here from the translations alone rather than from the error template.
    """
    request = Request(scope)
    settings: Settings = request.app.state.cabinet.settings
    language = choose_language(
        user_language=None,
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language", ""),
        available=settings.languages,
        default=settings.default_language,
    )
    request.state.language = language
    detail = (
        N_("The body may have at most %(limit)s bytes.")
        if status == 413
        else N_("The Content-Length header is not a length.")
    )
    params = {"limit": limit}
    headers = {"Connection": "close"}
    # A browser's form post asks for HTML; the API, a CRM's call or a script gets a problem.
    if wants_json(request) or "html" not in request.headers.get("accept", ""):
        return problem(request, status, detail=detail, params=params, headers=headers)
    catalog = translations(language)
    title = html.escape(catalog.gettext(STATUS_TITLES[status]))
    message = html.escape(format_message(catalog, detail, params))
    page = (
        f'<!doctype html><html lang="{html.escape(language)}"><meta charset="utf-8">'
        f"<title>{title}</title><h1>{title}</h1><p>{message}</p></html>"
    )
    return HTMLResponse(page, status_code=status, headers=headers)

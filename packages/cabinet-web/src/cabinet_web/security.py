"""Who is asking, in which language, and whether an unsafe request really came from our forms.

Two ASGI middlewares sit inside Starlette's ``SessionMiddleware`` (an itsdangerous-signed,
HttpOnly, SameSite=Lax cookie, Secure when ``settings.secure_cookies``). The cookie carries only
the CSRF token and the secret of a server-side session (``cabinet.sessions``): signing out
deletes that session, so a copied cookie is worthless afterwards.

* :class:`RequestContextMiddleware` resolves the user through the ``actor_from_request`` hook,
  picks the language and makes sure the session has a CSRF token;
* :class:`CsrfMiddleware` rejects POST/PUT/PATCH/DELETE whose token (form field ``csrf_token`` or
  header ``X-CSRF-Token``) does not match the session's. Requests with an ``Authorization``
  header (API tokens) are exempt: browsers never send that header on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from cabinet_core.entities import User
from cabinet_core.errors import N_, CabinetError, Unavailable
from cabinet_core.request_origin import RequestOrigin, acting_from
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinet_web import blocking
from cabinet_web.i18n import LANGUAGE_COOKIE, choose_language, translations
from cabinet_web.problems import respond
from cabinet_web.token_scopes import token_scope_refusal

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: An endpoint with this attribute set true takes POSTs from other servers, not from our forms
#: (a CRM's event handler, which proves itself its own way); ``create_app`` exempts its path.
CSRF_EXEMPT_ATTRIBUTE = "csrf_exempt"
MAX_FORM_BYTES = 20 * 1024 * 1024


def session_fingerprint(user: User) -> str:
    """Ties a session to the password it was opened with: a new password ends old sessions."""
    return hashlib.sha256(f"{user.id}:{user.password_hash}".encode()).hexdigest()[:32]


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


#: The cookie's key holding the server-side session's secret (nothing else about the user).
SESSION_KEY = "sid"


def rotate_session(session: dict[str, Any], secret: str) -> None:
    """Start a fresh cookie session carrying the server-side session's ``secret`` (new CSRF
    token; nothing from before sign-in survives)."""
    session.clear()
    session[SESSION_KEY] = secret
    csrf_token(session)


def session_secret(session: dict[str, Any] | None) -> str:
    """The server-side session secret the cookie carries, or ``""``."""
    value = session.get(SESSION_KEY) if session else None
    return value if isinstance(value, str) else ""


class RequestContextMiddleware:
    """Sets ``request.state.user``, ``.language``, ``.translations``, ``.gettext`` and
    ``.csrf_token``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cabinet = request.app.state.cabinet
        state = request.state
        state.user = None
        state.auth = None
        state.auth_error = None
        state.token_scopes = None
        # Static files need no user; skipping the lookup spares a query per stylesheet.
        if not scope["path"].startswith("/static/"):
            try:
                state.user = await blocking.run_blocking(
                    cabinet.pm.hook.actor_from_request, cabinet=cabinet, request=request
                )
            except CabinetError as exc:
                state.auth_error = exc
        settings = cabinet.settings
        state.language = choose_language(
            user_language=state.user.language if state.user else None,
            cookie=request.cookies.get(LANGUAGE_COOKIE),
            accept_language=request.headers.get("accept-language", ""),
            available=settings.languages,
            default=settings.default_language,
        )
        # The plugins' catalogs are merged in (translation_dirs), once per app and language.
        state.translations = translations(
            state.language, getattr(request.app.state, "translation_dirs", ())
        )
        state.gettext = state.translations.gettext
        state.csrf_token = csrf_token(scope["session"])
        # Every audit entry written while serving this request records where it came from.
        origin = RequestOrigin(
            ip=request.client.host if request.client is not None else None,
            user_agent=request.headers.get("user-agent"),
        )
        if isinstance(state.auth_error, Unavailable):
            # The database is away for a moment: say so (503, Retry-After) instead of treating
            # the visitor as signed out, which would send a browser to the sign-in page.
            from cabinet_web.problems import handle_cabinet_error

            response = await handle_cabinet_error(request, state.auth_error)
            await response(scope, receive, send)
            return
        refusal = token_scope_refusal(request)
        if refusal is not None:
            await respond(request, 403, detail=refusal.message, params=refusal.params)(
                scope, receive, send
            )
            return
        with acting_from(origin):
            await self.app(scope, receive, send)


class CsrfMiddleware:
    """Rejects unsafe cookie-authenticated requests without the session's CSRF token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        exempt_paths: frozenset[str] = frozenset(),
        exempt_patterns: tuple[re.Pattern[str], ...] = (),
    ) -> None:
        self.app = app
        self.exempt_paths = exempt_paths
        # Routes with path parameters (``/hooks/{backend}``) are exempt by their compiled regex.
        self.exempt_patterns = exempt_patterns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"] in self.exempt_paths
            or any(pattern.match(scope["path"]) for pattern in self.exempt_patterns)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if "authorization" in request.headers:
            await self.app(scope, receive, send)
            return
        expected = scope["session"].get("csrf", "")
        provided = request.headers.get(CSRF_HEADER)
        replay = receive
        if provided is None:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                body = await _read_body(receive)
                if body is None:
                    await respond(request, 413)(scope, receive, send)
                    return
                replay = _replaying(body, receive)
                try:
                    form = await Request(scope, _replaying(body, receive)).form()
                    value = form.get(CSRF_FIELD)
                    provided = value if isinstance(value, str) else None
                    await form.close()
                except Exception:
                    provided = None
        if not provided or not expected or not hmac.compare_digest(provided, expected):
            response = respond(
                request,
                403,
                detail=N_(
                    "The form has expired or did not come from this site. "
                    "Reload the page and try again."
                ),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, original: Receive) -> Receive:
    """A ``receive`` that hands out the already-read body once, then defers to the server."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        # Inline styles carry the branding colours; no inline scripts exist, so none run.
        b"default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
)


#: Public files every visitor gets alike; they keep their own caching headers. Everything else
#: may carry a person's data (pages, the API, downloads, live streams) and is never stored.
PUBLIC_ASSET_PREFIXES = ("/static/", "/branding/logo")
NO_STORE = (b"cache-control", b"no-store")
#: HSTS for a year, sent only on answers over HTTPS (RFC 6797 ignores it over plain HTTP).
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeadersMiddleware:
    """Adds headers that keep pages out of frames, stop content-type sniffing, keep personal
    answers out of caches (``Cache-Control: no-store``) and, over HTTPS, pin the browser to
    HTTPS (``Strict-Transport-Security``).

    The scheme is the request's own: behind a TLS-terminating proxy the server sets it from
    ``X-Forwarded-Proto`` only for the proxies it trusts (``CABINET_TRUSTED_PROXIES``), so a
    client cannot ask for HSTS over plain HTTP.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asset = str(scope.get("path", "")).startswith(PUBLIC_ASSET_PREFIXES)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not asset:
                    # Replaces a route's own (a download's "private, max-age=0"): no-store only.
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append(NO_STORE)
                names = {name.lower() for name, _ in headers}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in names]
                if https and HSTS[0] not in names:
                    extra.append(HSTS)
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""The Starlette application factory: one app per :class:`~cabinet_core.app.Cabinet`."""

from __future__ import annotations

from cabinet_core.app import Cabinet
from cabinet_core.errors import CabinetError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cabinet_web import plugin as web_plugin
from cabinet_web.problems import (
    handle_cabinet_error,
    handle_http_exception,
    handle_server_error,
)
from cabinet_web.security import (
    CSRF_EXEMPT_ATTRIBUTE,
    CsrfMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from cabinet_web.templating import Templates, make_environment

SESSION_COOKIE = "cabinet_session"
SESSION_MAX_AGE = 14 * 24 * 3600


def create_app(cabinet: Cabinet) -> Starlette:
    """A web app serving ``cabinet``: pages, the JSON API under ``/api/v1`` and static files.

    Routes come from the ``register_routes`` hook (the built-in pages are a plugin too), so the
    cabinet's plugin manager gets the web hookspecs and the built-in web plugin if it was built
    without entry points (tests, embedders).
    """
    pm = cabinet.pm
    web_plugin.ensure_registered(pm)
    routes: list[BaseRoute] = []
    seen: set[tuple[str, frozenset[str]]] = set()

    def register(route: BaseRoute) -> None:
        path = getattr(route, "path", "")
        methods = frozenset(getattr(route, "methods", None) or ())
        if (path, methods) in seen:
            raise ValueError(f"route {path!r} is registered twice")
        seen.add((path, methods))
        routes.append(route)

    pm.hook.register_routes(register=register)
    routes.append(
        Mount("/static", StaticFiles(packages=[("cabinet_web", "static")]), name="static")
    )
    # Server-to-server endpoints (a CRM's events) say so on the endpoint; per app, not global.
    exempt_routes = [
        route
        for route in routes
        if getattr(getattr(route, "endpoint", None), CSRF_EXEMPT_ATTRIBUTE, False)
    ]
    exempt = frozenset(str(getattr(route, "path", "")) for route in exempt_routes)
    exempt_patterns = tuple(
        route.path_regex
        for route in exempt_routes
        if isinstance(route, Route) and "{" in route.path
    )
    settings = cabinet.settings
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
            Middleware(RequestContextMiddleware),
            Middleware(CsrfMiddleware, exempt_paths=exempt, exempt_patterns=exempt_patterns),
        ],
        exception_handlers={
            CabinetError: handle_cabinet_error,
            HTTPException: handle_http_exception,
            Exception: handle_server_error,
        },
    )
    app.state.cabinet = cabinet
    app.state.templates = Templates(make_environment(pm), pm)
    return app

"""The Starlette application factory: one app per :class:`~cabinet_core.app.Cabinet`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pluggy
from cabinet_core.app import Cabinet
from cabinet_core.errors import CabinetError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cabinet_web import blocking, kit
from cabinet_web import plugin as web_plugin
from cabinet_web.api._endpoint import ApiEndpoint, api_routes, plugin_endpoint
from cabinet_web.body_limit import BodyLimitMiddleware, route_limits
from cabinet_web.operations import OperationsMiddleware
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
#: A plugin's static folder name: a URL path segment.
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
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
    endpoints = plugin_api_endpoints(pm)
    for route in api_routes(endpoints):
        register(route)
    # Plugins' files first: the built-in mount at /static would otherwise take their paths.
    for name, directory in plugin_static_dirs(pm).items():
        routes.append(
            Mount(
                f"/static/plugins/{name}",
                StaticFiles(directory=directory),
                name=f"static-plugin-{name}",
            )
        )
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

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Blocking service calls run in at most web_threads threads, as many as the database
        # pool keeps connections for (anyio's default is 40: under load most of them queued
        # for a connection, and opening and closing connections and switching between the
        # threads cost more than half of the process's time). Starlette's own hops (a file
        # streamed, a form parsed) keep anyio's threads, limited the same.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        blocking.use_threads(settings.web_threads)
        yield

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[
            *_proxy_middleware(settings.trusted_proxies),
            Middleware(SecurityHeadersMiddleware),
            # Every request gets its id, its metrics and its access-log line, and the probes
            # are answered before sessions and users (docs/monitoring.md).
            Middleware(OperationsMiddleware),
            # Outside the session and the user lookup: an oversized body costs no query.
            Middleware(
                BodyLimitMiddleware, default=settings.max_body_bytes, routes=route_limits(routes)
            ),
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
    # The public web kit, for plugins that reach it through the app rather than by import.
    app.state.kit = kit
    from cabinet_web.api import v1

    app.state.api_endpoints = (*v1.ENDPOINTS, *endpoints)
    app.state.translation_dirs = tuple(
        str(directory) for dirs in pm.hook.translation_dirs() for directory in dirs or ()
    )
    app.state.templates = Templates(make_environment(pm), pm)
    return app


def plugin_api_endpoints(pm: pluggy.PluginManager) -> list[ApiEndpoint]:
    """The plugins' JSON API operations (hook ``api_endpoints``), under ``/api/v1``; an
    operation id the API already has is an error."""
    from cabinet_web.api import v1

    specs: list[dict[str, Any]] = []
    pm.hook.api_endpoints(register=lambda spec: specs.append(dict(spec)))
    endpoints = [plugin_endpoint(spec, v1.PREFIX) for spec in specs]
    taken = {item.operation_id for item in v1.ENDPOINTS}
    for item in endpoints:
        if item.operation_id in taken:
            raise ValueError(f"API operation {item.operation_id!r} is declared twice")
        taken.add(item.operation_id)
    return endpoints


def plugin_static_dirs(pm: pluggy.PluginManager) -> dict[str, str]:
    """The ``static_dirs`` of every plugin, checked: a URL-safe name, claimed once, an
    existing directory (a typo fails at start-up, not as 404s later)."""
    found: dict[str, str] = {}
    for dirs in pm.hook.static_dirs():
        for name, directory in (dirs or {}).items():
            if not _STATIC_NAME.fullmatch(name):
                raise ValueError(f"static_dirs: {name!r} is not a lower-case URL path segment")
            if name in found:
                raise ValueError(f"static_dirs: {name!r} is claimed by two plugins")
            if not Path(directory).is_dir():
                raise ValueError(f"static_dirs: {name!r} points at {directory}, not a directory")
            found[name] = str(directory)
    return found


def _proxy_middleware(trusted: tuple[str, ...]) -> list[Middleware]:
    """Believe ``X-Forwarded-For``/``-Proto`` from the trusted reverse proxies only, so the
    client's own address (sign-in throttling, the audit log) and scheme reach the app; without
    any, the headers are ignored and every request is the connecting peer's."""
    if not trusted:
        return []
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted))]

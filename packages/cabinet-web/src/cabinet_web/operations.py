"""What an operator's tools ask of the web process: liveness, readiness, metrics, and a request
id and an access-log line for every request (docs/monitoring.md).

:class:`OperationsMiddleware` comes first among the app's middlewares (only the security headers
wrap it). For every HTTP request it

* takes the caller's ``X-Request-ID`` (when it is a sane token) or makes one, keeps it in
  :data:`cabinet_core.logs.request_id` for every log line written while serving, and returns it
  as the response's ``X-Request-ID``;
* counts the request and times it by *route template* (``/documents/{document_id}``), so the
  metrics have one series per route and the access log never carries a link's token;
* answers three paths itself, before sessions, users and CSRF (so a probe touches no cookie and,
  for ``/healthz``, no database):

  - ``/healthz``: 200 while the process answers;
  - ``/readyz``: 200 when the database answers, the schema is at the code's head and a worker
    beat recently (:func:`cabinet_core.health.readiness`), else 503 with a JSON body naming each
    check that failed;
  - ``/metrics``: the Prometheus exposition, for the addresses in ``CABINET_METRICS_ALLOW`` or
    the bearer of ``CABINET_METRICS_TOKEN``; with neither set, for this machine only
    (loopback): counts of sign-in failures and queue depths are not for the public.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import time
import uuid
from typing import Any

from cabinet_core.app import Cabinet
from cabinet_core.health import readiness
from cabinet_core.logs import request_id
from cabinet_core.metrics import CONTENT_TYPE, exposition
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinet_web import blocking
from cabinet_web.problems import respond

__all__ = ["HEALTH_PATH", "METRICS_PATH", "READY_PATH", "OperationsMiddleware"]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
REQUEST_ID_HEADER = "x-request-id"
#: A caller's request id is kept only when it cannot smuggle anything into a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: The label of a request no route matched (so unknown paths do not make new series).
UNMATCHED = "unmatched"
_NO_STORE = {"Cache-Control": "no-store"}
#: ``{name:convertor}`` in a route's path: the label keeps the name only.
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")

access_log = logging.getLogger("cabinet_web.access")


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (``/documents/{document_id}``), a
    mount's prefix with ``/{path}``, or :data:`UNMATCHED`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return f"{path}/{{path}}"
    return _CONVERTOR.sub(r"{\1}", path) or "/"


def _client_allowed(host: str | None, networks: tuple[str, ...]) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if not networks:
        return address.is_loopback
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def metrics_allowed(request: Request, cabinet: Cabinet) -> bool:
    """Whether ``request`` may read the metrics (see the module's text)."""
    settings = cabinet.settings
    token = settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        if not settings.metrics_allow:
            return False
    host = request.client.host if request.client is not None else None
    return _client_allowed(host, settings.metrics_allow)


async def health(request: Request) -> Response:
    """Liveness: the process answers (nothing else is asked)."""
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


async def ready(request: Request, cabinet: Cabinet) -> Response:
    """Readiness: 200 when every check passes, else 503 naming what is wrong."""
    checks = await blocking.run_blocking(readiness, cabinet)
    failing = [check for check in checks if not check.ok]
    body: dict[str, Any] = {
        "status": "ready" if not failing else "unavailable",
        "checks": {
            check.name: {"ok": check.ok, **({"detail": check.detail} if check.detail else {})}
            for check in checks
        },
    }
    if failing:
        body["problems"] = [f"{check.name}: {check.detail}" for check in failing]
    return JSONResponse(body, status_code=200 if not failing else 503, headers=_NO_STORE)


async def metrics(request: Request, cabinet: Cabinet) -> Response:
    """The Prometheus exposition, or 403 for a caller the settings do not allow."""
    if not metrics_allowed(request, cabinet):
        return Response(
            json.dumps({"status": 403, "title": "metrics are not open to this address"}),
            status_code=403,
            media_type="application/problem+json",
            headers=_NO_STORE,
        )
    body = await blocking.run_blocking(exposition, cabinet.metrics, cabinet.store)
    return Response(body, media_type=CONTENT_TYPE, headers=_NO_STORE)


class OperationsMiddleware:
    """Request ids, metrics and the access log for every request; ``/healthz``, ``/readyz``
    and ``/metrics`` answered here (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.headers.get(REQUEST_ID_HEADER, "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        cabinet: Cabinet = scope["app"].state.cabinet
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = int(message["status"])
                responded = True
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        path = scope["path"]
        failed = False
        try:
            if path == HEALTH_PATH:
                response = await health(request)
            elif path == READY_PATH:
                response = await ready(request, cabinet)
            elif path == METRICS_PATH:
                response = await metrics(request, cabinet)
            else:
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception:
                    failed = True
                    if not responded:
                        # The error page is sent from here rather than by Starlette's
                        # outermost handler, so it carries the request id the user may quote.
                        # Re-raised, as Starlette does: its handler then logs the error once,
                        # with the traceback and (still set) the request id.
                        await respond(request, 500)(scope, receive, send_with_id)
                    raise
                return
            await response(scope, receive, send_with_id)
        finally:
            route = path if path in (HEALTH_PATH, READY_PATH, METRICS_PATH) else None
            self._record(cabinet, scope, route or route_template(scope), status, started)
            if not failed:
                # Left set on an error: the handlers outside log it with this id. The request's
                # task ends there, so the value goes no further.
                request_id.reset(token)

    @staticmethod
    def _record(cabinet: Cabinet, scope: Scope, route: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        method = str(scope.get("method", ""))
        metrics_ = cabinet.metrics
        metrics_.http_requests.labels(method=method, route=route, status=str(status)).inc()
        metrics_.http_latency.labels(method=method, route=route).observe(elapsed)
        # Probes come every few seconds: their lines would bury everything else.
        level = logging.DEBUG if route in (HEALTH_PATH, READY_PATH, METRICS_PATH) else logging.INFO
        access_log.log(level, "%s %s %d %.0f ms", method, route, status, elapsed * 1000)

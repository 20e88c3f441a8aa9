"""``POST /hooks/{backend}``: calls a CRM makes to the cabinet, handed to that backend's
:class:`~cabinet_core.sync.InboundHandler`.

One generic route serves every inbound-capable backend, so a CRM plugin mounts no routes of its
own and never sees Starlette. The shell does what every backend would otherwise repeat:

* only an *active* backend (``CABINET_CRM_BACKENDS``) that declares
  :class:`~cabinet_core.sync.InboundCapable` is reachable; anything else is a 404 problem;
* a body larger than the handler's ``max_body_bytes`` is refused with 413 before it is held in
  memory: a declared ``Content-Length`` is checked first and the stream is counted as it
  arrives, so a chunked upload without a length is cut off at the limit too;
* the handler runs in the threadpool (the core is synchronous) with the backend's
  :class:`~cabinet_core.sync.SyncPort`, and ``reply.after`` runs once the answer is sent;
* a handler that fails answers with a problem document, never a bare 500: a CRM retries a 503.

The route is exempt from CSRF by its endpoint: a CRM's server carries no session token, and
each handler proves the caller its own way (a signature, an application token).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cabinet_core.errors import N_, CabinetError
from cabinet_core.sync import InboundCapable, InboundHandler, InboundReply, InboundRequest
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web import blocking
from cabinet_web.problems import problem

log = logging.getLogger("cabinet_web.inbound")

HOOK_PATH = "/hooks/{backend}"
HOOK_SUBPATH = "/hooks/{backend}/{path:path}"
#: How long a CRM should wait before retrying a call its handler could not process.
RETRY_AFTER_SECONDS = 60


class BodyTooLarge(Exception):
    """The request body passed the handler's limit while it was being read."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; :class:`BodyTooLarge` as soon as it is more.

    The chunks are counted as they arrive, so an oversized body is never held whole.
    """
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise BodyTooLarge()
        body += chunk
    return bytes(body)


def declared_length(request: Request) -> int | None:
    """The ``Content-Length`` the caller declared, ``None`` without one; :class:`ValueError`
    for a value that is not a length."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    length = int(value)
    if length < 0:
        raise ValueError(value)
    return length


def _handler(request: Request, name: str) -> InboundHandler | None:
    cabinet = request.app.state.cabinet
    if name not in cabinet.settings.crm_backends:
        return None
    backend = cabinet.crm_backend(name)
    if not isinstance(backend, InboundCapable):
        return None
    return backend.inbound


def _run_after(backend: str, after: Callable[[], object]) -> None:
    # The answer is already sent: a failure here can only be logged (the CRM saw its 2xx).
    try:
        after()
    except Exception:
        log.exception("%s: the work after an inbound call failed", backend)


def _reply(backend: str, reply: InboundReply) -> Response:
    task = BackgroundTask(_run_after, backend, reply.after) if reply.after is not None else None
    return Response(
        reply.body, status_code=reply.status, media_type=reply.content_type, background=task
    )


async def inbound_hook(request: Request) -> Response:
    """Route a CRM's call to the named backend's inbound handler (see the module docstring)."""
    name = str(request.path_params["backend"])
    handler = await blocking.run_blocking(_handler, request, name)
    if handler is None:
        return problem(
            request,
            404,
            detail=N_("No backend named %(backend)s receives calls here."),
            params={"backend": name},
        )
    limit = int(handler.max_body_bytes)
    too_large = {"limit": limit}
    try:
        length = declared_length(request)
    except ValueError:
        return problem(request, 400, detail=N_("The Content-Length header is not a length."))
    if length is not None and length > limit:
        return problem(
            request, 413, detail=N_("The body may have at most %(limit)s bytes."), params=too_large
        )
    try:
        body = await read_limited(request, limit)
    except BodyTooLarge:
        return problem(
            request, 413, detail=N_("The body may have at most %(limit)s bytes."), params=too_large
        )
    call = InboundRequest(
        method=request.method,
        path=str(request.path_params.get("path", "")),
        headers={key: ", ".join(request.headers.getlist(key)) for key in request.headers},
        query=dict(request.query_params),
        body=body,
        remote_addr=request.client.host if request.client else None,
    )
    cabinet = request.app.state.cabinet
    try:
        port = await blocking.run_blocking(cabinet.sync_port, name)
        reply = await blocking.run_blocking(handler.handle, port, call)
    except CabinetError as exc:
        return problem(request, exc.status, title=exc.title, params=exc.params)
    except ValueError as exc:
        log.warning("%s: an inbound call was refused: %s", name, exc)
        return problem(request, 422, detail=N_("The call names a change the cabinet cannot make."))
    except Exception:
        log.exception("%s: the inbound handler failed", name)
        return problem(
            request,
            503,
            detail=N_("The call could not be processed now; please retry later."),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return _reply(name, reply)


def _body_limit(request: Request) -> int:
    """The named backend's own limit for the body-limit middleware (the default for a name
    that receives nothing: the route answers 404 without reading the body)."""
    handler = _handler(request, str(request.path_params["backend"]))
    if handler is None:
        return int(request.app.state.cabinet.settings.max_body_bytes)
    return int(handler.max_body_bytes)


# A CRM's server posts here; it carries no session, and the handler authenticates the call.
inbound_hook.csrf_exempt = True  # type: ignore[attr-defined]
# The body-limit middleware cuts the stream at the handler's limit, before the route runs.
inbound_hook.max_body_bytes = _body_limit  # type: ignore[attr-defined]

ROUTES: list[Route] = [
    Route(HOOK_PATH, inbound_hook, methods=["POST"], name="inbound_hook"),
    Route(HOOK_SUBPATH, inbound_hook, methods=["POST"], name="inbound_hook_path"),
]

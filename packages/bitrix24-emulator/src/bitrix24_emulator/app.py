"""The emulator over HTTP: a Starlette app around :class:`~.core.Emulator`.

``/rest/…`` and ``/oauth/…`` are the portal; ``/_emulator/…`` is the control API for tests and
demos (faults, staff actions such as ``act`` and ``operator-reply``, tokens, the virtual clock,
what was delivered). Events are
delivered after the answer is sent, as Bitrix24 sends them from a queue.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitrix24_emulator.clock import VirtualClock
from bitrix24_emulator.core import TransportFault

if TYPE_CHECKING:
    from bitrix24_emulator.core import Emulator

_HTML_DOWN = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def _session_of(emulator: Emulator, chat: str, connector: object, line: object) -> tuple[str, str]:
    """The connector and line of the one open Open Lines session of ``chat`` (narrowed by
    ``connector`` and ``line`` when given), so a caller need not know the app's connector id."""
    found = {
        (session_connector, session_line)
        for session_connector, session_line, session_chat in list(emulator.portal.sessions)
        if session_chat == chat
        and (connector is None or session_connector == str(connector).lower())
        and (line is None or session_line == str(line))
    }
    if len(found) != 1:
        raise ValueError(
            f"{len(found)} Open Lines sessions match chat {chat!r}: name its connector and line"
        )
    return found.pop()


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI application serving ``emulator`` (one emulator per app)."""

    async def portal(request: Request) -> Response:
        body = await request.body()
        try:
            reply = await run_in_threadpool(
                emulator.handle,
                request.method,
                request.url.path,
                request.url.query,
                dict(request.headers),
                body,
            )
        except TransportFault as fault:
            # A socket cannot be refused once accepted; a proxy's 502 page is the nearest.
            if fault.kind == "timeout":
                await run_in_threadpool(emulator.clock.sleep, fault.seconds)
                return Response(b"", status_code=504, media_type="text/html")
            return Response(_HTML_DOWN, status_code=502, media_type="text/html")
        return Response(
            reply.body,
            status_code=reply.status,
            headers=dict(reply.headers),
            background=BackgroundTask(emulator.deliver_events),
        )

    async def control_faults(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.clear_faults()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            spec = await request.json()
            try:
                emulator.inject(
                    str(spec.get("kind", "")),
                    spec.get("count"),
                    methods=spec.get("methods"),
                    seconds=float(spec.get("seconds", 0)),
                    location=str(spec.get("location", "")),
                )
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": [_fault(f) for f in emulator.faults]})

    async def control_state(request: Request) -> Response:
        portal_state = emulator.portal
        return JSONResponse(
            {
                "webhook_url": emulator.webhook_url,
                "client_id": emulator.app.client_id,
                "items": {str(t): sorted(items) for t, items in portal_state.items.items()},
                "bucket_level": emulator.bucket.level,
                "faults": [_fault(f) for f in emulator.faults],
                "bindings": [attrs.asdict(b) for b in portal_state.bindings],
                "deliveries": [
                    {"url": d.url, "event": d.event, "status": d.status, "error": d.error}
                    for d in portal_state.deliveries
                ],
            }
        )

    async def control_act(request: Request) -> Response:
        spec = await request.json()
        result = await run_in_threadpool(
            emulator.act,
            str(spec["method"]),
            spec.get("params") or {},
            user_id=int(spec.get("user_id", 1)),
        )
        return Response(
            json.dumps({"result": result}),
            media_type="application/json",
            background=BackgroundTask(emulator.deliver_events),
        )

    async def control_operator_reply(request: Request) -> Response:
        # A manager answering a client in Open Lines (the contact centre's chat window).
        try:
            spec = await request.json()
            connector, line = _session_of(
                emulator, str(spec["chat"]), spec.get("connector"), spec.get("line")
            )
            message_id = await run_in_threadpool(
                emulator.operator_reply,
                connector,
                line,
                str(spec["chat"]),
                str(spec["text"]),
                user_id=int(spec.get("user_id", 2)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse(
            {"result": message_id}, background=BackgroundTask(emulator.deliver_events)
        )

    async def control_install(request: Request) -> Response:
        return JSONResponse(emulator.install_app(int(request.query_params.get("user_id", 1))))

    async def control_expire(request: Request) -> Response:
        emulator.expire_tokens()
        return JSONResponse({"expired": True})

    async def control_clock(request: Request) -> Response:
        if not isinstance(emulator.clock, VirtualClock):
            return JSONResponse({"error": "the emulator runs on the system clock"}, status_code=409)
        spec: dict[str, Any] = await request.json()
        emulator.clock.advance(float(spec.get("seconds", 0)))
        return JSONResponse({"now": emulator.clock.now()})

    routes = [
        Route("/_emulator/faults", control_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/state", control_state, methods=["GET"]),
        Route("/_emulator/act", control_act, methods=["POST"]),
        Route("/_emulator/install", control_install, methods=["POST"]),
        Route("/_emulator/operator-reply", control_operator_reply, methods=["POST"]),
        Route("/_emulator/expire-tokens", control_expire, methods=["POST"]),
        Route("/_emulator/clock", control_clock, methods=["POST"]),
        Route("/{path:path}", portal, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app


def _fault(fault: Any) -> dict[str, Any]:
    return {
        "kind": fault.kind,
        "count": fault.count,
        "methods": sorted(fault.methods) if fault.methods else None,
        "seconds": fault.seconds,
        "location": fault.location,
    }

"""The emulator over HTTP: a Starlette app around :class:`~.core.Emulator`.

``/rest/…`` and ``/oauth/…`` are the portal; ``/_emulator/…`` is the control API for tests and
demos (faults, staff actions such as ``act`` and ``operator-reply``, tokens, the virtual clock,
what was delivered). Events are
delivered after the answer is sent, as Bitrix24 sends them from a queue.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitrix24_emulator.clock import Clock, SystemClock, VirtualClock
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
        # Answered on the event loop: the emulator's locks are held only briefly, and the
        # simulated server time is waited without holding a thread, so many requests can be
        # in flight at once (a thread per request would cap them at the pool's size).
        try:
            reply, seconds, dropped = emulator.respond(
                request.method,
                request.url.path,
                request.url.query,
                dict(request.headers),
                body,
            )
        except TransportFault as fault:
            # A socket cannot be refused once accepted; a proxy's 502 page is the nearest.
            if fault.kind == "timeout":
                await _pass(emulator.clock, fault.seconds)
                return Response(b"", status_code=504, media_type="text/html")
            return Response(_HTML_DOWN, status_code=502, media_type="text/html")
        await _pass(emulator.clock, seconds)
        if dropped:
            # The work is done (its events go out), then the connection breaks mid-answer.
            await run_in_threadpool(emulator.deliver_events)
            return _DroppedAnswer()
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
            try:
                spec = await request.json()
                if spec.get("profile"):
                    emulator.apply_profile(str(spec["profile"]))
                else:
                    emulator.inject(
                        str(spec.get("kind", "")),
                        spec.get("count"),
                        methods=spec.get("methods"),
                        seconds=float(spec.get("seconds", 0)),
                        location=str(spec.get("location", "")),
                        every=int(spec["every"]) if spec.get("every") else None,
                        writes=bool(spec.get("writes", False)),
                    )
            except (ValueError, TypeError, AttributeError) as exc:
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

    async def _spec(request: Request) -> dict[str, Any]:
        body = await request.body()
        spec = json.loads(body) if body.strip() else {}
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        return spec

    async def control_install(request: Request) -> Response:
        # The app is added: its tokens, posted to the install callback and as ONAPPINSTALL
        # when those addresses are given.
        try:
            spec = await _spec(request)
            tokens = await run_in_threadpool(
                functools.partial(
                    emulator.install_app,
                    int(spec.get("user_id", request.query_params.get("user_id", 1))),
                    handler=spec.get("handler"),
                    callback=spec.get("callback"),
                )
            )
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse(tokens, background=BackgroundTask(emulator.deliver_events))

    async def control_uninstall(request: Request) -> Response:
        try:
            spec = await _spec(request)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        await run_in_threadpool(
            functools.partial(
                emulator.uninstall_app, spec.get("handler"), clean=bool(spec.get("clean", True))
            )
        )
        return JSONResponse(
            {"uninstalled": True}, background=BackgroundTask(emulator.deliver_events)
        )

    async def control_outgoing_webhook(request: Request) -> Response:
        try:
            spec = await _spec(request)
            token = emulator.add_outgoing_webhook(str(spec["event"]), str(spec["handler"]))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse({"application_token": token})

    async def control_placement(request: Request) -> Response:
        # A user opens the app in a placement: the portal posts the placement form to it.
        try:
            spec = await _spec(request)
            delivery = await run_in_threadpool(
                functools.partial(
                    emulator.open_placement,
                    str(spec["placement"]),
                    spec.get("options") or {},
                    user_id=int(spec.get("user_id", 1)),
                    handler=spec.get("handler"),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse(
            {"url": delivery.url, "status": delivery.status, "error": delivery.error}
        )

    async def control_expire(request: Request) -> Response:
        emulator.expire_tokens()
        return JSONResponse({"expired": True})

    async def control_operating(request: Request) -> Response:
        # Another process of the same app (or webhook) using a method's time budget.
        try:
            spec = await _spec(request)
            used = emulator.spend_operating(
                str(spec["method"]),
                float(spec["seconds"]),
                credential=str(spec.get("credential", "app")),
                user_id=int(spec.get("user_id", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return JSONResponse({"operating": used})

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
        Route("/_emulator/uninstall", control_uninstall, methods=["POST"]),
        Route("/_emulator/outgoing-webhook", control_outgoing_webhook, methods=["POST"]),
        Route("/_emulator/placement", control_placement, methods=["POST"]),
        Route("/_emulator/operating", control_operating, methods=["POST"]),
        Route("/_emulator/operator-reply", control_operator_reply, methods=["POST"]),
        Route("/_emulator/expire-tokens", control_expire, methods=["POST"]),
        Route("/_emulator/clock", control_clock, methods=["POST"]),
        Route("/{path:path}", portal, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app


async def _pass(clock: Clock, seconds: float) -> None:
    """Let ``seconds`` of simulated server time pass: asleep on the event loop for real
    time, at once on a virtual clock; any other clock (a test's subclass that watches the
    sleeps, say) sleeps its own way in a worker thread."""
    if seconds <= 0:
        return
    if type(clock) is SystemClock:
        await anyio.sleep(seconds)
    elif type(clock) is VirtualClock:
        clock.sleep(seconds)
    else:
        await run_in_threadpool(clock.sleep, seconds)


def _fault(fault: Any) -> dict[str, Any]:
    return {
        "kind": fault.kind,
        "count": fault.count,
        "methods": sorted(fault.methods) if fault.methods else None,
        "seconds": fault.seconds,
        "location": fault.location,
        "every": fault.every,
        "writes": fault.writes,
    }


class _DroppedAnswer(Response):
    """An answer that breaks off: the head promises a body that never fully comes, and the
    server closes the connection (the client sees a protocol error, not a status)."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", b"4096"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"result":', "more_body": True})

"""The emulator over HTTP: a Starlette app around :class:`~ksef_emulator.core.Emulator`.

``/v2/…`` is the KSeF API; ``/storage/…`` the pre-signed links (UPO, export parts, no
bearer); ``/status`` and ``/messages`` the Latarnia status service; ``/_emulator/…`` the
control API for tests and demos (faults, the virtual clock, seeding). Every ``/v2`` call
passes the faults (down, slow) and the rate limits first.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ksef_emulator.clock import VirtualClock, iso
from ksef_emulator.core import Emulator, Reply
from ksef_emulator.errors import KsefError, ProblemError, RateLimited, validation

__all__ = ["API_PREFIX", "Call", "Endpoint", "create_app", "endpoints", "respond"]

API_PREFIX = "/v2"
_TEN_YEARS = 10 * 366 * 86400


@attrs.frozen
class Call:
    """One request as the emulator's methods need it."""

    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_ip: str

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header."""
        return self.headers.get("authorization")

    def json(self) -> dict[str, Any]:
        """The JSON body (``{}`` when empty); a malformed one is 21405."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as error:
            raise validation(f"Nieprawidłowy JSON: {error}") from error
        if not isinstance(value, dict):
            raise validation("Oczekiwano obiektu JSON.")
        return value

    def int_query(self, name: str, default: int) -> int:
        """An integer query parameter (21405 when not a number)."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError as error:
            raise validation(f"'{name}' musi być liczbą całkowitą.") from error


Handler = Callable[[Emulator, Call], Reply]


def _json_response(
    status: int,
    body: Any,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


def _render(reply: Reply) -> Response:
    headers = dict(reply.headers)
    if reply.body is None:
        return Response(status_code=reply.status, headers=headers)
    if isinstance(reply.body, bytes):
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers
        )
    return _json_response(reply.status, reply.body, reply.media_type, headers)


def _endpoint(
    emulator: Emulator, group: str, handler: Handler, prefix: str = API_PREFIX
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        call = Call(
            path=request.url.path,
            params={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            client_ip=request.client.host if request.client else "127.0.0.1",
        )
        return await run_in_threadpool(_handle, emulator, group, handler, call)

    return endpoint


def respond(emulator: Emulator, group: str, handler: Handler, call: Call) -> Response:
    """The HTTP answer to ``call``: faults and rate limits first, then ``handler``, its
    errors in KSeF's envelopes."""
    return _handle(emulator, group, handler, call)


def _handle(emulator: Emulator, group: str, handler: Handler, call: Call) -> Response:
    problems = call.headers.get("x-error-format", "").lower() == "problem-details"
    now = iso(emulator.clock.now()) or ""
    extra: dict[str, str] = {}
    if warning := call.headers.get("x-test-system-warning"):
        extra["X-System-Warning"] = warning
    try:
        if emulator.faults.slow_seconds:
            emulator.clock.sleep(emulator.faults.slow_seconds)
        if emulator.faults.down and group not in ("control", "latarnia"):
            raise emulator.unavailable()
        if group not in ("control", "storage", "latarnia"):
            with emulator.lock:
                emulator.check_ip(call.authorization, call.client_ip)
                context = "-" if group == "auth" else emulator.context_of(call.authorization)
                refused = emulator.limiter.check(
                    group, context, call.client_ip, emulator.clock.now()
                )
            if refused is not None:
                raise RateLimited(*refused)
        reply = handler(emulator, call)
    except KsefError as error:
        if problems:
            return _json_response(
                400, error.problem(now, call.path), "application/problem+json", extra
            )
        return _json_response(400, error.legacy(now), headers=extra)
    except ProblemError as error:
        return _json_response(
            error.status,
            error.body(now, call.path),
            "application/problem+json",
            {**error.headers, **extra},
        )
    except RateLimited as error:
        headers = {"Retry-After": str(error.retry_after), **extra}
        if problems:
            return _json_response(
                429, error.problem(now, call.path), "application/problem+json", headers
            )
        return _json_response(429, error.legacy(), headers=headers)
    response = _render(reply)
    response.headers.update(extra)
    return response


# ---------------------------------------------------------------------- KSeF API handlers


@attrs.frozen
class Endpoint:
    """One route: ``group`` names its rate-limit counter (``control``, ``storage`` and
    ``latarnia`` are not limited; only ``control`` and ``latarnia`` work while down)."""

    path: str
    method: str
    group: str
    handler: Handler


def _v2_routes() -> list[Endpoint]:
    def r(path: str, method: str, group: str, handler: Handler) -> Endpoint:
        return Endpoint(f"{API_PREFIX}{path}", method, group, handler)

    return [
        r(
            "/security/public-key-certificates",
            "GET",
            "auth",
            lambda e, c: e.public_key_certificates(),
        ),
        r("/auth/challenge", "POST", "auth", lambda e, c: e.challenge(c.client_ip)),
        r("/auth/ksef-token", "POST", "auth", lambda e, c: e.auth_ksef_token(c.json())),
        r("/auth/xades-signature", "POST", "auth", lambda e, c: e.auth_xades(c.body)),
        r("/auth/token/redeem", "POST", "auth", lambda e, c: e.redeem(c.authorization)),
        r("/auth/token/refresh", "POST", "auth", lambda e, c: e.refresh(c.authorization)),
        r("/auth/sessions/current", "DELETE", "other", lambda e, c: e.logout(c.authorization)),
        r(
            "/auth/{reference}",
            "GET",
            "auth",
            lambda e, c: e.auth_status(c.authorization, c.params["reference"]),
        ),
        r("/tokens", "POST", "other", lambda e, c: e.create_token(c.authorization, c.json())),
        r("/tokens", "GET", "other", lambda e, c: e.list_tokens(c.authorization)),
        r(
            "/tokens/{reference}",
            "GET",
            "other",
            lambda e, c: e.token_status(c.authorization, c.params["reference"]),
        ),
        r(
            "/tokens/{reference}",
            "DELETE",
            "other",
            lambda e, c: e.delete_token(c.authorization, c.params["reference"]),
        ),
        r(
            "/sessions/online",
            "POST",
            "onlineSession",
            lambda e, c: e.open_session(c.authorization, c.json()),
        ),
        r(
            "/sessions/online/{reference}/invoices",
            "POST",
            "invoiceSend",
            lambda e, c: e.send_invoice(c.authorization, c.params["reference"], c.json()),
        ),
        r(
            "/sessions/online/{reference}/close",
            "POST",
            "onlineSession",
            lambda e, c: e.close_session(c.authorization, c.params["reference"]),
        ),
        r(
            "/sessions/{reference}",
            "GET",
            "sessionMisc",
            lambda e, c: e.session_status(c.authorization, c.params["reference"]),
        ),
        r(
            "/sessions/{reference}/invoices",
            "GET",
            "sessionInvoiceList",
            lambda e, c: e.session_invoices(
                c.authorization,
                c.params["reference"],
                c.headers.get("x-continuation-token"),
                c.int_query("pageSize", 10),
            ),
        ),
        r(
            "/sessions/{reference}/invoices/failed",
            "GET",
            "sessionInvoiceList",
            lambda e, c: e.session_invoices(
                c.authorization,
                c.params["reference"],
                c.headers.get("x-continuation-token"),
                c.int_query("pageSize", 10),
                failed_only=True,
            ),
        ),
        r(
            "/sessions/{reference}/invoices/ksef/{ksef_number}/upo",
            "GET",
            "sessionMisc",
            lambda e, c: e.invoice_upo(
                c.authorization, c.params["reference"], ksef_number_=c.params["ksef_number"]
            ),
        ),
        r(
            "/sessions/{reference}/invoices/{invoice}/upo",
            "GET",
            "sessionMisc",
            lambda e, c: e.invoice_upo(
                c.authorization, c.params["reference"], invoice_reference=c.params["invoice"]
            ),
        ),
        r(
            "/sessions/{reference}/invoices/{invoice}",
            "GET",
            "invoiceStatus",
            lambda e, c: e.invoice_status(
                c.authorization, c.params["reference"], c.params["invoice"]
            ),
        ),
        r(
            "/sessions/{reference}/upo/{upo}",
            "GET",
            "sessionMisc",
            lambda e, c: e.session_upo(c.authorization, c.params["reference"], c.params["upo"]),
        ),
        r(
            "/invoices/query/metadata",
            "POST",
            "invoiceMetadata",
            lambda e, c: e.query_metadata(
                c.authorization,
                c.json(),
                c.int_query("pageOffset", 0),
                c.int_query("pageSize", 10),
                c.query.get("sortOrder", "Asc"),
            ),
        ),
        r(
            "/invoices/ksef/{ksef_number}",
            "GET",
            "invoiceDownload",
            lambda e, c: e.download_invoice(c.authorization, c.params["ksef_number"]),
        ),
        r(
            "/invoices/exports",
            "POST",
            "invoiceExport",
            lambda e, c: e.start_export(c.authorization, c.json()),
        ),
        r(
            "/invoices/exports/{reference}",
            "GET",
            "invoiceExportStatus",
            lambda e, c: e.export_status(c.authorization, c.params["reference"]),
        ),
        r("/rate-limits", "GET", "other", lambda e, c: e.rate_limits()),
        r("/testdata/rate-limits", "POST", "other", lambda e, c: e.set_rate_limits(c.json())),
        r("/testdata/rate-limits", "DELETE", "other", lambda e, c: _reset_limits(e)),
        *(
            r(f"/testdata/{what}", "POST", "other", _testdata(what))
            for what in (
                "subject",
                "person",
                "permissions",
                "permissions/revoke",
                "context/block",
                "context/unblock",
            )
        ),
    ]


def _testdata(what: str) -> Handler:
    def handler(emulator: Emulator, call: Call) -> Reply:
        return emulator.testdata(what, call.json())

    return handler


def _reset_limits(emulator: Emulator) -> Reply:
    emulator.limiter.reset()
    return Reply(200)


# ---------------------------------------------------------------------- control API


def _control_routes() -> list[Endpoint]:
    def c(path: str, method: str, handler: Handler) -> Endpoint:
        return Endpoint(f"/_emulator{path}", method, "control", handler)

    def faults(e: Emulator, call: Call) -> Reply:
        if call.body.strip():
            spec = call.json()
            slow = spec.get("slowSeconds")
            if (
                not isinstance(spec.get("down"), bool | None)
                or isinstance(slow, bool)
                or not isinstance(slow, int | float | None)
                or (slow is not None and not 0 <= slow <= 3600)
                or not isinstance(spec.get("rejectInvoices", False), bool | str | None)
            ):
                raise validation(
                    "Oczekiwano {down: bool, slowSeconds: 0-3600, rejectInvoices: bool|tekst}."
                )
            e.set_faults(
                down=spec.get("down"),
                slow_seconds=spec.get("slowSeconds"),
                reject_invoices=spec.get("rejectInvoices", False),
            )
        return Reply(200, attrs.asdict(e.faults))

    def clear(e: Emulator, call: Call) -> Reply:
        e.clear_faults()
        return Reply(200, attrs.asdict(e.faults))

    def clock(e: Emulator, call: Call) -> Reply:
        spec = call.json()
        if not isinstance(e.clock, VirtualClock):
            raise validation("Zegar emulatora nie jest wirtualny (--virtual-clock).")
        advance = spec.get("advanceSeconds", 0)
        if isinstance(advance, bool) or not isinstance(advance, int | float):
            raise validation("'advanceSeconds' musi być liczbą.")
        if not 0 <= advance <= _TEN_YEARS:
            raise validation("'advanceSeconds' musi być z zakresu 0 do 10 lat.")
        moment = None
        if "set" in spec:
            try:
                moment = datetime.fromisoformat(str(spec["set"]))
            except ValueError as error:
                raise validation(f"Nieprawidłowy czas: {error}") from error
            if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
                raise validation("'set' musi być datą z przesunięciem, w latach 2000-2100.")
        e.clock.advance(float(advance))
        if moment is not None:
            e.clock.set(moment)
        return Reply(200, {"now": iso(e.clock.now())})

    def token(e: Emulator, call: Call) -> Reply:
        spec = call.json()
        nip = str(spec.get("nip") or "")
        permissions = spec.get("permissions") or ["InvoiceRead", "InvoiceWrite"]
        if not isinstance(permissions, list):
            raise validation("'permissions' musi być listą.")
        try:
            e.add_subject(nip)
        except ValueError as error:
            raise validation(str(error)) from error
        return Reply(201, {"token": e.add_token(nip, [str(p) for p in permissions])})

    def invoice(e: Emulator, call: Call) -> Reply:
        try:
            number = e.put_invoice(call.body, offline=call.query.get("offline") == "true")
        except ValueError as error:
            raise validation(str(error)) from error
        return Reply(201, {"ksefNumber": number})

    def expire(e: Emulator, call: Call) -> Reply:
        refresh = bool(call.json().get("refresh"))
        return Reply(200, {"expired": e.expire_tokens(refresh=refresh)})

    def announce(e: Emulator, call: Call) -> Reply:
        spec = call.json()
        try:
            message = e.announce(
                str(spec.get("status", "FAILURE")),
                title=str(spec.get("title", "Awaria KSeF")),
                text=str(spec.get("text", "")),
            )
        except ValueError as error:
            raise validation(str(error)) from error
        return Reply(200, message)

    def state(e: Emulator, call: Call) -> Reply:
        with e.lock:
            s = e.state
            return Reply(
                200,
                {
                    "now": iso(e.clock.now()),
                    "subjects": s.subjects,
                    "grants": [attrs.asdict(g, value_serializer=_sets) for g in s.grants],
                    "tokens": [e._token_info(t) for t in s.tokens.values()],
                    "sessions": len(s.sessions),
                    "invoices": [
                        {
                            "referenceNumber": i.reference,
                            "sessionReferenceNumber": i.session_reference,
                            "code": i.code,
                            "ksefNumber": i.ksef_number,
                            "details": i.details,
                        }
                        for i in s.invoices.values()
                    ],
                    "faults": attrs.asdict(e.faults),
                },
            )

    return [
        c("/faults", "GET", faults),
        c("/faults", "POST", faults),
        c("/faults", "DELETE", clear),
        c("/clock", "POST", clock),
        c("/tokens", "POST", token),
        c("/invoices", "POST", invoice),
        c("/expire-tokens", "POST", expire),
        c("/announce", "POST", announce),
        c("/state", "GET", state),
    ]


def _sets(instance: Any, field: Any, value: Any) -> Any:
    return sorted(value) if isinstance(value, set) else value


def endpoints() -> list[Endpoint]:
    """Every route the emulator serves."""

    def storage(e: Emulator, call: Call) -> Reply:
        return e.storage(call.path, call.query.get("se"), call.query.get("sig"))

    return [
        *_v2_routes(),
        Endpoint("/storage/{path:path}", "GET", "storage", storage),
        Endpoint("/status", "GET", "latarnia", lambda e, c: Reply(200, e.latarnia_status())),
        Endpoint("/messages", "GET", "latarnia", lambda e, c: Reply(200, e.faults.messages)),
        *_control_routes(),
    ]


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI application serving ``emulator`` (one emulator per app)."""
    routes: list[BaseRoute] = [
        Route(e.path, _endpoint(emulator, e.group, e.handler), methods=[e.method])
        for e in endpoints()
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app

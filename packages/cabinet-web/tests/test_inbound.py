"""``POST /hooks/{backend}``: the generic inbound route hands a CRM's call to its backend.

A fake inbound backend records what it gets; the port is a small fake too (the route only passes
it on). Oversized bodies are sent through ``httpx.ASGITransport`` as streams that fail the test
if the app reads past the limit, so "refused before it is read" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.errors import NotFound
from cabinet_core.hookspecs import Register, hookimpl
from cabinet_core.sync import InboundReply, InboundRequest, SyncPort
from cabinet_web.app import create_app
from starlette.testclient import TestClient
from web_support import make_settings

LIMIT = 4096


class FakePort:
    """Stands in for the cabinet's port: the route only hands it to the handler."""

    def __init__(self, backend: str) -> None:
        self.backend = backend


class RecordingHandler:
    """Answers every call with what it received; ``fail`` makes it raise instead."""

    max_body_bytes = LIMIT

    def __init__(self) -> None:
        self.calls: list[tuple[FakePort, InboundRequest]] = []
        self.after_ran = threading.Event()
        self.fail: Exception | None = None

    def handle(self, port: SyncPort, request: InboundRequest) -> InboundReply:
        assert isinstance(port, FakePort)
        self.calls.append((port, request))
        if self.fail is not None:
            raise self.fail
        return InboundReply.json(
            {"path": request.path, "size": len(request.body)}, 202, after=self.after_ran.set
        )


class InboundBackend:
    """A CRM backend that receives calls."""

    name = "fake"

    def __init__(self) -> None:
        self.handler = RecordingHandler()

    @property
    def inbound(self) -> RecordingHandler:
        return self.handler

    def deliver(self, port: SyncPort, message: object) -> None:
        """Accept everything (this test is about the inbound side)."""


class OutboundOnlyBackend:
    """A CRM backend without an inbound side."""

    name = "silent"

    def deliver(self, port: SyncPort, message: object) -> None:
        """Accept everything."""


class FakeBackends:
    @hookimpl
    def register_crm_backends(self, register: Register) -> None:
        register("fake", lambda cabinet: InboundBackend())
        register("silent", lambda cabinet: OutboundOnlyBackend())
        register("dormant", lambda cabinet: InboundBackend())


class PortedCabinet(Cabinet):
    """A cabinet whose ports are fakes, so the route is tested apart from the port's code."""

    def sync_port(self, name: str) -> FakePort:  # type: ignore[override]
        return FakePort(name)


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[PortedCabinet]:
    settings = make_settings(tmp_path, crm_backends=("fake", "silent"))
    with PortedCabinet(settings, load_entrypoints=False, plugins=[FakeBackends()]) as cabinet:
        cabinet.migrate()
        yield cabinet


@pytest.fixture
def handler(hooked: PortedCabinet) -> RecordingHandler:
    backend = hooked.crm_backend("fake")
    assert isinstance(backend, InboundBackend)
    return backend.handler


def test_a_call_reaches_the_backends_handler_with_its_port_and_after_runs_once_answered(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    with TestClient(create_app(hooked)) as web:
        web.get("/login")  # a browser session exists: the route still needs no CSRF token
        response = web.post(
            "/hooks/fake?x=1",
            content=b'{"a": 1}',
            headers={"Content-Type": "application/json", "X-Signature": "abc"},
        )
    assert response.status_code == 202
    assert response.json() == {"path": "", "size": 8}
    port, call = handler.calls[0]
    assert port.backend == "fake"
    assert call.method == "POST"
    assert call.body == b'{"a": 1}'
    assert call.headers["x-signature"] == "abc"
    assert call.query == {"x": "1"}
    assert handler.after_ran.wait(5)


def test_a_sub_path_is_passed_to_the_handler(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    with TestClient(create_app(hooked)) as web:
        response = web.post("/hooks/fake/events/status", content=b"{}")
    assert response.status_code == 202
    assert response.json()["path"] == "events/status"


@pytest.mark.parametrize("name", ["nobody", "dormant", "silent"])
def test_unknown_inactive_or_outbound_only_backends_are_not_found(
    hooked: PortedCabinet, name: str
) -> None:
    with TestClient(create_app(hooked)) as web:
        response = web.post(f"/hooks/{name}", content=b"{}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert name in response.json()["detail"]


def test_the_route_takes_only_post(hooked: PortedCabinet) -> None:
    with TestClient(create_app(hooked)) as web:
        assert web.get("/hooks/fake").status_code == 405


def test_a_failing_handler_answers_a_retryable_problem_never_a_500(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    handler.fail = RuntimeError("database is locked")
    with TestClient(create_app(hooked), raise_server_exceptions=False) as web:
        response = web.post("/hooks/fake", content=b"{}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert response.headers["content-type"] == "application/problem+json"
    assert "locked" not in response.text


def test_a_handler_refusing_a_value_or_a_cabinet_error_answers_its_status(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    with TestClient(create_app(hooked), raise_server_exceptions=False) as web:
        handler.fail = ValueError("no such state")
        assert web.post("/hooks/fake", content=b"{}").status_code == 422
        handler.fail = NotFound()
        assert web.post("/hooks/fake", content=b"{}").status_code == 404


def test_the_hook_route_leaves_csrf_on_other_routes(hooked: PortedCabinet) -> None:
    with TestClient(create_app(hooked)) as web:
        web.get("/login")
        assert web.post("/hooks/fake", content=b"{}").status_code == 202
        assert web.post("/logout").status_code == 403
        assert web.post("/hooks/fakes", content=b"{}").status_code == 404


def _post_stream(
    cabinet: Cabinet, body: AsyncIterator[bytes], headers: dict[str, str]
) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(cabinet))
        async with httpx.AsyncClient(transport=transport, base_url="http://cabinet") as client:
            return await client.post("/hooks/fake", content=body, headers=headers)

    return asyncio.run(run())


class GuardedBody:
    """A streamed body of ``chunks`` 1 KiB chunks that fails the test when read past ``allowed``
    chunks."""

    def __init__(self, chunks: int, allowed: int) -> None:
        self.chunks = chunks
        self.allowed = allowed
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            if self.read >= self.allowed:
                raise AssertionError("the app read the body past its limit")
            self.read += 1
            yield b"x" * 1024


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = json.loads(response.content)
    return document


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    body = GuardedBody(chunks=1024, allowed=0)
    response = _post_stream(hooked, body.__aiter__(), {"content-length": str(1024 * 1024)})
    assert response.status_code == 413
    assert str(LIMIT) in _problem(response)["detail"]
    assert body.read == 0
    assert handler.calls == []


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    # LIMIT is four chunks: the fifth passes it, a sixth must never be asked for.
    body = GuardedBody(chunks=1024, allowed=LIMIT // 1024 + 1)
    response = _post_stream(hooked, body.__aiter__(), {})
    assert response.status_code == 413
    assert _problem(response)["status"] == 413
    assert body.read == LIMIT // 1024 + 1
    assert handler.calls == []


def test_a_body_of_exactly_the_limit_is_accepted(
    hooked: PortedCabinet, handler: RecordingHandler
) -> None:
    body = GuardedBody(chunks=LIMIT // 1024, allowed=LIMIT // 1024)
    response = _post_stream(hooked, body.__aiter__(), {})
    assert response.status_code == 202
    assert handler.calls[0][1].body == b"x" * LIMIT


def test_a_length_that_is_not_a_number_is_a_bad_request(hooked: PortedCabinet) -> None:
    with TestClient(create_app(hooked)) as web:
        response = web.post("/hooks/fake", content=b"{}", headers={"content-length": "lots"})
    assert response.status_code == 400

"""The request body limit on every route (cabinet_web.body_limit): a declared length over the
limit is refused before a byte is read, a streamed body without one is cut off at the limit,
routes that take files allow their file's size, and the answer is a 413 problem for programs
and a plain page for browsers."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.app import create_app
from cabinet_web.body_limit import FORM_OVERHEAD, BodyLimitMiddleware
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from web_support import World

CHUNK = 64 * 1024
#: 300 MB offered; far less than that may ever be taken.
OFFERED = 300 * 1024 * 1024


class Offered:
    """A streamed body of ``total`` bytes in ``CHUNK``s, counting what the server took.

    Every chunk is the same bytes object, so offering 300 MB allocates nothing: any memory
    growth measured while it streams is the server's.
    """

    def __init__(self, total: int = OFFERED) -> None:
        self.total = total
        self.taken = 0
        self.chunk = b"x" * CHUNK

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.taken < self.total:
            self.taken += CHUNK
            yield self.chunk


def _send(
    app: Any, path: str, content: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            return await web.post(path, content=content, headers=headers or {})

    return asyncio.run(run())


def _token(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/login", False),
        ("/password/forgot", False),
        ("/api/v1/documents", True),
        ("/api/v1/chat", True),
    ],
)
def test_a_300_mb_chunked_body_is_cut_off_at_the_limit_without_memory_growth(
    cabinet: Cabinet, world: World, path: str, signed_in: bool
) -> None:
    app = create_app(cabinet)
    headers = _token(cabinet, world.client_user) if signed_in else {}
    # A form is what the CSRF check reads (a JSON post without a token it refuses unread).
    form = "application/x-www-form-urlencoded"
    headers["content-type"] = "application/json" if signed_in else form
    limit = cabinet.settings.max_body_bytes
    if path == "/api/v1/chat":
        limit = cabinet.settings.attachment_max_bytes + FORM_OVERHEAD  # a route for files
    body = Offered()
    tracemalloc.start()
    try:
        response = _send(app, path, body, headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.json()["status"] == 413
    assert str(limit) in response.json()["detail"]
    assert body.taken < limit + CHUNK + 1
    # Everything the server held at once, the accepted part of the body included.
    assert peak < limit + 16 * 1024 * 1024


class Untouchable:
    """A body that fails the test if a single chunk of it is read."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise AssertionError("the body was read although its length was over the limit")
        yield b""  # pragma: no cover


def test_a_declared_length_over_the_limit_is_refused_before_reading(cabinet: Cabinet) -> None:
    app = create_app(cabinet)
    too_long = str(cabinet.settings.max_body_bytes + 1)
    response = _send(app, "/api/v1/documents", Untouchable(), {"content-length": too_long})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    bad = _send(app, "/api/v1/documents", b"{}", {"content-length": "lots"})
    assert bad.status_code == 400


def test_a_browser_gets_a_plain_page_in_its_language(cabinet: Cabinet) -> None:
    app = create_app(cabinet)
    length = str(cabinet.settings.max_body_bytes + 1)
    for language, title in (("pl", "Żądanie jest za duże"), ("en", "The request is too large")):
        response = _send(
            app,
            "/documents/new",
            Untouchable(),
            {
                "content-length": length,
                "accept": "text/html,application/xhtml+xml",
                "accept-language": language,
                "content-type": "application/x-www-form-urlencoded",
            },
        )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert title in response.text
        # The security headers are on every answer, this one too.
        assert response.headers["x-frame-options"] == "DENY"


def test_routes_for_files_take_their_files_and_others_do_not(
    cabinet: Cabinet, world: World
) -> None:
    app = create_app(cabinet)
    headers = _token(cabinet, world.client_user)
    two_mb = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)
    files = {"file": ("scan.pdf", two_mb, "application/pdf")}
    with TestClient(app) as web:
        created = web.post(
            "/api/v1/documents",
            headers=headers,
            json={
                "doc_type": "cost_invoice",
                "issue_date": "2026-11-16",
                "seller": {"name": "Dostawca", "nip": "9510000239"},
                "extra": {"seller_invoice_number": "R/1"},
                "lines": [{"name": "Papier", "unit_price": "10", "vat_rate": "23"}],
            },
        )
        assert created.status_code == 201, created.text
        doc_id = created.json()["id"]
        attached = web.post(f"/api/v1/documents/{doc_id}/attachments", headers=headers, files=files)
        assert attached.status_code != 413, attached.text
        refused = web.post("/api/v1/documents", headers=headers, files=files)
        assert refused.status_code == 413


def test_the_client_gets_413_even_when_the_app_swallows_the_error(cabinet: Cabinet) -> None:
    async def careless(request: Request) -> PlainTextResponse:
        try:
            await request.body()
        except Exception:
            return PlainTextResponse("fine", status_code=200)
        return PlainTextResponse("read")

    inner = Starlette(routes=[Route("/", careless, methods=["POST"])])
    inner.state.cabinet = cabinet
    app = BodyLimitMiddleware(inner, default=1000)
    response = _send(app, "/", Offered(total=10 * CHUNK))
    assert response.status_code == 413
    assert _send(app, "/", b"x" * 1000).text == "read"

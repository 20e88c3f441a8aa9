"""Caching and transport headers (cabinet_web.security.SecurityHeadersMiddleware): every page,
API answer and download says ``Cache-Control: no-store`` (static files keep their own caching),
and answers over HTTPS carry ``Strict-Transport-Security``, where HTTPS is what the server
concluded from a trusted proxy's ``X-Forwarded-Proto`` and nothing a client claims itself."""

from __future__ import annotations

from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_web.app import create_app
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from web_support import World, login

HSTS = "strict-transport-security"


def _bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def test_signed_in_pages_and_their_errors_are_never_stored(
    app: Any, web: TestClient, world: World
) -> None:
    assert login(web, world.client_user.email).url.path == "/"
    for path in ("/", "/documents", "/profile", "/documents/999999"):
        response = web.get(path)
        assert response.headers["cache-control"] == "no-store", path
    # Even the sign-in page: it holds the session's CSRF token.
    with TestClient(app) as anonymous:
        assert anonymous.get("/login").headers["cache-control"] == "no-store"


def test_api_answers_and_downloads_are_never_stored(
    web: TestClient, cabinet: Cabinet, world: World
) -> None:
    headers = _bearer(cabinet, world.client_user)
    me = web.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    unauthenticated = web.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["cache-control"] == "no-store"
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
    pdf = b"%PDF-1.4\n%%EOF\n"
    attached = web.post(
        f"/api/v1/documents/{doc_id}/attachments",
        headers=headers,
        files={"file": ("scan.pdf", pdf, "application/pdf")},
    )
    assert attached.status_code == 201, attached.text
    download = web.get(
        f"/api/v1/documents/{doc_id}/attachments/{attached.json()['id']}", headers=headers
    )
    assert download.status_code == 200
    # The route's own "private, max-age=0" is replaced, not joined by a second header.
    assert download.headers.get_list("cache-control") == ["no-store"]


def test_static_files_keep_their_own_caching(web: TestClient) -> None:
    response = web.get("/static/cabinet.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")


@pytest.mark.parametrize(
    ("base_url", "expected"), [("https://cab.example", True), ("http://cab.example", False)]
)
def test_hsts_only_over_https(cabinet: Cabinet, base_url: str, expected: bool) -> None:
    with TestClient(create_app(cabinet), base_url=base_url) as web:
        for path in ("/login", "/static/cabinet.css", "/api/v1/me"):
            response = web.get(path, follow_redirects=False)
            assert (HSTS in response.headers) is expected, path
            if expected:
                assert response.headers[HSTS] == "max-age=31536000"


@pytest.mark.parametrize(("trusted", "expected"), [("testclient", True), ("10.0.0.1", False)])
def test_a_forwarded_https_counts_only_from_a_trusted_proxy(
    cabinet: Cabinet, trusted: str, expected: bool
) -> None:
    # What `cabinet serve` gets from uvicorn: X-Forwarded-Proto is believed only from the
    # addresses in --forwarded-allow-ips (FORWARDED_ALLOW_IPS); TestClient calls from
    # "testclient".
    app = ProxyHeadersMiddleware(create_app(cabinet), trusted_hosts=trusted)
    with TestClient(app, base_url="http://cab.example") as web:
        response = web.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert (HSTS in response.headers) is expected

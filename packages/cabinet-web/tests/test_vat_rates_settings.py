"""``/settings/vat-rates`` and ``/api/v1/settings/vat-rates``: admins choose the VAT rates the
document forms offer; the new-document form then lists only those."""

from __future__ import annotations

import re

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _form_rates(html: str) -> list[str]:
    select = re.search(r'<select name="lines-0-vat_rate".*?</select>', html, re.S)
    if select is None:
        select = re.search(r'<select name="[^"]*vat_rate".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]*)"', select.group(0))


def test_admin_chooses_the_rates_and_the_document_form_offers_only_those(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    assert "/settings/vat-rates" in web.get("/settings").text
    page = web.get("/settings/vat-rates")
    assert page.status_code == 200 and 'data-test="vat-rate-0 WDT"' in page.text
    saved = web.post(
        "/settings/vat-rates",
        data={"rates": ["23", "8", "zw"], "csrf_token": csrf_of(web, "/settings/vat-rates")},
    )
    assert saved.status_code == 200 and saved.url.path == "/settings/vat-rates"
    assert (
        'data-test="vat-rate-5"' in saved.text
        and 'data-test="vat-rate-5" checked' not in saved.text
    )
    assert 'data-test="vat-rate-8" checked' in saved.text
    form = web.get(f"/documents/new?doc_type=invoice&client_id={world.client.id}")
    assert form.status_code == 200
    assert _form_rates(form.text) == ["23", "8", "zw"]


def test_no_rate_ticked_is_an_error_in_english_too(web: TestClient, world: World) -> None:
    login(web, world.admin.email)
    web.post("/language", data={"language": "en", "csrf_token": csrf_of(web, "/settings")})
    refused = web.post(
        "/settings/vat-rates", data={"csrf_token": csrf_of(web, "/settings/vat-rates")}
    )
    assert refused.status_code == 422
    assert "Choose at least one VAT rate." in refused.text


def test_vat_rates_through_the_api(web: TestClient, world: World, cabinet: Cabinet) -> None:
    _token, secret = cabinet.tokens.create(Actor.of(world.admin), name="vat")
    headers = {"Authorization": f"Bearer {secret}"}
    put = web.put("/api/v1/settings/vat-rates", json={"offered": ["23", "5"]}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["offered"] == ["23", "5"]
    assert [r["code"] for r in put.json()["rates"] if r["offered"]] == ["23", "5"]
    bad = web.put("/api/v1/settings/vat-rates", json={"offered": ["99"]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rates"
    _token, manager = cabinet.tokens.create(Actor.of(world.manager), name="vat")
    refused = web.get("/api/v1/settings/vat-rates", headers={"Authorization": f"Bearer {manager}"})
    assert refused.status_code == 403

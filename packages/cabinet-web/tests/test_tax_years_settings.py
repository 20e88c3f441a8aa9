"""``/settings/tax-years`` and ``/api/v1/settings/tax-years``: the PIT/ZUS parameters per tax
year, edited by admins (field errors in Polish and English, nothing saved on a bad value), a
year added from another, the environment's values marked; the same through the JSON API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor
from cabinet_core.payroll.tax_year import BUILT_IN_TAX_YEARS, PARAMETERS
from starlette.testclient import TestClient
from web_support import World, csrf_of, login


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


def _values(**changes: str) -> dict[str, str]:
    base = BUILT_IN_TAX_YEARS[2026]
    return {name: str(getattr(base, name)) for name in PARAMETERS} | changes


def _headers(cabinet: Cabinet, user: object) -> dict[str, str]:
    _token, secret = cabinet.tokens.create(Actor.of(user), name="tax")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


def _post(web: TestClient, path: str, data: dict[str, str]) -> Any:
    return web.post(path, data={**data, "csrf_token": csrf_of(web, path)})


def test_admin_edits_a_year_and_the_list_shows_it(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    assert "/settings/tax-years" in web.get("/settings").text
    listed = web.get("/settings/tax-years")
    assert listed.status_code == 200
    assert 'data-test="tax-2026-minimum_wage">4806.00' in listed.text
    assert "Płaca minimalna (PLN)" in listed.text
    saved = _post(web, "/settings/tax-years/2026", _values(accident_rate="0.0093"))
    assert saved.status_code == 200 and saved.url.path == "/settings/tax-years"
    assert 'data-test="tax-2026-accident_rate">0.0093' in saved.text
    row = cabinet.tax_years.get(Actor.of(world.admin), 2026)
    assert row.stored and row.parameters.accident_rate == Decimal("0.0093")


def test_a_bad_value_is_shown_at_its_field_and_nothing_is_saved(
    web: TestClient, world: World, cabinet: Cabinet
) -> None:
    login(web, world.admin.email)
    refused = _post(web, "/settings/tax-years/2026", _values(pit_rate="12", minimum_wage="-5"))
    assert refused.status_code == 422
    assert 'data-error-for="pit_rate"' in refused.text
    assert 'data-error-for="minimum_wage"' in refused.text
    assert 'value="12"' in refused.text  # what was typed stays in the form
    assert not cabinet.tax_years.get(Actor.of(world.admin), 2026).stored


def test_a_year_is_added_from_another(web: TestClient, world: World, cabinet: Cabinet) -> None:
    login(web, world.admin.email)
    added = _post(web, "/settings/tax-years", {"year": "2027", "based_on": "2026"})
    assert added.status_code == 200 and added.url.path == "/settings/tax-years/2027"
    assert 'value="4806.00"' in added.text
    again = _post(web, "/settings/tax-years", {"year": "2027", "based_on": "2026"})
    assert again.status_code == 422 and 'data-error-for="year"' in again.text


def test_the_page_is_for_admins_only(web: TestClient, world: World) -> None:
    login(web, world.manager.email)
    assert web.get("/settings/tax-years").status_code == 403
    assert web.get("/settings/tax-years/2026").status_code == 403


def test_an_unknown_year_is_404(web: TestClient, world: World) -> None:
    login(web, world.admin.email)
    assert web.get("/settings/tax-years/2031").status_code == 404


def test_tax_years_through_the_api(web: TestClient, world: World, cabinet: Cabinet) -> None:
    headers = _headers(cabinet, world.admin)
    listed = web.get("/api/v1/settings/tax-years", headers=headers)
    assert listed.status_code == 200
    assert [row["year"] for row in listed.json()][:2] == [2026, 2025]
    put = web.put(
        "/api/v1/settings/tax-years/2026", json=_values(health_rate="0.095"), headers=headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["parameters"]["health_rate"] == "0.095" and put.json()["stored"]
    bad = web.put(
        "/api/v1/settings/tax-years/2026", json=_values(health_rate="1.5"), headers=headers
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["health_rate"]
    added = web.post(
        "/api/v1/settings/tax-years", json={"year": 2027, "based_on": 2026}, headers=headers
    )
    assert added.status_code == 201 and added.json()["parameters"]["health_rate"] == "0.095"
    assert web.get("/api/v1/settings/tax-years/2027", headers=headers).status_code == 200
    assert web.get("/api/v1/settings/tax-years/2040", headers=headers).status_code == 404
    client = _headers(cabinet, world.client_user)
    assert web.get("/api/v1/settings/tax-years", headers=client).status_code == 403
    manager = _headers(cabinet, world.manager)
    put = web.put("/api/v1/settings/tax-years/2026", json=_values(), headers=manager)
    assert put.status_code == 403

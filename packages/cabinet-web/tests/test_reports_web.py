"""The reports page and ``/api/v1/reports``: the table, totals and chart, field errors for bad
filters, CSV/XLSX exports equal to the table, background exports, access per role."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.entities import Actor, Document, DocumentLine, Party
from cabinet_core.worker import Worker
from cabinet_web.problems import PROBLEM_MEDIA_TYPE
from openpyxl import load_workbook
from starlette.testclient import TestClient
from web_support import World, csrf_of, login

D = Decimal


@pytest.fixture
def database_url(database_urls: str | None) -> str | None:
    return database_urls


@pytest.fixture
def sales(cabinet: Cabinet, world: World) -> World:
    """The client: 2 × 100.00 in October and 50.00 at 8 % in November; the other client:
    1,000.00 in October."""
    for user, client, day, lines in (
        (world.client_user, world.client, date(2026, 10, 5), ((D(2), D("100.00"), "23"),)),
        (world.client_user, world.client, date(2026, 11, 3), ((D(1), D("50.00"), "8"),)),
        (world.other_user, world.other_client, date(2026, 10, 9), ((D(1), D("1000.00"), "23"),)),
    ):
        stored = cabinet.documents.create(
            Actor.of(user),
            Document(
                client_id=client.id or 0,
                doc_type="vat_invoice",
                issue_date=day,
                buyer=Party(name="Gamma S.A.", nip="9510000239"),
                lines=tuple(
                    DocumentLine(name="Usługa", quantity=q, unit_price=p, vat_rate=r)
                    for q, p, r in lines
                ),
            ),
        )
        assert stored.id is not None
        cabinet.documents.transition(Actor.of(user), stored.id, "issue")
    return world


def test_menu_links_to_reports_and_the_page_shows_table_totals_and_chart(
    client_web: TestClient, sales: World
) -> None:
    home = client_web.get("/")
    assert 'href="/reports"' in home.text
    page = client_web.get("/reports")
    assert page.status_code == 200
    html = page.text
    assert html.count('data-test="report-row"') == 2
    assert "2026-10" in html and "2026-11" in html
    assert "1 000,00" not in html  # the other client's sale is not here
    assert "300,00" in html  # the grand total in PLN: 246.00 + 54.00
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in html
    assert html.count('class="bar"') == 2


def test_bad_filters_are_shown_at_their_fields(client_web: TestClient, sales: World) -> None:
    page = client_web.get("/reports?date_from=2026-02-30&currency=XYZ")
    assert page.status_code == 422
    assert 'id="e-date_from"' in page.text and 'id="e-currency"' in page.text
    assert "RRRR-MM-DD" in page.text or "YYYY-MM-DD" in page.text


def test_csv_and_xlsx_exports_hold_the_table(client_web: TestClient, sales: World) -> None:
    token = csrf_of(client_web, "/reports")
    form = {"csrf_token": token, "kind": "accounts", "group_by": "month", "ledger": "sales"}
    response = client_web.post("/reports/export", data={**form, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Miesiąc", "Waluta", "Dokumenty"]
    assert [row[0] for row in rows[1:]] == ["2026-10", "2026-11", "Razem", "Razem w PLN"]
    assert rows[-1][-1] == "300.00"
    xlsx = client_web.post("/reports/export", data={**form, "format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [row[0] for row in cells] == [row[0] for row in rows]
    assert D(str(cells[-1][-1])) == D("300.00")


def test_a_long_export_runs_in_the_background(
    client_web: TestClient, sales: World, cabinet: Cabinet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cabinet_web.pages.reports as pages

    monkeypatch.setattr(pages, "DIRECT_ROWS", 0)
    token = csrf_of(client_web, "/reports")
    started = client_web.post(
        "/reports/export",
        data={"csrf_token": token, "group_by": "document", "format": "xlsx"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_page = started.headers["location"]
    waiting = client_web.get(job_page)
    assert 'data-status="queued"' in waiting.text and 'http-equiv="refresh"' in waiting.text
    assert client_web.get(job_page + "/file").status_code == 404
    Worker(cabinet).run_once()
    ready = client_web.get(job_page)
    assert 'data-status="done"' in ready.text and "refresh" not in ready.text
    download = client_web.get(job_page + "/file")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.content), read_only=True).active
    assert sheet is not None
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 2 + 1 + 1
    # Another user does not reach the job.
    client_web.post("/logout", data={"csrf_token": csrf_of(client_web, "/")})
    login(client_web, sales.admin.email)
    assert client_web.get(job_page).status_code == 404


# -- the API ---------------------------------------------------------------------------------------
def _bearer(cabinet: Cabinet, user: Any) -> dict[str, str]:
    _, secret = cabinet.tokens.create(Actor.of(user), name="tests")
    return {"Authorization": f"Bearer {secret}"}


def test_api_report_for_staff_across_clients(
    web: TestClient, cabinet: Cabinet, sales: World
) -> None:
    headers = _bearer(cabinet, sales.accountant)
    body = web.get("/api/v1/reports/accounts?group_by=client", headers=headers).json()
    assert [(row["group"], row["gross_pln"]) for row in body["rows"]] == [
        ("Alfa sp. z o.o.", "300.00"),
        ("Beta s.c.", "1230.00"),
    ]
    assert body["total_pln"]["gross"] == "1530.00"
    assert [column["key"] for column in body["columns"]][:3] == ["group", "currency", "count"]
    # The manager sees only the assigned client.
    managed = web.get(
        "/api/v1/reports/payments?group_by=client", headers=_bearer(cabinet, sales.manager)
    ).json()
    assert [row["group"] for row in managed["rows"]] == ["Alfa sp. z o.o."]
    assert managed["total_pln"]["unpaid"] == "300.00"


def test_api_problems_and_csv(web: TestClient, cabinet: Cabinet, sales: World) -> None:
    headers = _bearer(cabinet, sales.client_user)
    bad = web.get("/api/v1/reports/accounts?date_to=yesterday&currency=ABC", headers=headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    fields = sorted(error["field"] for error in bad.json()["errors"])
    assert fields == ["currency", "date_to"]
    assert web.get("/api/v1/reports/weekly", headers=headers).status_code == 404
    exported = web.get("/api/v1/reports/accounts?format=csv&group_by=vat_rate", headers=headers)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:3]] == ["23", "8"]


def test_api_background_export(web: TestClient, cabinet: Cabinet, sales: World) -> None:
    headers = _bearer(cabinet, sales.client_user)
    started = web.post(
        "/api/v1/reports/exports",
        json={"kind": "payments", "format": "csv", "params": {"group_by": "document"}},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "queued" and job["download"] is None
    Worker(cabinet).run_once()
    done = web.get(f"/api/v1/reports/exports/{job['id']}", headers=headers).json()
    assert done["status"] == "done" and done["percent"] == 100
    file = web.get(done["download"], headers=headers)
    assert file.status_code == 200 and file.text.count("\n") == 1 + 2 + 1 + 1
    other = _bearer(cabinet, sales.other_user)
    assert web.get(f"/api/v1/reports/exports/{job['id']}", headers=other).status_code == 404
    wrong = web.post(
        "/api/v1/reports/exports", json={"kind": "payments", "format": "pdf"}, headers=headers
    )
    assert wrong.status_code == 422

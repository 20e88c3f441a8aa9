"""Smoke tests of the benchmarks in ``bench/`` at tiny sizes: they run, measure what they say,
and their baselines are fair equivalents. No test asserts a time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _bench_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.slow
def test_the_bare_reportlab_page_prints_what_the_invoice_prints(tmp_path: Path) -> None:
    import cabinet_pdf.plugin
    from cabinet_core import Branding, Cabinet, Settings
    from cabinet_pdf import PdfRenderer
    from cabinet_pdf.formatting import format_number

    from bench import pdf as bench_pdf

    bench_pdf.register_bare_fonts()
    bare = _text(bench_pdf.bare_reportlab())
    settings = Settings(data_dir=tmp_path, branding=Branding(firm_name=bench_pdf.FIRM))
    with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cabinet:
        # The printable view reads a numbered invoice's KSeF state from the database.
        cabinet.migrate()
        rendered = PdfRenderer().render(
            cabinet, bench_pdf.INVOICE, client=bench_pdf.CLIENT, template=None, language="pl"
        )
        ours = _text(rendered.content)
    totals = bench_pdf.TOTALS
    shared = [
        "Faktura VAT",
        "FV/12/11/2026",
        "Jaźń Źródlana S.A.",
        "Zażółć Gęślą Sp. z o.o.",
        "1234563218",
        "PL61109010140000071219812874",
        format_number(totals.gross, "pl"),
        format_number(totals.vat, "pl"),
        *(line.name for line in bench_pdf.INVOICE.lines),
        *(format_number(row.net, "pl") for row in totals.rows),
    ]
    for text in shared:
        assert text in bare, text
        assert text in ours, text
    # The runs cycle through eight invoices: each is another document on both sides.
    numbers = {invoice.number for invoice in bench_pdf.INVOICES}
    assert len(numbers) == len(bench_pdf.INVOICES) == 8
    for invoice in bench_pdf.INVOICES[1:3]:
        assert invoice.buyer is not None
        text = _text(bench_pdf.bare_reportlab(invoice))
        assert invoice.buyer.name in text and str(invoice.number) in text
        assert "Faktura VAT" in bench_pdf.invoice_html(invoice)


def test_the_bare_page_uses_stock_reportlab_fonts_of_the_same_files() -> None:
    from cabinet_pdf.fonts import REGULAR, CabinetTTFont, register_fonts
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from bench import pdf as bench_pdf

    register_fonts()
    bench_pdf.register_bare_fonts()
    bare, ours = pdfmetrics.getFont(bench_pdf.BARE_REGULAR), pdfmetrics.getFont(REGULAR)
    assert type(bare) is TTFont
    assert isinstance(ours, CabinetTTFont)
    assert Path(bare.face.filename).name == Path(ours.face.filename).name == "DejaVuSans.ttf"


@pytest.mark.slow
def test_the_list_benchmark_builds_a_database_and_measures_the_page(tmp_path: Path) -> None:
    from bench import lists

    size = lists.Size(documents=400, own=80, clients=6, suppliers=50)
    (row,) = lists.run(size, requests=12, folder=tmp_path, engines=("sqlite",), log=lambda _: None)
    assert row["name"] == "list_page_sqlite"
    assert row["requests"] == 12
    assert 0 < row["p50_ms"] <= row["p95_ms"]
    assert 0 < row["baseline_p50_ms"] <= row["baseline_p95_ms"]
    assert row["sql_per_page"] >= row["sql_per_page_min"] >= 2
    # The baseline serves a page of the real page's size.
    assert abs(row["baseline_bytes"] - row["page_bytes"]) < row["page_bytes"] / 2
    # Built once, then reused (the marker row matches the size).
    assert sorted(p.name for p in tmp_path.glob("*.sqlite3")) == ["lists-400-80.sqlite3"]
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'lists-400-80.sqlite3'}")
    with engine.connect() as connection:
        count = connection.exec_driver_sql(
            "SELECT count(*), sum(client_id = 1) FROM documents"
        ).one()
        lines = connection.exec_driver_sql("SELECT count(*) FROM document_lines").scalar_one()
    engine.dispose()
    assert tuple(count) == (400, 80)
    assert 400 <= lines <= 1200


def test_list_queries_are_a_search_and_two_filters(tmp_path: Path) -> None:
    from cabinet_core.entities import Actor
    from cabinet_web.query import document_query

    from bench import lists

    size = lists.Size(documents=200, own=50, clients=4, suppliers=30)
    with lists.sqlite_cabinet(size, tmp_path, log=lambda _: None) as cabinet:
        queries = lists.list_queries(cabinet, 1, 12)
        found = 0
        for query in queries:
            assert set(query) == {"doc_type", "search", "status", "currency"}
            assert query["doc_type"] == "cost_invoice" and query["search"].strip()
            parsed = document_query(query, known_types=cabinet.document_types)
            found += cabinet.documents.list(Actor.system(), parsed).total > 0
        # Most searches come from an invoice with its own filters, so they find something.
        assert found >= len(queries) // 2


def test_the_webhook_benchmark_delivers_every_document_signed() -> None:
    from bench import webhook

    (row,) = webhook.run(documents=40)
    assert row["messages"] == 41  # the client's message and one per document
    assert row["received"] == 41
    assert row["refused_by_receiver"] == 0
    assert row["left_pending"] == 0
    assert row["per_second"] > 0 and row["bare_httpx_per_second"] > 0


def test_the_vat_benchmark_measures_the_statement_and_a_valid_streamed_jpk(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from cabinet_core.vat_statement import (
        PURCHASE,
        SALES,
        JpkHeader,
        Taxpayer,
        validate_jpk,
        write_jpk,
    )

    from bench import lists, vat

    size = lists.Size(documents=3000, own=600, clients=6, suppliers=50)
    results = vat.run(
        size,
        calls=1,
        rounds=1,
        jpk_rows=(20, 200),
        folder=tmp_path,
        log=lambda _: None,
        stages=True,
        minimums=2,
    )
    small, large, statement, stages, minimums = results
    assert stages["name"] == "vat_statement_stages_ms" and stages["statement"] > 0
    assert minimums["name"] == "vat_statement_minimums_sqlite" and minimums["calls"] == 2
    for key in ("bare_sql_ms", "statement_ms", "statement_rows_rebuilt_ms", "access_check_ms"):
        fastest, middle = minimums[key]
        assert 0 < fastest <= middle
    assert (small["rows"], large["rows"]) == (22, 220)
    assert 0 < small["bytes_written"] < large["bytes_written"]
    assert small["peak_kib"] > 0 and large["peak_kib"] > 0
    assert statement["name"] == "vat_statement_sqlite"
    # The measured month holds some of the client's ~13 documents a month.
    assert statement["rows_in_month"] > 0
    assert statement["statement_ms"] > 0 and statement["bare_sql_ms"] > 0
    # The bench's rows make a file the official schema accepts.
    out = io.BytesIO()
    write_jpk(
        out,
        header=JpkHeader(
            year=2026, month=10, tax_office="1471", created_at=datetime(2026, 11, 5, tzinfo=UTC)
        ),
        taxpayer=Taxpayer(nip="5260250274", name="Zażółć sp. z o.o.", email="b@z.pl"),
        declaration=None,
        sales=vat.synthetic_rows(30, SALES),
        purchases=vat.synthetic_rows(5, PURCHASE),
    )
    assert validate_jpk(out.getvalue()) == []


def test_the_ksef_benchmark_sends_receives_and_syncs_a_backlog_by_export() -> None:
    from bench import ksef

    rows = {
        row["name"]: row
        for row in ksef.run(clients=2, sales=3, purchases=2, days=0.05, heavy=40, backlog=260)
    }
    send = rows["ksef.send"]
    assert send["not_accepted"] == 0 and send["least_client_ratio"] >= 0.9
    heavy = rows["ksef.send_heavy_client"]
    assert heavy["invoices"] == 40 and heavy["span_hours"] > 0
    receive = rows["ksef.receive"]
    assert receive["purchase_invoices"] == 4 and receive["missing"] == 0
    assert receive["within_the_hour"] is True
    worker = rows["ksef.one_worker"]
    assert worker["sales_invoices"] == 46 and worker["worker_cpu_seconds"] > 0
    sync = rows["ksef.first_full_sync"]
    assert sync["imported"] == 260
    # More than a page: one export, no download one by one.
    assert sync["requests"]["invoiceExport"] == 1
    assert "invoiceDownload" not in sync["requests"]
    assert sync["limit_minimum_hours_downloads"] > sync["limit_minimum_hours_export"]


def test_the_least_span_follows_ksefs_windows() -> None:
    from bench.ksef import least_span, nip, send_windows

    windows = send_windows()
    assert least_span(1, windows) == 0.0
    assert least_span(25, windows) == 2.0  # 10, 10, 5 in three seconds
    assert least_span(31, windows) == 60.0  # the 31st waits for the minute
    assert least_span(181, windows) == 3600.0  # the 181st waits for the hour
    assert nip(3) != nip(4) and len(nip(3)) == 10


def test_load_reads_page_percentiles_from_the_servers_histogram() -> None:
    """``bench load`` reports the server's own latency from its cumulative histogram: the share
    within each bucket, and p50/p95 interpolated inside the bucket they fall in."""
    from bench.load import _histogram_summary

    # 100 requests: 60 within 50 ms, 90 within 250 ms, 100 within 500 ms.
    buckets = {0.05: 60.0, 0.25: 90.0, 0.5: 100.0, float("inf"): 100.0}
    summary = _histogram_summary(buckets)
    assert summary["count"] == 100
    assert summary["p50_ms"] == pytest.approx(50 * 50 / 60, abs=0.1)
    assert summary["p95_ms"] == pytest.approx(250 + 250 * 5 / 10, abs=0.1)
    assert summary["within_250_ms"] == 0.9
    assert summary["within_500_ms"] == 1.0
    # A p95 beyond the last finite bucket is not made up.
    assert _histogram_summary({0.05: 10.0, float("inf"): 100.0})["p95_ms"] is None
    assert _histogram_summary({}) == {"count": 0}

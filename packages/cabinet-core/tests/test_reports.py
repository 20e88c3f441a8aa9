"""cabinet.reports on both databases: exact totals per currency and in PLN, every grouping, the
filters, who sees what (a client its own, a manager the assigned clients, accountants all),
the exports equal the table, the chart labels every bar, and the background export's life."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from cabinet_core.entities import Document, DocumentLine, Party, PaymentStatus
from cabinet_core.errors import NotFound, ValidationError
from cabinet_core.reports import JobStatus, Report, bar_chart
from cabinet_core.reports.export import csv_lines
from cabinet_core.worker import Worker
from fixtures_services import World
from openpyxl import load_workbook

D = Decimal
BUYER = Party(name="Kupiec sp. z o.o.", nip="1234563218")
OTHER_BUYER = Party(name="Zakład Łąka", nip="5260001246")
# The offline rate provider's EUR rate for 2026-10-19 (the day before the sale): 4.2512.


def _line(name: str, price: str, quantity: str = "1", rate: str = "23") -> DocumentLine:
    return DocumentLine(name=name, quantity=D(quantity), unit_price=D(price), vat_rate=rate)


@pytest.fixture
def booked(world: World) -> World:
    """Client A: three sales (PLN paid, EUR overdue, PLN with two rates) and a purchase;
    client B: one sale."""
    cabinet = world.cabinet
    alice, bob = world.actor(world.alice), world.actor(world.bob)
    a, b = world.client_id(world.client_a), world.client_id(world.client_b)
    first = cabinet.documents.create(
        alice,
        Document(
            client_id=a,
            doc_type="vat_invoice",
            issue_date=date(2026, 10, 5),
            due_date=date(2026, 10, 19),
            buyer=BUYER,
            lines=(_line("Consulting", "100.00", "2"),),
        ),
    )
    assert first.id is not None
    cabinet.documents.transition(alice, first.id, "issue")
    cabinet.documents.apply_crm_payment(first.id, PaymentStatus.PAID)
    _issued(
        world,
        alice,
        Document(
            client_id=a,
            doc_type="vat_invoice",
            issue_date=date(2026, 10, 20),
            due_date=date(2026, 11, 1),
            currency="EUR",
            buyer=OTHER_BUYER,
            lines=(_line("Consulting", "100.00"),),
        ),
    )
    _issued(
        world,
        alice,
        Document(
            client_id=a,
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 3),
            due_date=date(2099, 1, 1),
            buyer=BUYER,
            lines=(_line("Hosting", "50.00", rate="8"), _line("Consulting", "10.00")),
        ),
    )
    _issued(
        world,
        alice,
        Document(
            client_id=a,
            doc_type="cost_invoice",
            issue_date=date(2026, 11, 5),
            seller=Party(name="Dostawca S.A.", nip="5260001246"),
            lines=(_line("Paper", "30.00"),),
            extra={"seller_invoice_number": "S/1/2026"},
        ),
    )
    _issued(
        world,
        bob,
        Document(
            client_id=b,
            doc_type="vat_invoice",
            issue_date=date(2026, 10, 10),
            buyer=BUYER,
            lines=(_line("Audit", "1000.00"),),
        ),
    )
    # A draft is not in the books yet: reports leave it out unless asked for drafts.
    cabinet.documents.create(
        alice,
        Document(
            client_id=a,
            doc_type="vat_invoice",
            issue_date=date(2026, 11, 4),
            buyer=BUYER,
            lines=(_line("Consulting", "5000.00"),),
        ),
    )
    return world


def _issued(world: World, actor: Any, document: Document) -> None:
    """Save ``document`` and give it its number (issue a sale, submit a purchase)."""
    stored = world.cabinet.documents.create(actor, document)
    assert stored.id is not None
    move = "submit" if document.doc_type == "cost_invoice" else "issue"
    world.cabinet.documents.transition(actor, stored.id, move)


def _report(world: World, user: Any, **params: str) -> Report:
    cabinet = world.cabinet
    return cabinet.reports.run(world.actor(user), cabinet.reports.parse(params))


def _rows(report: Report) -> list[tuple[Any, ...]]:
    return [
        (row.label, row.currency, row.count, row.amounts.gross, row.pln.gross if row.pln else None)
        for row in report.rows
    ]


def test_monthly_sales_of_a_client_in_each_currency_and_pln(booked: World) -> None:
    report = _report(booked, booked.alice)
    assert _rows(report) == [
        ("2026-10", "EUR", 1, D("123.00"), D("522.90")),
        ("2026-10", "PLN", 1, D("246.00"), D("246.00")),
        ("2026-11", "PLN", 1, D("66.30"), D("66.30")),
    ]
    totals = {row.currency: row for row in report.totals}
    assert (totals["EUR"].amounts.net, totals["EUR"].amounts.vat) == (D("100.00"), D("23.00"))
    assert totals["EUR"].pln is not None
    assert (totals["EUR"].pln.net, totals["EUR"].pln.vat) == (D("425.12"), D("97.78"))
    assert (totals["PLN"].amounts.net, totals["PLN"].amounts.vat, totals["PLN"].count) == (
        D("260.00"),
        D("52.30"),
        2,
    )
    grand = report.total_pln
    assert (grand.amounts.net, grand.amounts.vat, grand.amounts.gross) == (
        D("685.12"),
        D("150.08"),
        D("835.20"),
    )
    assert report.chart == (("2026-10", D("768.90")), ("2026-11", D("66.30")))
    assert report.unconverted == 0


def test_drafts_count_only_when_asked_for(booked: World) -> None:
    with_drafts = _report(booked, booked.alice, drafts="1", currency="PLN")
    assert _rows(with_drafts)[-1] == ("2026-11", "PLN", 2, D("6216.30"), D("6216.30"))
    assert with_drafts.query.params()["drafts"] == "1"


def test_purchases_are_what_the_type_declares(booked: World) -> None:
    report = _report(booked, booked.alice, ledger="purchases", group_by="counterparty")
    assert _rows(report) == [("Dostawca S.A. (5260001246)", "PLN", 1, D("36.90"), D("36.90"))]


def test_grouping_by_vat_rate_and_product_counts_lines(booked: World) -> None:
    by_rate = _report(booked, booked.alice, group_by="vat_rate", currency="PLN")
    assert [(r.label, r.amounts.net, r.amounts.vat, r.count) for r in by_rate.rows] == [
        ("23", D("210.00"), D("48.30"), 2),
        ("8", D("50.00"), D("4.00"), 1),
    ]
    by_product = _report(booked, booked.alice, group_by="product")
    assert [(r.label, r.currency, r.amounts.net) for r in by_product.rows] == [
        ("Consulting", "EUR", D("100.00")),
        ("Consulting", "PLN", D("210.00")),
        ("Hosting", "PLN", D("50.00")),
    ]
    # A product filter counts that product's lines only, whatever the grouping.
    hosting = _report(booked, booked.alice, product="host")
    assert _rows(hosting) == [("2026-11", "PLN", 1, D("54.00"), D("54.00"))]


def test_payments_report_splits_paid_unpaid_and_overdue(booked: World) -> None:
    report = _report(booked, booked.alice, kind="payments", group_by="document")
    by_number = {row.document.issue_date: row for row in report.rows if row.document}
    paid = by_number[date(2026, 10, 5)]
    assert (paid.paid, paid.unpaid, paid.overdue) == (D("246.00"), D("0.00"), D("0.00"))
    late = by_number[date(2026, 10, 20)]
    assert (late.unpaid, late.overdue, late.overdue_pln) == (D("123.00"), D("123.00"), D("522.90"))
    assert by_number[date(2026, 11, 3)].overdue == D("0.00")
    grand = report.total_pln
    assert (grand.paid, grand.unpaid, grand.overdue) == (D("246.00"), D("589.20"), D("522.90"))
    overdue_only = _report(booked, booked.alice, kind="payments", overdue="1")
    assert _rows(overdue_only) == [("2026-10", "EUR", 1, D("123.00"), D("522.90"))]


def test_staff_see_across_clients_and_clients_only_their_own(booked: World) -> None:
    b = str(booked.client_id(booked.client_b))
    by_client = _report(booked, booked.accountant, group_by="client", currency="PLN")
    assert [(r.label, r.amounts.gross) for r in by_client.rows] == [
        ("Alfa sp. z o.o.", D("312.30")),
        ("Beta S.A.", D("1230.00")),
    ]
    # The client filter narrows staff; a client naming another client gets nothing of it.
    assert _rows(_report(booked, booked.admin, client_id=b, currency="PLN")) == [
        ("2026-10", "PLN", 1, D("1230.00"), D("1230.00"))
    ]
    assert _report(booked, booked.alice, client_id=b).rows == ()
    assert _report(booked, booked.bob).total_pln.amounts.gross == D("1230.00")
    # A manager sees the assigned clients only.
    manager = _report(booked, booked.manager, group_by="client")
    assert {row.label for row in manager.rows} == {"Alfa sp. z o.o."}
    other = _report(booked, booked.other_manager, group_by="client")
    assert {row.label for row in other.rows} == {"Beta S.A."}
    # Staff lists carry a client column; a client's own list does not.
    keys = [c.key for c in _report(booked, booked.admin, group_by="document").columns]
    assert "client" in keys
    assert "client" not in [
        c.key for c in _report(booked, booked.alice, group_by="document").columns
    ]


def test_bad_filters_are_field_errors(booked: World) -> None:
    with pytest.raises(ValidationError) as caught:
        booked.cabinet.reports.parse(
            {
                "date_from": "2026-13-01",
                "date_to": "0001-01-01",
                "currency": "XYZ",
                "group_by": "weekday",
                "client_id": "abc",
            }
        )
    fields = sorted(error.field for error in caught.value.errors)
    assert fields == ["client_id", "currency", "date_from", "date_to", "group_by"]
    with pytest.raises(ValidationError) as reversed_period:
        booked.cabinet.reports.parse({"date_from": "2026-11-01", "date_to": "2026-10-01"})
    assert [e.field for e in reversed_period.value.errors] == ["date_to"]


def test_csv_and_xlsx_hold_exactly_the_table(booked: World, tmp_path: Path) -> None:
    cabinet = booked.cabinet
    admin = booked.actor(booked.admin)
    query = cabinet.reports.parse({"group_by": "document", "kind": "accounts"})
    report = cabinet.reports.run(admin, query)
    expected_header = [column.label for column in report.columns]

    def text(value: Any) -> str:
        return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)

    parsed = list(
        csv.reader(io.StringIO("".join(cabinet.reports.csv(admin, query)).lstrip("\ufeff")))
    )
    assert parsed[0] == expected_header
    assert parsed[1:] == [[text(value) for value in row] for row in report.table()]
    assert len(parsed) == 1 + 4 + 2 + 1  # 4 sales, totals in EUR and PLN, the PLN total

    target = tmp_path / "report.xlsx"
    with target.open("wb") as out:
        written = cabinet.reports.write_xlsx(admin, query, out)
    assert written == 7
    sheet = load_workbook(target, read_only=True).active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert list(cells[0]) == expected_header
    for got, want in zip(cells[1:], report.table(), strict=True):
        assert [_plain(value) for value in got] == [_plain(value) for value in want]


def _plain(value: Any) -> Any:
    """A cell as the workbook gives it back (dates as datetimes, amounts as numbers)."""
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    if isinstance(value, Decimal | float | int):
        return D(str(value)).quantize(D("0.01"))
    return value


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    from cabinet_core.reports.totals import Amounts, Column, ReportRow

    row = ReportRow(
        key="x",
        label="=HYPERLINK(1)",
        currency="PLN",
        count=1,
        amounts=Amounts(D(1), D(0), D(1)),
        pln=None,
        paid=D(0),
        unpaid=D(1),
        overdue=D(0),
        paid_pln=None,
        unpaid_pln=None,
        overdue_pln=None,
    )
    columns = (Column("group", "Group", "text", lambda r: r.label),)
    assert "".join(csv_lines(columns, [row], str)).splitlines()[1] == "'=HYPERLINK(1)"


def test_chart_has_a_labelled_bar_for_every_group(booked: World) -> None:
    report = _report(booked, booked.accountant, group_by="client")
    svg = bar_chart(report.chart, title="Sales per client", description="Gross in PLN")
    root = ElementTree.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img" and root.get("aria-labelledby")
    assert root.find("svg:title", ns) is not None
    bars = root.findall("svg:g", ns)
    assert [bar.get("data-label") for bar in bars] == [label for label, _ in report.chart]
    for bar, (label, value) in zip(bars, report.chart, strict=True):
        title = bar.find("svg:title", ns)
        assert title is not None and title.text is not None and title.text.startswith(label)
        texts = [t.text for t in bar.findall("svg:text", ns)]
        assert texts[0] == label and texts[1] == f"{value:,.2f}".replace(",", "\u00a0")
        rect = bar.find("svg:rect", ns)
        assert rect is not None and "url(#" in (rect.get("fill") or "")  # hatched, not colour


def test_chart_draws_negative_bars_left_of_zero() -> None:
    svg = bar_chart([("a", D("-50.00")), ("b", D("100.00"))], title="t")
    root = ElementTree.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    rects = [bar.find("svg:rect", ns) for bar in root.findall("svg:g", ns)]
    assert rects[0] is not None and rects[1] is not None
    assert float(rects[0].get("x") or 0) < float(rects[1].get("x") or 0)


def test_background_export_lifecycle(booked: World) -> None:
    cabinet = booked.cabinet
    alice = booked.actor(booked.alice)
    query = cabinet.reports.parse({"group_by": "document"})
    job = cabinet.reports.start_export(alice, query, "xlsx")
    assert (job.status, job.rows_total, job.percent) == (JobStatus.QUEUED, 3, 0)
    with pytest.raises(NotFound):
        cabinet.reports.export_file(alice, job.id)
    # Nobody else reaches the job, not even an admin.
    assert job.id is not None
    with pytest.raises(NotFound):
        cabinet.reports.export_job(booked.actor(booked.admin), job.id)
    assert Worker(cabinet).run_once() >= 1
    done = cabinet.reports.export_job(alice, job.id)
    assert (done.status, done.rows_done, done.percent) == (JobStatus.DONE, 6, 100)
    path, _ = cabinet.reports.export_file(alice, job.id)
    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3 + 2 + 1
    assert rows[-1][0] == "Total in PLN"
    # Nothing more to do.
    assert cabinet.reports.run_export_jobs() == 0
    with pytest.raises(ValidationError):
        cabinet.reports.start_export(alice, query, "pdf")


def test_an_export_of_a_deactivated_user_fails_with_a_reason(booked: World) -> None:
    cabinet = booked.cabinet
    alice = booked.actor(booked.alice)
    job = cabinet.reports.start_export(alice, cabinet.reports.parse({}), "csv")
    assert booked.alice.id is not None
    cabinet.users.deactivate(booked.actor(booked.admin), booked.alice.id)
    assert cabinet.reports.run_export_jobs() == 1
    failed = cabinet.reports.export_job(alice, job.id)
    assert failed.status is JobStatus.FAILED and failed.error


def test_chart_escapes_labels_and_says_how_many_bars_it_left_out() -> None:
    from cabinet_core.reports.chart import MAX_BARS

    hostile = '<script>alert("x")</script> & Co'
    bars = [(hostile, D("1.00")), *((f"g{i}", D(i)) for i in range(MAX_BARS + 4))]
    root = ElementTree.fromstring(bar_chart(bars, title="t & <u>"))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    first = root.findall("svg:g", ns)[0]
    assert first.get("data-label") == hostile
    assert len(root.findall("svg:g", ns)) == MAX_BARS
    more = [t.text for t in root.findall("svg:text", ns) if t.get("class") == "bar-more"]
    assert more == ["+5"]
    title = root.find("svg:title", ns)
    assert title is not None and title.text == "t & <u>"


def test_finished_exports_are_deleted_after_a_week(booked: World) -> None:
    from datetime import timedelta

    from cabinet_core.reports.jobs import KEEP_FOR

    cabinet = booked.cabinet
    alice = booked.actor(booked.alice)
    job = cabinet.reports.start_export(alice, cabinet.reports.parse({}), "csv")
    assert cabinet.reports.run_export_jobs() == 1
    path, _ = cabinet.reports.export_file(alice, job.id)
    assert path.is_file()
    later = cabinet.store.clock() + KEEP_FOR + timedelta(minutes=1)
    cabinet.store.clock = lambda: later
    assert cabinet.reports.run_export_jobs() == 0
    assert not path.exists()
    with pytest.raises(NotFound):
        cabinet.reports.export_job(alice, job.id)

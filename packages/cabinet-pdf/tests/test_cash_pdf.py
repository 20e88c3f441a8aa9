"""The KP/KW and cash report PDFs: what poland.md §6 says they carry, in Polish and English."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from cabinet_core import Cabinet
from cabinet_core.cashdesk import CashDesk, CashDeskReport, CashSlip, ReportView, SlipKind, SlipView
from cabinet_core.cashdesk.ledger import balance_of, running
from cabinet_core.entities import Client
from cabinet_core.words import amount_in_words
from cabinet_pdf.cash import CashPdfPrinter
from pypdf import PdfReader

DESK = CashDesk(id=3, client_id=1, name="Kasa główna", symbol="KASA", currency="PLN")


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _slip(kind: SlipKind, number: str, amount: str, day: int, slip_id: int) -> CashSlip:
    return CashSlip(
        id=slip_id,
        desk_id=3,
        client_id=1,
        kind=kind,
        number=number,
        on=date(2026, 11, day),
        party_name="Jan Żółkiewski",
        title="Zwrot zaliczki",
        amount=Decimal(amount),
    )


def test_the_cash_printer_is_registered(cabinet: Cabinet) -> None:
    assert any(isinstance(p, CashPdfPrinter) for p in cabinet.cash_printers)


def test_a_kw_prints_recipient_amount_in_words_and_signatures(
    cabinet: Cabinet, client: Client
) -> None:
    slip = _slip(SlipKind.KW, "KW/12/2026/KASA", "1234.50", 5, 1)
    view = SlipView(
        slip=slip,
        desk=DESK,
        client=client,
        amount_in_words={lang: amount_in_words(slip.amount, "PLN", lang) for lang in ("pl", "en")},
        document_number="FV/7/11/2026",
    )
    printed = CashPdfPrinter().print_slip(cabinet, view, language="pl")
    assert printed.filename == "KW_12_2026_KASA.pdf"
    text = _text(printed.content)
    for expected in (
        "KW — Kasa wyda",
        "KW/12/2026/KASA",
        "Komu (odbiorca)",
        "Jan Żółkiewski",
        "1 234,50 PLN",
        "tysiąc dwieście trzydzieści cztery złote 50/100",
        "FV/7/11/2026",
        "Otrzymałem (odbiorca)",
        "Kasjer",
        "Zażółć Gęślą Sp. z o.o.",
    ):
        assert expected in text, expected
    english = _text(CashPdfPrinter().print_slip(cabinet, view, language="en").content)
    assert "KW — Cash payment" in english and "1,234.50 PLN" in english
    assert "one thousand two hundred thirty-four PLN 50/100" in english
    assert PdfReader(io.BytesIO(printed.content)).metadata.title == "KW — Kasa wyda KW/12/2026/KASA"


def test_a_kp_names_the_payer(cabinet: Cabinet, client: Client) -> None:
    slip = _slip(SlipKind.KP, "KP/1/2026/KASA", "10.00", 2, 1)
    view = SlipView(slip=slip, desk=DESK, client=client, amount_in_words={"pl": "dziesięć"})
    text = _text(CashPdfPrinter().print_slip(cabinet, view, language="pl").content)
    assert "KP — Kasa przyjmie" in text and "Od kogo (wpłacający)" in text
    assert "Wpłacający" in text


def test_the_report_lists_entries_with_the_running_balance(
    cabinet: Cabinet, client: Client
) -> None:
    slips = [
        _slip(SlipKind.KP, "KP/1/2026/KASA", "300.00", 3, 1),
        _slip(SlipKind.KW, "KW/1/2026/KASA", "120.25", 4, 2),
    ]
    lines = tuple(running(Decimal("50.00"), slips))
    report = CashDeskReport(
        id=1,
        desk_id=3,
        number="RK/11/2026/KASA",
        period_from=date(2026, 11, 1),
        period_to=date(2026, 11, 30),
        status="approved",
        prepared_by="Anna Kasjer",
        approved_by="Piotr Księgowy",
    )
    view = ReportView(
        report=report,
        desk=DESK,
        client=client,
        lines=lines,
        balance=balance_of(Decimal("50.00"), lines),
    )
    text = " ".join(
        _text(CashPdfPrinter().print_report(cabinet, view, language="pl").content).split()
    )
    for expected in (
        "Raport kasowy",
        "RK/11/2026/KASA",
        "2026-11-01 — 2026-11-30",
        "Stan kasy z poprzedniego raportu",
        "350,00",  # after the KP
        "229,75",  # after the KW: the closing balance
        "120,25",
        "Sporządził",
        "Anna Kasjer",
        "Zatwierdził",
        "Piotr Księgowy",
        "Liczba załączników: 2",
    ):
        assert expected in text, expected
    english = _text(CashPdfPrinter().print_report(cabinet, view, language="en").content)
    assert "Cash report" in english and "Closing balance" in english and "229.75" in english

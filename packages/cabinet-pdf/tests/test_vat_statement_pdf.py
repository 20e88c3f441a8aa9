"""The VAT statement's PDF: both languages, foreign-currency rows, totals, long registers."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from cabinet_core.entities import Address, Client, Party
from cabinet_core.vat import POLAND_2026, TaxRules
from cabinet_core.vat_statement import (
    PURCHASE,
    SALES,
    KTotals,
    Period,
    RegisterEntry,
    RegisterTotals,
    VatMark,
    VatStatement,
    build_row,
    compute_declaration,
)
from cabinet_pdf.vat_statement import PdfStatementRenderer
from pypdf import PdfReader

CLIENT = Client(id=7, name="Alfa sp. z o.o.", nip="1234563218", email="biuro@alfa.example")


def _entry(number: int, *, currency: str = "PLN", purchase: bool = False) -> RegisterEntry:
    rows = [{"rate": "23", "net": "1000.00", "vat": "230.00", "vat_pln": "977.78"}]
    if currency == "PLN":
        rows[0].pop("vat_pln")
    return RegisterEntry(
        document_id=number,
        doc_type="x",
        number=f"FV/{number}/11/2026",
        seller_number="FZ/1" if purchase else None,
        issue_date=date(2026, 11, 10),
        sale_date=None,
        receipt_date=date(2026, 11, 12) if purchase else None,
        currency=currency,
        counterparty=Party(name="Kupiec Łódź", nip="5260001246", address=Address()),
        totals={"rows": rows},
        fx_rate=Decimal("4.2512") if currency != "PLN" else None,
        fx_table="230/A/NBP/2026" if currency != "PLN" else None,
        fx_date=date(2026, 11, 9) if currency != "PLN" else None,
        ksef_number=None,
        line_gtu=("GTU_12",),
        mark=VatMark(document_id=number, client_id=7, non_deductible=True) if purchase else None,
    )


def _statement(count: int) -> VatStatement:
    def rules(_: date) -> TaxRules:
        return POLAND_2026

    sales = tuple(
        build_row(_entry(n, currency="EUR" if n == 1 else "PLN"), side=SALES, lp=n, rules=rules)
        for n in range(1, count + 1)
    )
    purchases = (build_row(_entry(99, purchase=True), side=PURCHASE, lp=1, rules=rules),)
    sold, bought = KTotals(side=SALES), KTotals(side=PURCHASE)
    for row in sales:
        sold.add(row)
    for row in purchases:
        bought.add(row)
    return VatStatement(
        client=CLIENT,
        period=Period(year=2026, number=11),
        sales=sales,
        purchases=purchases,
        sales_totals=RegisterTotals.of(sales, POLAND_2026.order),
        purchase_totals=RegisterTotals.of(purchases, POLAND_2026.order),
        sales_k=sold.k,
        purchase_k=bought.k,
        tax_due=sold.tax,
        tax_deductible=bought.tax,
        declaration=compute_declaration(sold.k, bought.k),
        rate_codes=("23",),
    )


def _text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_statement_prints_its_registers_totals_and_declaration_in_polish() -> None:
    rendered = PdfStatementRenderer().render(_statement(2), language="pl")
    assert rendered.media_type == "application/pdf"
    assert rendered.filename == "zestawienie-vat-7-2026-11.pdf"
    pages, text = _text(rendered.content)
    assert pages == 1
    for expected in (
        "Zestawienie VAT 2026-11",
        "Rejestr sprzedaży VAT",
        "Rejestr zakupów VAT",
        "Kupiec Łódź",
        "4 251,20",  # the EUR row's net in PLN
        "977,78",
        "1 230,00 EUR",
        "GTU_12",
        "VAT nieodliczany",
        "Kwota do wpłaty (P_51)",
    ):
        assert expected in text, expected


def test_the_statement_in_english_and_over_many_pages() -> None:
    rendered = PdfStatementRenderer().render(_statement(120), language="en")
    pages, text = _text(rendered.content)
    assert pages > 2
    assert "Sales VAT register" in text and "VAT payable (P_51)" in text
    assert "FV/120/11/2026" in text
    assert text.count("Document") >= pages - 1  # the heading repeats on every register page

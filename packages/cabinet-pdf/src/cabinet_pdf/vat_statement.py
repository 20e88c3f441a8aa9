"""The VAT statement (Zestawienie VAT) as a PDF: the sales and purchase registers of one client
and period on landscape A4 pages (rows repeat the heading on every page), their totals per
rate, and for a month the declaration's key positions.

Its own layout, independent of the documents' (:mod:`cabinet_pdf.layout`): a register is a wide
table, not a document.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cabinet_core.rendering import Rendered
from cabinet_core.vat_statement import RegisterRow, RegisterTotals, VatStatement
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from cabinet_pdf.fonts import BOLD, REGULAR, register_fonts
from cabinet_pdf.formatting import format_number, format_rate

__all__ = ["PdfStatementRenderer"]

WORDS: Mapping[str, Mapping[str, str]] = {
    "title": {"pl": "Zestawienie VAT", "en": "VAT statement"},
    "period": {"pl": "Okres", "en": "Period"},
    "sales": {"pl": "Rejestr sprzedaży VAT", "en": "Sales VAT register"},
    "purchases": {"pl": "Rejestr zakupów VAT", "en": "Purchase VAT register"},
    "lp": {"pl": "Lp.", "en": "No."},
    "document": {"pl": "Dokument", "en": "Document"},
    "dates": {"pl": "Daty", "en": "Dates"},
    "ksef": {"pl": "KSeF", "en": "KSeF"},
    "counterparty": {"pl": "Kontrahent", "en": "Counterparty"},
    "rates": {"pl": "Stawka: netto / VAT", "en": "Rate: net / VAT"},
    "net": {"pl": "Netto", "en": "Net"},
    "vat": {"pl": "VAT", "en": "VAT"},
    "gross": {"pl": "Brutto", "en": "Gross"},
    "markers": {"pl": "Oznaczenia", "en": "Markers"},
    "none": {"pl": "Brak dokumentów w okresie.", "en": "No documents in the period."},
    "totals": {"pl": "Razem według stawek (PLN)", "en": "Totals per rate (PLN)"},
    "total": {"pl": "Razem", "en": "Total"},
    "rate": {"pl": "Stawka", "en": "Rate"},
    "not_deductible": {"pl": "VAT nieodliczany", "en": "VAT not deductible"},
    "declaration": {"pl": "Deklaracja VAT-7 (zł)", "en": "VAT-7 declaration (PLN)"},
    "P_37": {"pl": "Podstawa opodatkowania (P_37)", "en": "Tax base (P_37)"},
    "P_38": {"pl": "Podatek należny (P_38)", "en": "Output VAT (P_38)"},
    "P_48": {"pl": "Podatek naliczony do odliczenia (P_48)", "en": "Input VAT deducted (P_48)"},
    "P_51": {"pl": "Kwota do wpłaty (P_51)", "en": "VAT payable (P_51)"},
    "P_62": {"pl": "Nadwyżka do przeniesienia (P_62)", "en": "Surplus carried forward (P_62)"},
    "amounts_in": {"pl": "Kwoty w PLN", "en": "Amounts in PLN"},
    "no_jpk": {"pl": "poza JPK", "en": "not in JPK"},
    "no_rate": {"pl": "brak kursu", "en": "no exchange rate"},
}


def _w(key: str, language: str) -> str:
    words = WORDS[key]
    return words.get(language, words["en"])


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=7, leading=8.5)
    return {
        "base": base,
        "right": ParagraphStyle("right", parent=base, alignment=2),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=14, leading=17),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=10, leading=13),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _money(value: Decimal, language: str) -> str:
    return format_number(value, language)


def _grid() -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ]
    )


def _row(row: RegisterRow, language: str, styles: Mapping[str, ParagraphStyle]) -> list[Any]:
    base, right = styles["base"], styles["right"]
    document = _esc(row.number)
    if row.register_number:
        document += f"<br/>{_esc(row.register_number)}"
    if row.rate_missing and row.currency_gross is not None:
        amount = _money(row.currency_gross, language)
        document += f"<br/>{amount} {row.currency} ({_w('no_rate', language)})"
    elif row.foreign and row.currency_gross is not None and row.exchange_rate is not None:
        document += (
            f"<br/>{_money(row.currency_gross, language)} {row.currency}"
            f" × {format_number(row.exchange_rate, language, places=None)}"
            f"<br/>{_esc(row.rate_table or '')} {row.rate_date or ''}"
        )
    dates = row.issue_date.isoformat() + (f"<br/>{row.other_date}" if row.other_date else "")
    party = f"{_esc(row.counterparty_name)}<br/>{row.country} {_esc(row.tax_id)}"
    rates = "<br/>".join(
        f"{format_rate(amount.rate)}: {_money(amount.net_pln, language)}"
        f" / {_money(amount.vat_pln, language)}"
        for amount in row.amounts
    )
    markers = " ".join(filter(None, (*row.markers, row.document_kind or "")))
    if row.non_deductible:
        markers = f"{markers} {_w('not_deductible', language)} ({_w('no_jpk', language)})".strip()
    elif row.non_deductible_vat_pln:
        markers = (
            f"{markers} {_w('not_deductible', language)}: "
            f"{_money(row.non_deductible_vat_pln, language)}"
        ).strip()
    return [
        Paragraph(str(row.lp), base),
        Paragraph(document, base),
        Paragraph(dates, base),
        Paragraph(_esc(row.ksef_number or row.ksef_marker), base),
        Paragraph(party, base),
        Paragraph(rates, base),
        Paragraph(_money(row.net_pln, language), right),
        Paragraph(_money(row.vat_pln, language), right),
        Paragraph(_money(row.gross_pln, language), right),
        Paragraph(_esc(markers), base),
    ]


_WIDTHS = [9 * mm, 40 * mm, 19 * mm, 40 * mm, 48 * mm, 44 * mm, 19 * mm, 17 * mm, 19 * mm, 22 * mm]


def _register(
    title: str,
    rows: Sequence[RegisterRow],
    totals: RegisterTotals,
    language: str,
    styles: Mapping[str, ParagraphStyle],
) -> list[Flowable]:
    story: list[Flowable] = [Spacer(1, 4 * mm), Paragraph(title, styles["h2"])]
    if not rows:
        return [*story, Paragraph(_w("none", language), styles["small"])]
    head = [
        Paragraph(_w(key, language), styles["head"])
        for key in (
            "lp", "document", "dates", "ksef", "counterparty", "rates", "net", "vat", "gross",
            "markers",
        )
    ]  # fmt: skip
    table = Table(
        [head, *(_row(row, language, styles) for row in rows)],
        colWidths=_WIDTHS,
        repeatRows=1,
    )
    table.setStyle(_grid())
    story.append(table)
    story.append(Spacer(1, 2 * mm))
    story.append(_totals(totals, language, styles))
    return story


def _totals(
    totals: RegisterTotals, language: str, styles: Mapping[str, ParagraphStyle]
) -> Flowable:
    right = styles["right"]
    data: list[list[Any]] = [
        [Paragraph(_w(key, language), styles["head"]) for key in ("rate", "net", "vat", "gross")]
    ]
    for rate in totals.rates:
        data.append(
            [
                Paragraph(format_rate(rate.rate), styles["base"]),
                Paragraph(_money(rate.net_pln, language), right),
                Paragraph(_money(rate.vat_pln, language), right),
                Paragraph(_money(rate.gross_pln, language), right),
            ]
        )
    data.append(
        [
            Paragraph(_w("total", language), styles["head"]),
            Paragraph(_money(totals.net_pln, language), right),
            Paragraph(_money(totals.vat_pln, language), right),
            Paragraph(_money(totals.gross_pln, language), right),
        ]
    )
    if totals.non_deductible_vat_pln:
        data.append(
            [
                Paragraph(_w("not_deductible", language), styles["base"]),
                "",
                Paragraph(_money(totals.non_deductible_vat_pln, language), right),
                "",
            ]
        )
    table = Table(data, colWidths=[40 * mm, 28 * mm, 28 * mm, 28 * mm], hAlign="LEFT")
    table.setStyle(_grid())
    return table


class PdfStatementRenderer:
    """``application/pdf``: the VAT statement in Polish or English."""

    media_type = "application/pdf"

    def render(self, statement: VatStatement, *, language: str) -> Rendered:
        register_fonts()
        language = "en" if language == "en" else "pl"
        styles = _styles()
        client = statement.client
        buffer = io.BytesIO()
        title = f"{_w('title', language)} {statement.period}"
        page = SimpleDocTemplate(
            buffer,
            pagesize=landscape(A4),
            leftMargin=10 * mm,
            rightMargin=10 * mm,
            topMargin=10 * mm,
            bottomMargin=10 * mm,
            title=title,
            author=client.name,
            invariant=1,
        )
        story: list[Flowable] = [
            Paragraph(_esc(title), styles["title"]),
            Paragraph(
                f"{_esc(client.name)}, NIP {_esc(client.nip or '—')} · "
                f"{_w('period', language)}: {statement.period.first_day} – "
                f"{statement.period.last_day} · {_w('amounts_in', language)}",
                styles["small"],
            ),
        ]
        story += _register(
            _w("sales", language), statement.sales, statement.sales_totals, language, styles
        )
        story += _register(
            _w("purchases", language),
            statement.purchases,
            statement.purchase_totals,
            language,
            styles,
        )
        if statement.declaration is not None:
            story += [Spacer(1, 4 * mm), Paragraph(_w("declaration", language), styles["h2"])]
            data = [
                [
                    Paragraph(_w(key, language), styles["base"]),
                    Paragraph(str(statement.declaration[key]), styles["right"]),
                ]
                for key in ("P_37", "P_38", "P_48", "P_51", "P_62")
            ]
            table = Table(data, colWidths=[70 * mm, 25 * mm], hAlign="LEFT")
            table.setStyle(_grid())
            story.append(table)
        page.build(story)
        return Rendered(
            content=buffer.getvalue(),
            media_type=self.media_type,
            filename=f"{statement.file_stem}.pdf",
        )

"""KP, KW and the cash report (raport kasowy) as PDF: the layouts of
:class:`cabinet_core.cashdesk.printing.CashPrinter`.

A KP (*kasa przyjmie*) or KW (*kasa wyda*) prints the company, number and date, the payer or
recipient, the title, the amount in figures and in words, the invoice it pays and the
signature lines poland.md §6 lists (a KW is also signed by the recipient). The report lists
its entries in order with the running balance, the sums, the closing balance and the
*sporządził* / *zatwierdził* lines.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cabinet_core.cashdesk.entities import SlipKind
from cabinet_core.cashdesk.printing import ReportView, SlipView
from cabinet_core.entities import Client
from cabinet_core.rendering import Rendered
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from cabinet_pdf.branding import logo_image
from cabinet_pdf.fonts import BOLD, REGULAR, register_fonts
from cabinet_pdf.formatting import format_amount, format_date, format_number
from cabinet_pdf.layout import Look, colour, draw_page
from cabinet_pdf.postprocess import FlateCanvas, language_tag
from cabinet_pdf.renderer import PRODUCER

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet

__all__ = ["CashPdfPrinter"]

_WORDS: Mapping[str, Mapping[str, str]] = {
    "KP": {"pl": "KP — Kasa przyjmie", "en": "KP — Cash receipt"},
    "KW": {"pl": "KW — Kasa wyda", "en": "KW — Cash payment"},
    "report": {"pl": "Raport kasowy", "en": "Cash report"},
    "date": {"pl": "Data", "en": "Date"},
    "desk": {"pl": "Kasa", "en": "Cash desk"},
    "payer": {"pl": "Od kogo (wpłacający)", "en": "Received from (payer)"},
    "recipient": {"pl": "Komu (odbiorca)", "en": "Paid to (recipient)"},
    "title": {"pl": "Tytułem", "en": "Title"},
    "amount": {"pl": "Kwota", "en": "Amount"},
    "in_words": {"pl": "Słownie", "en": "In words"},
    "pays": {"pl": "Dotyczy dokumentu", "en": "Pays document"},
    "cashier": {"pl": "Kasjer (wypłacił/przyjął)", "en": "Cashier"},
    "issued_by": {"pl": "Wystawił", "en": "Issued by"},
    "received_by": {"pl": "Otrzymałem (odbiorca)", "en": "Received (recipient)"},
    "paid_by": {"pl": "Wpłacający", "en": "Payer"},
    "period": {"pl": "Okres", "en": "Period"},
    "lp": {"pl": "Lp.", "en": "No."},
    "document": {"pl": "Dowód", "en": "Document"},
    "description": {"pl": "Kontrahent, tytuł", "en": "Counterparty, title"},
    "receipt": {"pl": "Przychód", "en": "Receipts"},
    "payment": {"pl": "Rozchód", "en": "Payments"},
    "balance": {"pl": "Saldo", "en": "Balance"},
    "opening": {"pl": "Stan kasy z poprzedniego raportu", "en": "Opening balance"},
    "totals": {"pl": "Razem obroty", "en": "Totals"},
    "closing": {"pl": "Stan kasy na koniec okresu", "en": "Closing balance"},
    "attachments": {"pl": "Liczba załączników", "en": "Attachments"},
    "prepared": {"pl": "Sporządził", "en": "Prepared by"},
    "approved": {"pl": "Zatwierdził", "en": "Approved by"},
    "status": {"pl": "Stan", "en": "Status"},
    "open": {"pl": "otwarty", "en": "open"},
    "closed": {"pl": "zamknięty", "en": "closed"},
    "approved_state": {"pl": "zatwierdzony", "en": "approved"},
    "none": {"pl": "brak wpisów w okresie", "en": "no entries in the period"},
}


def _w(key: str, language: str) -> str:
    words = _WORDS[key]
    return words.get(language, words["pl"])


def _styles(look: Look) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=9, leading=12)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle(
            "title", parent=base, fontName=BOLD, fontSize=16, leading=20, textColor=look.primary
        ),
        "bold": ParagraphStyle("bold", parent=base, fontName=BOLD),
        "th": ParagraphStyle(
            "th", parent=base, fontName=BOLD, fontSize=7.5, leading=9.5, textColor=colors.white
        ),
        "right": ParagraphStyle("right", parent=base, alignment=2),
        "right_bold": ParagraphStyle("right_bold", parent=base, alignment=2, fontName=BOLD),
    }


def _company(client: Client, style: ParagraphStyle) -> Paragraph:
    address = client.address
    parts = [f"<b>{_escape(client.name)}</b>"]
    if address.line1:
        parts.append(_escape(address.line1))
    if address.postal_code or address.city:
        parts.append(_escape(f"{address.postal_code} {address.city}".strip()))
    if client.nip:
        parts.append(f"NIP {_escape(client.nip)}")
    return Paragraph("<br/>".join(parts), style)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _grid(look: Look) -> list[Any]:
    return [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), look.primary),
    ]


def _signatures(labels: Sequence[str], names: Sequence[str], style: ParagraphStyle) -> Table:
    cells = [
        Paragraph(
            f"{_escape(name)}<br/>........................................<br/>{label}", style
        )
        for label, name in zip(labels, names, strict=True)
    ]
    table = Table([cells], colWidths=[180 * mm / len(cells)] * len(cells))
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 14 * mm)]))
    return table


class CashPdfPrinter:
    """Prints KP/KW slips and cash reports to PDF (DejaVu Sans, A4), in Polish or English."""

    media_type = "application/pdf"

    def _look(self, cabinet: Cabinet) -> Look:
        # The admins' branding page, the environment winning (cabinet.branding).
        branding = cabinet.branding.for_documents()
        return Look(
            firm_name=branding.firm_name,
            primary=colour(branding.primary_color, "#1f4e79"),
            accent=colour(branding.accent_color, "#f2a900"),
            logo=logo_image(branding.logo_url),
        )

    def _build(
        self,
        look: Look,
        story: list[Flowable],
        *,
        title: str,
        author: str,
        language: str,
        filename: str,
    ) -> Rendered:
        buffer = io.BytesIO()
        page = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=18 * mm,
            invariant=1,
        )

        def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            draw_page(canvas, doc.page, look, language)

        page.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=FlateCanvas)
        # pypdf (tens of MB) is loaded by the first PDF, not by every web process at start.
        from cabinet_pdf.finishing import Metadata, finish

        content = finish(
            buffer.getvalue(),
            metadata=Metadata(
                title=title,
                author=author,
                subject=title,
                creator=f"cabinet — {look.firm_name}",
                producer=PRODUCER,
            ),
            lang=language_tag(language),
        )
        return Rendered(content=content, media_type=self.media_type, filename=filename)

    def print_slip(self, cabinet: Cabinet, view: SlipView, *, language: str) -> Rendered:
        """A KP or KW with its signature lines."""
        register_fonts()
        language = "en" if language == "en" else "pl"
        look = self._look(cabinet)
        s = _styles(look)
        slip, desk = view.slip, view.desk
        kind = slip.kind.value
        number = slip.number or ""
        party_key = "payer" if slip.kind is SlipKind.KP else "recipient"
        rows = [
            [
                Paragraph(_w("date", language), s["bold"]),
                Paragraph(format_date(slip.on), s["base"]),
            ],
            [
                Paragraph(_w("desk", language), s["bold"]),
                Paragraph(_escape(f"{desk.name} ({desk.symbol}, {desk.currency})"), s["base"]),
            ],
            [
                Paragraph(_w(party_key, language), s["bold"]),
                Paragraph(_escape(slip.party_name), s["base"]),
            ],
            [
                Paragraph(_w("title", language), s["bold"]),
                Paragraph(_escape(slip.title), s["base"]),
            ],
            [
                Paragraph(_w("amount", language), s["bold"]),
                Paragraph(format_amount(slip.amount, desk.currency, language), s["bold"]),
            ],
            [
                Paragraph(_w("in_words", language), s["bold"]),
                Paragraph(_escape(view.amount_in_words.get(language, "")), s["base"]),
            ],
        ]
        if view.document_number:
            rows.append(
                [
                    Paragraph(_w("pays", language), s["bold"]),
                    Paragraph(_escape(view.document_number), s["base"]),
                ]
            )
        details = Table(rows, colWidths=[50 * mm, 130 * mm])
        details.setStyle(
            TableStyle(
                [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
            )
        )
        if slip.kind is SlipKind.KP:
            signers = [_w("issued_by", language), _w("paid_by", language), _w("cashier", language)]
        else:
            signers = [
                _w("issued_by", language),
                _w("cashier", language),
                _w("received_by", language),
            ]
        title = f"{_w(kind, language)} {number}"
        story: list[Flowable] = [
            _company(view.client, s["base"]),
            Spacer(1, 6 * mm),
            Paragraph(_escape(_w(kind, language)), s["title"]),
            Paragraph(_escape(number), s["bold"]),
            Spacer(1, 5 * mm),
            details,
            Spacer(1, 4 * mm),
            _signatures(signers, ["", "", ""], s["small"]),
        ]
        filename = f"{number.replace('/', '_')}.pdf"
        return self._build(
            look, story, title=title, author=view.client.name, language=language, filename=filename
        )

    def print_report(self, cabinet: Cabinet, view: ReportView, *, language: str) -> Rendered:
        """The cash report: its entries with the running balance, sums and signatures."""
        register_fonts()
        language = "en" if language == "en" else "pl"
        look = self._look(cabinet)
        s = _styles(look)
        report, desk, balance = view.report, view.desk, view.balance

        def money(value: Any, style: str = "right") -> Paragraph:
            return Paragraph(format_number(value, language), s[style])

        head = [
            Paragraph(_w(key, language), s["th"])
            for key in ("lp", "date", "document", "description", "receipt", "payment", "balance")
        ]
        rows: list[list[Any]] = [head]
        rows.append(
            [
                Paragraph(_w("opening", language), s["bold"]),
                "",
                "",
                "",
                "",
                "",
                money(balance.opening, "right_bold"),
            ]
        )
        for index, line in enumerate(view.lines, start=1):
            slip = line.slip
            rows.append(
                [
                    Paragraph(str(index), s["base"]),
                    Paragraph(format_date(slip.on), s["base"]),
                    Paragraph(_escape(slip.number or ""), s["base"]),
                    Paragraph(_escape(f"{slip.party_name} — {slip.title}"), s["base"]),
                    money(line.receipt) if line.receipt else "",
                    money(line.payment) if line.payment else "",
                    money(line.balance),
                ]
            )
        if not view.lines:
            rows.append(["", "", "", Paragraph(_w("none", language), s["small"]), "", "", ""])
        rows.append(
            [
                Paragraph(_w("totals", language), s["bold"]),
                "",
                "",
                "",
                money(balance.receipts, "right_bold"),
                money(balance.payments, "right_bold"),
                "",
            ]
        )
        rows.append(
            [
                Paragraph(_w("closing", language), s["bold"]),
                "",
                "",
                "",
                "",
                "",
                money(balance.closing, "right_bold"),
            ]
        )
        table = Table(
            rows,
            colWidths=[9 * mm, 23 * mm, 32 * mm, 56 * mm, 20 * mm, 20 * mm, 20 * mm],
            repeatRows=1,
        )
        last = len(rows) - 1
        # The opening, totals and closing labels span the columns of an entry's description.
        spans = [("SPAN", (0, row), (3, row)) for row in (1, last - 1, last)]
        table.setStyle(TableStyle([*_grid(look), *spans]))
        state = {"open": "open", "closed": "closed", "approved": "approved_state"}.get(
            report.status, "open"
        )
        period = f"{format_date(report.period_from)} — {format_date(report.period_to)}"
        facts = (
            f"{_w('desk', language)}: {_escape(desk.name)} ({_escape(desk.symbol)}, "
            f"{desk.currency})<br/>{_w('period', language)}: {period}<br/>"
            f"{_w('status', language)}: {_w(state, language)}<br/>"
            f"{_w('attachments', language)}: {len(view.lines)}"
        )
        number = report.number or ""
        title = f"{_w('report', language)} {number}"
        story: list[Flowable] = [
            _company(view.client, s["base"]),
            Spacer(1, 6 * mm),
            Paragraph(_escape(_w("report", language)), s["title"]),
            Paragraph(_escape(number), s["bold"]),
            Paragraph(facts, s["base"]),
            Spacer(1, 4 * mm),
            table,
            Spacer(1, 4 * mm),
            _signatures(
                [_w("prepared", language), _w("approved", language)],
                [report.prepared_by, report.approved_by],
                s["small"],
            ),
        ]
        filename = f"{number.replace('/', '_')}.pdf"
        return self._build(
            look, story, title=title, author=view.client.name, language=language, filename=filename
        )

"""The page layout of documents, as reportlab platypus flowables.

One layout serves every type: the firm's branding, a heading with the title and number,
the dates, the two parties, the lines (before/after blocks on a correcting invoice), VAT per
rate, the total due with the amount in words, the statutory markers (art. 106e ust. 1 pkt 16-19),
payment details, the type's own fields and notes. Types without lines (a contract, a cash
report, a plugin's power of attorney) simply print no lines table. What a built-in type prints
differently (its title, the parties' names) comes from :mod:`cabinet_pdf.printed_types`. The
template's :class:`~cabinet_pdf.themes.Theme` decides how each block is drawn, never what it says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import attrs
from cabinet_core.doctypes import DocumentType
from cabinet_core.doctypes.common import parse_field
from cabinet_core.entities import (
    Address,
    Client,
    Document,
    DocumentLine,
    DocumentTotals,
    Party,
    PriceMode,
)
from cabinet_core.ksef.submission import VerificationCode
from cabinet_core.money import round_money
from cabinet_core.vat import (
    POLAND_2026,
    CorrectionTotals,
    TaxRules,
    UnknownVatRate,
)
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from cabinet_pdf.fonts import BOLD, REGULAR
from cabinet_pdf.formatting import (
    format_amount,
    format_date,
    format_number,
    format_price,
    format_rate,
)
from cabinet_pdf.labels import (
    LABELS,
    MARKERS,
    PAYMENT_METHODS,
    label,
    languages_of,
    pick,
    statutory,
)
from cabinet_pdf.printed_types import Block, printed_type
from cabinet_pdf.themes import CLASSIC, Theme, tint
from cabinet_pdf.verification import verification_block

#: Extra fields printed by their own blocks (markers, the corrected invoice), not as rows.
PRINTED_ELSEWHERE = frozenset(
    {
        "cash_method",
        "split_payment",
        "exemption_basis",
        "corrected_number",
        "corrected_issue_date",
        "corrected_ksef_number",
        "breakdown",
    }
)

LABELS_NOT_VAT = LABELS["not_vat_invoice"]

#: The logo's box in the page header.
LOGO_HEIGHT = 14 * mm
LOGO_MAX_WIDTH = 45 * mm


@attrs.frozen(kw_only=True)
class Look:
    """Whose name the document's banner and footer carry, as the layout uses it: the firm's
    branding, or for a document the client sends out in its own name, the client's identity
    (:func:`cabinet_pdf.identity.issuer_look`)."""

    firm_name: str
    primary: colors.Color
    accent: colors.Color
    theme: Theme = CLASSIC
    logo: ImageReader | None = None
    #: A line under the name in the banner (the client's address and NIP); empty for the firm.
    identity: str = ""
    #: The footer's note; empty: "Issued in the client cabinet of <firm_name>".
    footer: str = ""

    def logo_size(self, height: float = LOGO_HEIGHT) -> tuple[float, float]:
        """The logo's drawn size: ``height`` tall, narrower if it would exceed the box."""
        if self.logo is None:
            return 0.0, 0.0
        width_px, height_px = self.logo.getSize()
        width = height * width_px / max(height_px, 1)
        if width > LOGO_MAX_WIDTH:
            return LOGO_MAX_WIDTH, LOGO_MAX_WIDTH * height_px / max(width_px, 1)
        return width, height


class LogoFlowable(Flowable):
    """The firm's logo drawn from an already-read image (platypus ``Image`` wants a file)."""

    def __init__(self, image: ImageReader, width: float, height: float) -> None:
        super().__init__()
        self.image = image
        self.width = width
        self.height = height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        """The logo's fixed size (platypus's signature)."""
        return self.width, self.height

    def draw(self) -> None:
        """Draw the image at the flowable's origin; transparency kept."""
        self.canv.drawImage(self.image, 0, 0, self.width, self.height, mask="auto")


def colour(value: str, fallback: str) -> colors.Color:
    """A ``#rrggbb`` setting as a reportlab colour; a malformed setting falls back quietly
    because a branding typo must not make documents unprintable."""
    try:
        return colors.HexColor(value)
    except (ValueError, TypeError):
        return colors.HexColor(fallback)


def _styles(look: Look) -> dict[str, ParagraphStyle]:
    theme = look.theme
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=8.5, leading=11)
    # Classic: serif headings in black, table heads white on the primary colour. Modern: sans
    # headings in the primary colour, table heads in the primary colour on white.
    heading_colour = colors.black if theme.grid else look.primary
    th_colour = colors.white if theme.grid else look.primary
    size = theme.title_size
    return {
        "base": base,
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=theme.heading_font,
            fontSize=size,
            leading=size * 1.25,
            textColor=look.primary,
        ),
        "number": ParagraphStyle("number", parent=base, fontName=BOLD, fontSize=11, leading=14),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontName=theme.heading_font,
            fontSize=9,
            leading=12,
            textColor=heading_colour,
        ),
        "firm": ParagraphStyle(
            "firm", parent=base, fontName=theme.heading_font, fontSize=10, leading=13
        ),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "th": ParagraphStyle(
            "th", parent=base, fontName=BOLD, fontSize=7.5, leading=9.5, textColor=th_colour
        ),
        "due": ParagraphStyle("due", parent=base, fontName=BOLD, fontSize=12, leading=16),
        "marker": ParagraphStyle("marker", parent=base, fontName=BOLD, fontSize=9, leading=12),
    }


def document_title(document: Document, language: str, document_type: DocumentType | None) -> str:
    """The printed title: the built-in title, else the type's own label, else its key."""
    title = printed_type(document.doc_type).title_on(document.issue_date)
    if title is not None:
        return pick(title, language)
    if document_type is not None:
        return pick(document_type.label, language)
    return document.doc_type


def line_value(line: DocumentLine, currency: str) -> Decimal:
    """A line's value (FA(3) ``P_11``, or ``P_11A`` with gross prices): quantity × unit price,
    rounded once to the currency's minor unit as :mod:`cabinet_core.vat` does."""
    return round_money(line.quantity * line.unit_price, currency)


def _address_lines(address: Address) -> list[str]:
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [address.line1, address.line2, city]
    if address.country and address.country != "PL":
        lines.append(address.country)
    return [line for line in lines if line]


def _party_paragraph(party: Party, language: str, style: ParagraphStyle) -> Paragraph:
    rows = [f"<b>{escape(party.name)}</b>"]
    rows += [escape(line) for line in _address_lines(party.address)]
    if party.nip:
        rows.append(f"{escape(label('nip', language))}: {escape(party.nip)}")
    if party.vat_eu:
        rows.append(f"{escape(label('vat_eu', language))}: {escape(party.vat_eu)}")
    return Paragraph("<br/>".join(rows), style)


def client_party(client: Client) -> Party:
    """The client as a party, for documents saved without a seller or buyer snapshot."""
    return Party(name=client.name, nip=client.nip, address=client.address, email=client.email)


def _grid(look: Look, *, total_row: bool = False) -> list[Any]:
    """A table whose first row is a heading: ruled with a coloured head (classic), or open with
    an accent rule under the head and tinted alternate rows (modern)."""
    padding = look.theme.cell_padding
    commands: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, 0), BOLD),
        ("FONTSIZE", (0, 0), (-1, 0), 7.5),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
    ]
    if look.theme.grid:
        commands += [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
            ("BACKGROUND", (0, 0), (-1, 0), look.primary),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ]
    else:
        commands += [
            ("TEXTCOLOR", (0, 0), (-1, 0), look.primary),
            ("LINEBELOW", (0, 0), (-1, 0), 1.2, look.accent),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, tint(look.primary, 0.92)]),
        ]
    if total_row:
        commands.append(("FONTNAME", (0, -1), (-1, -1), BOLD))
        if not look.theme.grid:
            commands.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, look.primary))
    return commands


def draw_page(
    canvas: Canvas, page_number: int, look: Look, language: str, reference: str = ""
) -> None:
    """What every page carries besides the story: the footer (the firm, ``reference`` — the
    document's title and number, so a continuation page says whose page it is — and the page
    number) and, in the modern template, the band with the firm's name and logo."""
    width, height = A4
    canvas.saveState()
    band = look.theme.band_height
    if band:
        canvas.setFillColor(look.primary)
        canvas.rect(0, height - band, width, band, stroke=0, fill=1)
        canvas.setFillColor(look.accent)
        canvas.rect(0, height - band - 1.2 * mm, width, 1.2 * mm, stroke=0, fill=1)
        x = 15 * mm
        if look.logo is not None:
            logo_w, logo_h = look.logo_size(band - 6 * mm)
            canvas.drawImage(look.logo, x, height - band + 3 * mm, logo_w, logo_h, mask="auto")
            x += logo_w + 4 * mm
        canvas.setFillColor(colors.white)
        canvas.setFont(BOLD, 13)
        if look.identity:
            canvas.drawString(x, height - band / 2 + 0.5, look.firm_name)
            canvas.setFont(REGULAR, 7.5)
            canvas.drawString(x, height - band / 2 - 9, look.identity)
        else:
            canvas.drawString(x, height - band / 2 - 4.5, look.firm_name)
    canvas.setFont(REGULAR, 7)
    canvas.setFillColor(look.primary)
    footer = look.footer or f"{label('issued_in', language)}: {look.firm_name}"
    canvas.drawString(15 * mm, 10 * mm, footer)
    page = f"{label('page', language)} {page_number}"
    canvas.drawRightString(width - 15 * mm, 10 * mm, f"{reference} · {page}" if reference else page)
    canvas.restoreState()


class Layout:
    """Builds the flowables of one document; see :func:`build_story`."""

    def __init__(
        self,
        document: Document,
        *,
        client: Client,
        document_type: DocumentType | None,
        totals: DocumentTotals | None,
        amount_words: Sequence[str],
        look: Look,
        language: str,
        correction: CorrectionTotals | None = None,
        rules: TaxRules = POLAND_2026,
        split_payment: bool = False,
        ksef_number: str | None = None,
        verification_codes: Sequence[VerificationCode] = (),
        offline_mode: str | None = None,
    ) -> None:
        self.rules = rules
        self.offline_mode = offline_mode
        self.split_payment = split_payment
        self.ksef_number = ksef_number
        self.verification_codes = tuple(verification_codes)
        self.printed = printed_type(document.doc_type)
        self.document = document
        self.client = client
        self.document_type = document_type
        self.totals = totals
        self.correction = correction
        self.amount_words = amount_words
        self.look = look
        self.language = language
        self.styles = _styles(look)

    def label(self, key: str) -> str:
        """A printed label in the document's language(s)."""
        return label(key, self.language)

    def p(self, text: str, style: str = "base") -> Paragraph:
        """A paragraph of already-escaped ``text`` in one of the layout's styles."""
        return Paragraph(text, self.styles[style])

    def fit(self, text: str, width: float, style: str = "base") -> str | Paragraph:
        """``text`` as a plain table cell when it fits on one line of a ``width`` column (a
        table draws plain strings far faster than paragraphs), else a wrapping paragraph."""
        paragraph_style = self.styles[style]
        padding = 2 * self.look.theme.cell_padding + 2
        if "\n" not in text and (
            stringWidth(text, paragraph_style.fontName, paragraph_style.fontSize) <= width - padding
        ):
            return text
        return self.p(escape(text), style)

    def heads(self, texts: Sequence[str], widths: Sequence[float]) -> list[str | Paragraph]:
        """A table's heading row (see :meth:`fit`)."""
        return [self.fit(text, width, "th") for text, width in zip(texts, widths, strict=True)]

    def amount(self, value: Decimal) -> str:
        """An amount with the document's currency."""
        return format_amount(value, self.document.currency, self.language)

    def number(self, value: Decimal, places: int | None = 2) -> str:
        """A number in the document's convention (see :func:`format_number`)."""
        return format_number(value, self.language, places=places)

    # -- blocks -------------------------------------------------------------------------------
    def branding(self) -> list[Flowable]:
        """The firm's logo and name above the title (the modern band carries them instead)."""
        look = self.look
        if look.theme.band_height:
            return []
        cells: list[Any] = []
        widths: list[float] = []
        if look.logo is not None:
            logo_w, logo_h = look.logo_size()
            cells.append(LogoFlowable(look.logo, logo_w, logo_h))
            widths.append(logo_w + 4 * mm)
        name = escape(look.firm_name)
        if look.identity:
            name += f'<br/><font face="{REGULAR}" size="7.5">{escape(look.identity)}</font>'
        cells.append(self.p(name, "firm"))
        widths.append(180 * mm - sum(widths))
        table = Table([cells], colWidths=widths)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.6, look.primary),
                ]
            )
        )
        return [table, Spacer(1, 3 * mm)]

    def heading(self) -> list[Flowable]:
        """Title, a rule in the accent colour (classic), the number and the dates; the status
        of a cost invoice; the invoice a correcting invoice corrects."""
        doc = self.document
        title = document_title(doc, self.language, self.document_type)
        left = []
        if doc.number:
            left.append(self.p(f"{escape(self.label('number'))} {escape(doc.number)}", "number"))
        if self.ksef_number:
            left.append(
                self.p(f"{escape(self.label('ksef_number'))}: <b>{escape(self.ksef_number)}</b>")
            )
        if self.printed.prints_status and self.document_type is not None:
            try:
                state = pick(self.document_type.workflow.state(doc.status).label, self.language)
            except KeyError:
                state = doc.status
            left.append(self.p(f"{escape(self.label('status'))}: <b>{escape(state)}</b>"))
        dates = [("issue_date", doc.issue_date), ("sale_date", doc.sale_date)]
        dates += [("receipt_date", doc.receipt_date), ("due_date", doc.due_date)]
        right = [
            self.p(f"{escape(self.label(key))}: <b>{format_date(value)}</b>", "right")
            for key, value in dates
            if value is not None
        ]
        table = Table([[left, right]], colWidths=[90 * mm, 90 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        out: list[Flowable] = [self.p(escape(title), "title")]
        if self.look.theme.grid:
            out.append(
                HRFlowable(width="100%", thickness=1.5, color=self.look.accent, spaceAfter=2 * mm)
            )
        else:
            out.append(Spacer(1, 2 * mm))
        out += [table, *self.corrected_invoice(), Spacer(1, self.look.theme.gap)]
        return out

    def corrected_invoice(self) -> list[Flowable]:
        """A correcting invoice names the invoice it corrects: number, date and, when it was
        issued in KSeF, its KSeF number (FA(3) ``DaneFaKorygowanej``); then the reason."""
        extra = self.document.extra
        number = str(extra.get("corrected_number") or "").strip()
        if not number:
            return []
        text = f"{escape(self.label('corrected_invoice'))}: <b>{escape(number)}</b>"
        issued = str(extra.get("corrected_issue_date") or "").strip()
        if issued:
            text += f" {escape(self.label('of_date'))} <b>{escape(issued)}</b>"
        rows = [self.p(text)]
        ksef = str(extra.get("corrected_ksef_number") or "").strip()
        if ksef:
            rows.append(self.p(f"{escape(self.label('ksef_number'))}: <b>{escape(ksef)}</b>"))
        reason = str(extra.get("reason") or "").strip()
        if reason:
            rows.append(self.p(f"{escape(self.label('reason'))}: {escape(reason)}"))
        return [Spacer(1, 2 * mm), *rows]

    def parties(self) -> list[Flowable]:
        """The two parties side by side (only the company on a cash report)."""
        doc = self.document
        if self.printed.internal:
            heads: list[Any] = [self.p(escape(self.label("company")), "heading"), ""]
            body: list[Any] = [
                _party_paragraph(client_party(self.client), self.language, self.styles["base"]),
                "",
            ]
        else:
            seller, buyer = doc.seller, doc.buyer
            # The client buys on a cost invoice or a correction request; elsewhere it issues.
            if self.document_type is not None and self.document_type.client_is_buyer:
                buyer = buyer or client_party(self.client)
            else:
                seller = seller or client_party(self.client)
            left, right = self.printed.parties
            heads = [self.p(escape(self.label(key)), "heading") for key in (left, right)]
            body = [
                _party_paragraph(party, self.language, self.styles["base"]) if party else ""
                for party in (seller, buyer)
            ]
        style: list[Any] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
        if self.look.theme.boxed_parties:
            # Classic: each party in its own box with a shaded heading, a gutter between them.
            table = Table(
                [[heads[0], "", heads[1]], [body[0], "", body[1]]],
                colWidths=[87 * mm, 6 * mm, 87 * mm],
            )
            shade = tint(self.look.primary, 0.85)
            for column in (0, 2):
                if heads[column // 2] and (body[column // 2] or column == 0):
                    style += [
                        ("BOX", (column, 0), (column, -1), 0.8, self.look.primary),
                        ("BACKGROUND", (column, 0), (column, 0), shade),
                        ("LINEBELOW", (column, 0), (column, 0), 0.4, self.look.primary),
                    ]
            table.setStyle(TableStyle(style))
            return [table, Spacer(1, self.look.theme.gap)]
        table = Table([heads, body], colWidths=[90 * mm, 90 * mm])
        style.append(("LINEBELOW", (0, 0), (-1, 0), 1.2, self.look.accent))
        style.append(("TOPPADDING", (0, 1), (-1, -1), self.look.theme.cell_padding))
        table.setStyle(TableStyle(style))
        return [table, Spacer(1, self.look.theme.gap)]

    def lines_table(self, lines: Iterable[DocumentLine]) -> Table:
        """One row per line: prices and values net, or gross on a gross-price document."""
        gross_mode = self.document.price_mode == PriceMode.GROSS
        price_key, value_key = (
            ("gross_price", "gross_value") if gross_mode else ("net_price", "net_value")
        )
        head = [
            self.label("lp"),
            self.label("item"),
            self.label("quantity"),
            self.label("unit"),
            self.label(price_key),
            self.label(value_key),
            self.label("vat_rate"),
        ]
        widths = [11 * mm, 64 * mm, 16 * mm, 13 * mm, 26 * mm, 28 * mm, 22 * mm]
        rows: list[list[Any]] = [self.heads(head, widths)]
        for index, line in enumerate(lines, start=1):
            rows.append(
                [
                    str(index),
                    self.fit(line.name, widths[1]),
                    self.number(line.quantity, places=None),
                    line.unit,
                    format_price(line.unit_price, self.language),
                    self.number(line_value(line, self.document.currency)),
                    format_rate(line.vat_rate),
                ]
            )
        table = Table(rows, colWidths=widths, repeatRows=1)
        style = _grid(self.look)
        style += [
            ("ALIGN", (2, 1), (2, -1), "RIGHT"),
            ("ALIGN", (4, 1), (6, -1), "RIGHT"),
        ]
        table.setStyle(TableStyle(style))
        return table

    def lines(self) -> list[Flowable]:
        """The lines table, or a correction's before and after blocks with their VAT."""
        doc = self.document
        if not doc.lines:
            return []
        before = [line for line in doc.lines if line.before]
        after = [line for line in doc.lines if not line.before]
        if not before:
            return [self.lines_table(after), Spacer(1, 4 * mm)]
        # A correction written as "before" and "after" rows (FA(3) StanPrzed) shows both states
        # with their own VAT per rate; the document then states the difference.
        out: list[Flowable] = []
        states = (("before", before), ("after", after))
        for key, rows in states:
            out += [self.p(escape(self.label(key)), "heading"), self.lines_table(rows)]
            state_totals = None
            if self.correction is not None:
                state_totals = getattr(self.correction, key)
            out.append(Spacer(1, 2 * mm))
            if state_totals is not None and state_totals.rows:
                out += [self.rate_table(state_totals), Spacer(1, 2 * mm)]
            out.append(Spacer(1, 2 * mm))
        out.append(self.p(escape(self.label("difference")), "heading"))
        return out

    def rate_table(self, totals: DocumentTotals) -> Table:
        """VAT per rate (FA(3) ``P_13_x``/``P_14_x``, ``P_14_xW`` for foreign currencies)."""
        with_pln = totals.vat_pln is not None
        head = [self.label("vat_rate"), self.label("net"), self.label("vat"), self.label("gross")]
        if with_pln:
            head.append(self.label("vat_pln"))
        widths = [30 * mm] * len(head)
        rows: list[list[Any]] = [self.heads(head, widths)]
        for row in totals.rows:
            cells = [format_rate(row.rate), self.number(row.net), self.number(row.vat)]
            cells.append(self.number(row.gross))
            if with_pln:
                cells.append(self.number(row.vat_pln) if row.vat_pln is not None else "")
            rows.append(cells)
        total = [self.label("total"), self.number(totals.net), self.number(totals.vat)]
        total.append(self.number(totals.gross))
        if with_pln and totals.vat_pln is not None:
            total.append(self.number(totals.vat_pln))
        rows.append(total)
        table = Table(rows, colWidths=widths, hAlign="RIGHT")
        style = _grid(self.look, total_row=True)
        style.append(("ALIGN", (1, 1), (-1, -1), "RIGHT"))
        table.setStyle(TableStyle(style))
        return table

    def rate_totals(self) -> list[Flowable]:
        """VAT per rate of what the document states."""
        if self.totals is None or not self.totals.rows:
            return []
        return [self.rate_table(self.totals), Spacer(1, 4 * mm)]

    def total_due(self) -> list[Flowable]:
        """The amount due (refunded, paid or agreed) with the amount in words."""
        totals = self.totals
        if totals is None or self.printed.internal:
            return []
        if self.document.lines or totals.rows:
            # A correction that lowers the amount states what the seller pays back.
            key = "to_refund" if totals.gross < 0 else "total_due"
        elif totals.gross:
            # A bill is paid; a contract states the remuneration; a plugin type just an amount.
            key = self.printed.amount_label
        else:
            return []
        due = self.amount(abs(totals.gross))
        out: list[Flowable] = [self.p(f"{escape(self.label(key))}: {escape(due)}", "due")]
        for lang, words in zip(languages_of(self.language), self.amount_words, strict=False):
            out.append(self.p(f"{escape(label('in_words', lang))}: {escape(words)}"))
        out.append(Spacer(1, 3 * mm))
        return out

    def _flag(self, name: str) -> bool:
        value = self.document.extra.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "on", "yes")
        return bool(value)

    def markers(self) -> list[str]:
        """The statutory markers this document must print, decided as its FA(3) file decides
        them: cash accounting when elected, reverse charge when a line's rate is one, split
        payment for annex-15 goods above 15 000 PLN (art. 106e ust. 1 pkt 16, 18, 18a)."""
        doc = self.document
        if not doc.lines:
            return []
        found = []
        if self._flag("cash_method"):
            found.append("cash_method")
        reverse = False
        for line in doc.lines:
            try:
                reverse = reverse or self.rules.rate(line.vat_rate).reverse_charge
            except UnknownVatRate:
                continue
        if reverse:
            found.append("reverse_charge")
        # Decided by the document's printable view with the rule the FA(3) writer uses, so the
        # words printed and the P_18A embedded never disagree.
        if self.split_payment:
            found.append("split_payment")
        return found

    def annotations(self) -> list[Flowable]:
        """The markers in the law's words, and the legal basis of an exemption (pkt 19)."""
        out: list[Flowable] = [
            self.p(escape(statutory(MARKERS[key], self.language)), "marker")
            for key in self.markers()
        ]
        basis = str(self.document.extra.get("exemption_basis") or "").strip()
        if basis and any(line.vat_rate == "zw" for line in self.document.lines):
            out.append(self.p(f"{escape(self.label('exemption_basis'))}: <b>{escape(basis)}</b>"))
        return [*out, Spacer(1, 3 * mm)] if out else []

    def payment(self) -> list[Flowable]:
        """Payment method, bank account, the exchange rate used, the proforma disclaimer."""
        doc = self.document
        rows = []
        if self.printed.internal:
            return []
        if doc.lines or doc.due_date:
            method = pick(PAYMENT_METHODS[doc.payment_method.value], self.language)
            rows.append(f"{escape(self.label('payment_method'))}: {escape(method)}")
        if doc.bank_account is not None:
            account = doc.bank_account.iban
            if doc.bank_account.bank_name:
                account += f" ({doc.bank_account.bank_name})"
            rows.append(f"{escape(self.label('bank_account'))}: {escape(account)}")
        rate = doc.exchange_rate
        if rate is not None:
            rows.append(
                f"{escape(self.label('exchange_rate'))}: 1 {escape(rate.currency)} = "
                f"{self.number(rate.rate, places=4)} PLN, {escape(rate.table_no)} "
                f"({format_date(rate.effective_date)})"
            )
        if self.printed.not_an_invoice:
            # The disclaimer keeps a proforma from passing for an invoice (poland.md §3.1).
            disclaimer = statutory(LABELS_NOT_VAT, self.language)
            rows.append(f"<b>{escape(disclaimer)}</b>")
        return [self.p(row) for row in rows] + ([Spacer(1, 3 * mm)] if rows else [])

    def extra_value(self, name: str, value: Any) -> str:
        """An extra field's value as printed: read through its declared kind (stored values are
        JSON strings), choices by their label, amounts and dates formatted."""
        spec = None
        if self.document_type is not None:
            spec = next((f for f in self.document_type.fields if f.name == name), None)
        if spec is not None:
            if spec.choices and str(value) in spec.choices:
                return pick(spec.choices[str(value)], self.language)
            try:
                value = parse_field(spec, value)
            except ValueError:
                return str(value)
            if spec.kind == "money":
                return self.amount(value)
        if isinstance(value, bool):
            return pick(
                {"pl": "tak", "en": "yes"} if value else {"pl": "nie", "en": "no"}, self.language
            )
        if isinstance(value, Decimal):
            return self.number(value, places=None)
        if isinstance(value, date):
            return format_date(value)
        return str(value)

    def extra_label(self, name: str) -> str:
        """An extra field's label from its declaration (a readable key when undeclared)."""
        if self.document_type is not None:
            for spec in self.document_type.fields:
                if spec.name == name:
                    return pick(spec.label, self.language)
        return name.replace("_", " ").capitalize()

    def extra(self) -> list[Flowable]:
        """The type's own fields as label/value rows; list values as tables."""
        out: list[Flowable] = []
        simple = []
        for name, value in self.document.extra.items():
            if value in (None, "", [], ()) or name in PRINTED_ELSEWHERE:
                continue
            if name in self.printed.own_fields:
                continue  # printed by the type's own block
            if name == "reason" and self.document.extra.get("corrected_number"):
                continue  # printed with the corrected invoice's reference
            if name == "entries" and callable(getattr(self.document_type, "entries", None)):
                continue  # a cash report's operations, printed by cash_report()
            if isinstance(value, Sequence) and not isinstance(value, str):
                out += self.extra_rows(name, value)
            else:
                simple.append(
                    [
                        self.p(f"<b>{escape(self.extra_label(name))}</b>"),
                        self.p(escape(self.extra_value(name, value))),
                    ]
                )
        if simple:
            table = Table(simple, colWidths=[65 * mm, 115 * mm])
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            out.insert(0, table)
            out.insert(1, Spacer(1, 3 * mm))
        return out

    def cash_report(self) -> list[Flowable]:
        """A cash report's operations in order, then the opening balance, the sums and the
        closing balance, all as the document type reads and computes them (closing = opening
        + receipts − payments)."""
        read_entries = getattr(self.document_type, "entries", None)
        balance = getattr(self.document_type, "balance", None)
        if not (callable(read_entries) and callable(balance)):
            return []
        doc = self.document
        keys = ("lp", "date", "description", "document_number", "receipt", "payment")
        widths = [11 * mm, 22 * mm, 71 * mm, 28 * mm, 24 * mm, 24 * mm]
        rows: list[list[Any]] = [self.heads([self.label(k) for k in keys], widths)]
        for index, entry in enumerate(read_entries(doc), start=1):
            rows.append(
                [
                    str(index),
                    format_date(entry.on),
                    self.p(escape(entry.description)),
                    self.p(escape(entry.document_number)),
                    self.number(entry.receipt) if entry.receipt else "",
                    self.number(entry.payment) if entry.payment else "",
                ]
            )
        table = Table(rows, colWidths=widths, repeatRows=1)
        style = _grid(self.look)
        style.append(("ALIGN", (4, 1), (5, -1), "RIGHT"))
        table.setStyle(TableStyle(style))
        sums = balance(doc)
        summary = Table(
            [
                [self.label(key), self.amount(value)]
                for key, value in (
                    ("opening_balance", sums.opening),
                    ("receipts", sums.receipts),
                    ("payments", sums.payments),
                    ("closing_balance", sums.closing),
                )
            ],
            colWidths=[70 * mm, 40 * mm],
            hAlign="RIGHT",
        )
        summary.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                    ("FONTNAME", (0, -1), (-1, -1), BOLD),
                    ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.8, self.look.primary),
                ]
            )
        )
        return [table, Spacer(1, 3 * mm), summary, Spacer(1, 3 * mm)]

    def extra_rows(self, name: str, rows: Sequence[Any]) -> list[Flowable]:
        """A list-valued field (a cash report's entries): one table row per item."""
        mappings = [row for row in rows if isinstance(row, Mapping)]
        out: list[Flowable] = [self.p(escape(self.extra_label(name)), "heading")]
        if not mappings:
            out.append(self.p(escape(", ".join(str(row) for row in rows))))
            return out
        keys = list(dict.fromkeys(key for row in mappings for key in row))
        data: list[list[Any]] = [[self.p(escape(self.extra_label(k)), "th") for k in keys]]
        for row in mappings:
            data.append([self.p(escape(self.extra_value(k, row.get(k, "")))) for k in keys])
        table = Table(data, repeatRows=1)
        table.setStyle(TableStyle(_grid(self.look)))
        out += [table, Spacer(1, 3 * mm)]
        return out

    def notes(self) -> list[Flowable]:
        """The document's notes, line breaks kept."""
        if not self.document.notes.strip():
            return []
        text = escape(self.document.notes).replace("\n", "<br/>")
        return [self.p(escape(self.label("notes")), "heading"), self.p(text)]

    def story(self) -> list[Flowable]:
        """Every block, top to bottom, without the space after the last one: a gap that no
        longer fits on the last page would open a page with nothing but the footer."""
        story = self._blocks()
        while story and isinstance(story[-1], Spacer):
            story.pop()
        return story

    def _blocks(self) -> list[Flowable]:
        return [
            *self.branding(),
            *self.heading(),
            *self.parties(),
            *self.lines(),
            *self.rate_totals(),
            *self.own_block(self.printed.before_total),
            *self.total_due(),
            *self.annotations(),
            *self.payment(),
            *self.extra(),
            *self.cash_report(),
            *self.notes(),
            *self.own_block(self.printed.closing),
            *self.verification(),
        ]

    def own_block(self, block: Block | None) -> list[Flowable]:
        """A block the type's dedicated layout adds (:class:`PrintedType`), if any."""
        return block(self) if block is not None else []

    def verification(self) -> list[Flowable]:
        """The KSeF verification QR codes the view carries, each with its label under it, and
        the offline mode the invoice was issued in (if any)."""
        block = verification_block(
            self.verification_codes,
            heading=self.label("verification"),
            label_style=self.styles["base"],
        )
        if block and self.offline_mode:
            block.append(self.p(escape(self.label(f"offline_{self.offline_mode}"))))
        return block


def build_story(
    document: Document,
    *,
    client: Client,
    document_type: DocumentType | None,
    totals: DocumentTotals | None,
    amount_words: Sequence[str],
    look: Look,
    language: str,
    correction: CorrectionTotals | None = None,
    rules: TaxRules = POLAND_2026,
    split_payment: bool = False,
    ksef_number: str | None = None,
    verification_codes: Sequence[VerificationCode] = (),
    offline_mode: str | None = None,
) -> list[Flowable]:
    """The flowables of ``document``: ``totals`` are what it states (the difference, on a
    correction, whose before/after states come in ``correction``); ``amount_words`` holds the
    total due in words, one string per printed language; ``split_payment`` prints the MPP
    marking (:attr:`cabinet_core.printing.DocumentView.split_payment`)."""
    return Layout(
        document,
        client=client,
        document_type=document_type,
        totals=totals,
        amount_words=amount_words,
        look=look,
        language=language,
        correction=correction,
        rules=rules,
        split_payment=split_payment,
        ksef_number=ksef_number,
        verification_codes=verification_codes,
        offline_mode=offline_mode,
    ).story()

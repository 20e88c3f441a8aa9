"""PDF benchmark: a 10-line VAT invoice through cabinet-pdf against two baselines, in one run.

* ``pdf_vs_reportlab_canvas``: :class:`cabinet_pdf.PdfRenderer` (platypus layout, classic
  template, Polish, VAT per rate, amount in words, and pypdf's incremental update adding the
  metadata, ``/Lang`` and the embedded FA(3) XML) against a bare reportlab canvas drawing the
  same text and rules with the same three TrueType files as stock reportlab fonts and nothing
  else. Goal: our speed at least 0.7x the bare page's. ``pdf_modern_vs_reportlab_canvas`` is
  the same with the modern template (two faces, a band). ``pdf_cold_fonts_vs_reportlab_canvas``
  empties cabinet-pdf's font subset cache before each of our renders: a process's first
  invoice, or one whose letters fall outside the fonts' repertoire (no goal; it shows what the
  cache is worth).
  Every call prints the next of eight invoices (other buyer, number and prices), on both sides.
* ``pdf_vs_weasyprint``: the same against WeasyPrint turning an equivalent HTML invoice (same
  text, a CSS table grid, DejaVu Sans and Serif) into a PDF. Goal: at least 10x faster. It is not
  a project dependency: install it into a folder of its own and name that folder in
  ``BENCH_WEASYPRINT_PATH`` (``pip install --target /tmp/wp weasyprint``; it needs Debian's
  ``libpango-1.0-0 libpangoft2-1.0-0``); without it this comparison is skipped with a message.

``speed`` is baseline time / our time (above 1: we are faster); ``ratio`` is our time /
baseline time, as in the core benchmarks.
"""

from __future__ import annotations

import io
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import cabinet_pdf.plugin
from cabinet_core import Branding, Cabinet, Settings
from cabinet_core.entities import (
    Address,
    BankAccount,
    Client,
    Document,
    DocumentLine,
    DocumentTotals,
    Party,
    Template,
)
from cabinet_core.vat import compute_totals
from cabinet_core.words import amount_in_words
from cabinet_pdf import PdfRenderer
from cabinet_pdf.fonts import BOLD, REGULAR, SERIF_BOLD, register_fonts
from cabinet_pdf.formatting import format_number, format_price
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

from bench._timing import per_call

RATES = ("23", "8", "5")

CLIENT = Client(
    id=1,
    name="Zażółć Gęślą Sp. z o.o.",
    nip="5260250274",
    address=Address(line1="ul. Łąkowa 5", postal_code="90-001", city="Łódź"),
)

INVOICE = Document(
    id=1,
    client_id=1,
    doc_type="vat_invoice",
    status="issued",
    number="FV/12/11/2026",
    issue_date=date(2026, 11, 27),
    sale_date=date(2026, 11, 26),
    due_date=date(2026, 12, 11),
    seller=Party(name=CLIENT.name, nip=CLIENT.nip, address=CLIENT.address),
    buyer=Party(
        name="Jaźń Źródlana S.A.",
        nip="1234563218",
        address=Address(line1="ul. Źródlana 1", postal_code="30-001", city="Kraków"),
    ),
    lines=tuple(
        DocumentLine(
            name=f"Usługa doradcza — pozycja {i + 1}",
            unit="usł.",
            quantity=Decimal(i % 3 + 1),
            unit_price=Decimal("149.99") + i,
            vat_rate=RATES[i % 3],
        )
        for i in range(10)
    ),
    bank_account=BankAccount(currency="PLN", iban="PL61109010140000071219812874"),
    updated_at=datetime(2026, 11, 27, 12, 0),
)

TOTALS: DocumentTotals = compute_totals(INVOICE.lines, currency="PLN")

#: Buyers of the invoices the runs cycle through: each call prints another document (names,
#: number, prices), so nothing is measured on one document's repeats.
BUYERS = (
    "Jaźń Źródlana S.A.",
    "Przedsiębiorstwo „Żuraw” Sp. z o.o.",
    "Müller & Søn GmbH",
    "Łukasz Wiśniewski — Usługi Remontowe",
    "Café Dvořák s.r.o.",
    "Hurtownia Gęś sp.j.",
    "Kowalczyk–Szczęsna s.c.",
    "Zakład Ćmielów Ślęża",
)


def variant(i: int) -> Document:
    """The benchmark invoice with the ``i``-th buyer, its own number and prices."""
    assert INVOICE.buyer is not None
    return attrs.evolve(
        INVOICE,
        number=f"FV/{12 + i}/11/2026",
        buyer=attrs.evolve(INVOICE.buyer, name=BUYERS[i % len(BUYERS)]),
        lines=tuple(
            attrs.evolve(line, unit_price=line.unit_price + Decimal(i) * Decimal("1.37"))
            for line in INVOICE.lines
        ),
    )


INVOICES = tuple(variant(i) for i in range(len(BUYERS)))


def cycling(render: Callable[[Document], bytes]) -> Callable[[], bytes]:
    """A no-argument call rendering the next of :data:`INVOICES` each time."""
    documents = itertools.cycle(INVOICES)
    return lambda: render(next(documents))


LANG = "pl"
FIRM = "Kancelaria Demo"


def _line_rows(invoice: Document) -> list[list[str]]:
    rows = []
    for n, line in enumerate(invoice.lines, start=1):
        net = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        rows.append(
            [
                str(n),
                line.name,
                format_number(line.quantity, LANG, places=None),
                line.unit,
                format_price(line.unit_price, LANG),
                format_number(net, LANG),
                f"{line.vat_rate}%",
            ]
        )
    return rows


def _rate_rows(totals: DocumentTotals) -> list[list[str]]:
    rows = [
        [f"{row.rate}%", *(format_number(v, LANG) for v in (row.net, row.vat, row.gross))]
        for row in totals.rows
    ]
    rows.append(
        ["Razem", *(format_number(v, LANG) for v in (totals.net, totals.vat, totals.gross))]
    )
    return rows


def _party_lines(party: Party) -> list[str]:
    address = party.address
    return [
        party.name,
        address.line1,
        f"{address.postal_code} {address.city}",
        f"NIP: {party.nip}",
    ]


#: The bare page's faces: the same three DejaVu files as stock reportlab ``TTFont`` objects
#: (cabinet-pdf's own fonts reuse subsets across documents, see ``cabinet_pdf.fonts``; the
#: baseline is what plain reportlab does).
BARE_REGULAR, BARE_BOLD, BARE_SERIF_BOLD = "BareDejaVuSans", "BareDejaVuSans-Bold", "BareSerifBold"


def register_bare_fonts() -> None:
    """Register the baseline's stock reportlab fonts (once per process)."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    folder = resources.files("cabinet_pdf") / "fonts"
    for name, filename in (
        (BARE_REGULAR, "DejaVuSans.ttf"),
        (BARE_BOLD, "DejaVuSans-Bold.ttf"),
        (BARE_SERIF_BOLD, "DejaVuSerif-Bold.ttf"),
    ):
        if name not in registered:
            with resources.as_file(folder / filename) as path:
                font = TTFont(name, str(path))
            assert type(font.face) is TTFontFace, "the baseline must be stock reportlab"
            # A face name of its own: reportlab hands back the font registered first for the
            # same face name, which would make the two sides share cabinet's fonts.
            font.face.name += b"-Bare"
            pdfmetrics.registerFont(font)
            assert pdfmetrics.getFont(name) is font


def bare_reportlab(invoice: Document = INVOICE) -> bytes:
    """The same invoice drawn straight on a canvas: no layout engine, no post-processing."""
    assert invoice.seller is not None and invoice.buyer is not None
    totals = compute_totals(invoice.lines, currency="PLN")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(f"Faktura VAT {invoice.number}")
    width, height = A4
    left, y = 15 * mm, height - 20 * mm
    # The classic template's faces: serif headings, sans text; the firm's name and footer.
    canvas.setFont(BARE_SERIF_BOLD, 10)
    canvas.drawString(left, y + 6 * mm, FIRM)
    canvas.setFont(BARE_REGULAR, 7)
    canvas.drawString(left, 10 * mm, f"Wystawiono w kabinecie: {FIRM}")
    canvas.drawRightString(width - left, 10 * mm, "Strona 1")
    canvas.setFont(BARE_SERIF_BOLD, 16)
    canvas.drawString(left, y, "Faktura VAT")
    canvas.setFont(BARE_BOLD, 11)
    canvas.drawString(left, y - 8 * mm, f"Nr {invoice.number}")
    canvas.setFont(BARE_REGULAR, 8.5)
    for i, (key, value) in enumerate(
        (
            ("Data wystawienia", invoice.issue_date),
            ("Data sprzedaży", invoice.sale_date),
            ("Termin płatności", invoice.due_date),
        )
    ):
        canvas.drawRightString(width - left, y - i * 4 * mm, f"{key}: {value}")
    y -= 22 * mm
    for x, head, party in (
        (left, "Sprzedawca", invoice.seller),
        (105 * mm, "Nabywca", invoice.buyer),
    ):
        canvas.setFont(BARE_SERIF_BOLD, 9)
        canvas.drawString(x, y, head)
        canvas.setFont(BARE_REGULAR, 8.5)
        for i, text in enumerate(_party_lines(party), start=1):
            canvas.drawString(x, y - i * 4 * mm, text)
    y -= 26 * mm
    columns = (0, 11, 75, 91, 104, 130, 158, 180)
    head = ("Lp.", "Nazwa towaru lub usługi", "Ilość", "J.m.", "Cena netto", "Wartość netto")
    canvas.setFillColor(colors.HexColor("#1f4e79"))
    canvas.rect(left, y - 1.5 * mm, 180 * mm, 6 * mm, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(BARE_BOLD, 7.5)
    for col, text in zip(columns, (*head, "Stawka VAT"), strict=False):
        canvas.drawString(left + col * mm + 1 * mm, y, text)
    canvas.setFillColor(colors.black)
    canvas.setFont(BARE_REGULAR, 8)
    for row in _line_rows(invoice):
        y -= 6 * mm
        for col, text in zip(columns, row, strict=False):
            canvas.drawString(left + col * mm + 1 * mm, y, text)
        canvas.line(left, y - 1.5 * mm, left + 180 * mm, y - 1.5 * mm)
    y -= 10 * mm
    for row in _rate_rows(totals):
        for i, text in enumerate(row):
            canvas.drawRightString(left + (90 + 30 * i) * mm, y, text)
        y -= 5 * mm
    y -= 4 * mm
    canvas.setFont(BARE_BOLD, 12)
    canvas.drawString(left, y, f"Do zapłaty: {format_number(totals.gross, LANG)} PLN")
    canvas.setFont(BARE_REGULAR, 8.5)
    canvas.drawString(left, y - 5 * mm, f"Słownie: {amount_in_words(totals.gross, 'PLN', 'pl')}")
    canvas.drawString(left, y - 10 * mm, "Sposób płatności: przelew")
    assert invoice.bank_account is not None
    canvas.drawString(left, y - 15 * mm, f"Rachunek bankowy: {invoice.bank_account.iban}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def invoice_html(invoice: Document = INVOICE) -> str:
    """The same invoice as an HTML page with a CSS table grid, for WeasyPrint."""
    assert invoice.seller is not None and invoice.buyer is not None
    totals = compute_totals(invoice.lines, currency="PLN")

    def table(head: list[str], rows: list[list[str]]) -> str:
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"

    parties = "".join(
        f"<div class=party><h2>{head}</h2>"
        + "<br>".join(escape(t) for t in _party_lines(party))
        + "</div>"
        for head, party in (("Sprzedawca", invoice.seller), ("Nabywca", invoice.buyer))
    )
    assert invoice.bank_account is not None
    return f"""<!doctype html><html lang=pl><head><meta charset=utf-8>
<title>Faktura VAT {escape(str(invoice.number))}</title><style>
@page {{ size: A4; margin: 15mm }}
body {{ font-family: 'DejaVu Sans'; font-size: 8.5pt }}
h1, h2, .firm {{ font-family: 'DejaVu Serif'; font-weight: bold }}
h1 {{ font-size: 16pt; margin: 0 }} h2 {{ font-size: 9pt; margin: 0 0 2mm }}
@page {{ @bottom-left {{ content: "Wystawiono w kabinecie: {FIRM}"; font-size: 7pt }}
        @bottom-right {{ content: "Strona " counter(page); font-size: 7pt }} }}
.dates {{ text-align: right }} .party {{ display: inline-block; width: 48%; vertical-align: top }}
table {{ border-collapse: collapse; width: 100%; margin: 4mm 0; font-size: 8pt }}
th {{ background: #1f4e79; color: white }} td, th {{ border: 0.4pt solid #9aa5b1; padding: 2pt }}
.due {{ font-size: 12pt; font-weight: bold }}
</style></head><body>
<p class=firm>{FIRM}</p><h1>Faktura VAT</h1><p><b>Nr {escape(str(invoice.number))}</b></p>
<p class=dates>Data wystawienia: {invoice.issue_date}<br>Data sprzedaży: {invoice.sale_date}<br>
Termin płatności: {invoice.due_date}</p>
{parties}
{
        table(
            [
                "Lp.",
                "Nazwa towaru lub usługi",
                "Ilość",
                "J.m.",
                "Cena netto",
                "Wartość netto",
                "Stawka VAT",
            ],
            _line_rows(invoice),
        )
    }
{table(["Stawka VAT", "Netto", "VAT", "Brutto"], _rate_rows(totals))}
<p class=due>Do zapłaty: {format_number(totals.gross, LANG)} PLN</p>
<p>Słownie: {escape(amount_in_words(totals.gross, "PLN", "pl"))}</p>
<p>Sposób płatności: przelew<br>Rachunek bankowy: {invoice.bank_account.iban}</p>
</body></html>"""


def _paired(
    first: Callable[[], object], second: Callable[[], object], *, calls: int, rounds: int
) -> tuple[float, float]:
    """Median CPU seconds per call of each, their batches alternating so that the machine's
    noise (shared, 2 cores) falls on both alike. Both sides are CPU-bound in this process
    (WeasyPrint's Pango and HarfBuzz included), so process time is the cost, and it is far
    steadier than wall time while other processes compete for the cores."""
    a, b = [], []
    for _ in range(rounds):
        a.append(per_call(first, calls=calls, rounds=1, clock=time.process_time))
        b.append(per_call(second, calls=calls, rounds=1, clock=time.process_time))
    return statistics.median(a), statistics.median(b)


def _row(name: str, ours: float, baseline: float, goal: str) -> dict[str, Any]:
    return {
        "name": name,
        "ours_ms": round(ours * 1e3, 2),
        "baseline_ms": round(baseline * 1e3, 2),
        "ratio": round(ours / baseline, 3),
        "speed": round(baseline / ours, 2),
        "goal": goal,
    }


def run() -> list[dict[str, Any]]:
    """Both comparisons (WeasyPrint's only when it is importable)."""
    register_fonts()
    register_bare_fonts()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), secret_key="bench", branding=Branding(firm_name=FIRM)
        )
        with Cabinet(settings, load_entrypoints=False, plugins=[cabinet_pdf.plugin]) as cabinet:
            # A real cabinet is migrated: the printable view reads a document's KSeF state.
            cabinet.migrate()
            renderer = PdfRenderer()
            classic, modern = cabinet.templates["classic"], cabinet.templates["modern"]

            def render(template: Template) -> Callable[[Document], bytes]:
                def one(invoice: Document) -> bytes:
                    return renderer.render(
                        cabinet, invoice, client=CLIENT, template=template, language=LANG
                    ).content

                return one

            ours, ours_modern = cycling(render(classic)), cycling(render(modern))
            bare = cycling(bare_reportlab)

            def ours_cold() -> bytes:
                # What a process's first invoice (or one with letters outside the fonts'
                # repertoire) costs: every subset cut, compressed and formatted again.
                for name in (REGULAR, BOLD, SERIF_BOLD):
                    pdfmetrics.getFont(name).subsets.clear()
                return ours()

            # Warm up once each (font loading, imports) and check both produce a PDF.
            assert ours().startswith(b"%PDF") and bare().startswith(b"%PDF")
            ours_time, bare_time = _paired(ours, bare, calls=16, rounds=7)
            results.append(_row("pdf_vs_reportlab_canvas", ours_time, bare_time, "speed >= 0.7"))
            modern_time, bare_again = _paired(ours_modern, bare, calls=16, rounds=7)
            results.append(
                _row("pdf_modern_vs_reportlab_canvas", modern_time, bare_again, "speed >= 0.7")
            )
            cold_time, bare_cold = _paired(ours_cold, bare, calls=8, rounds=5)
            results.append(
                _row("pdf_cold_fonts_vs_reportlab_canvas", cold_time, bare_cold, "(no goal)")
            )
            # WeasyPrint may live outside the venv (it is no project dependency): a folder
            # named by BENCH_WEASYPRINT_PATH (``pip install --target DIR weasyprint``) is
            # searched *after* the venv, so the venv's own packages still win.
            extra = os.environ.get("BENCH_WEASYPRINT_PATH")
            if extra and extra not in sys.path:
                sys.path.append(extra)
            try:
                from weasyprint import HTML
            except (ImportError, OSError) as error:
                print(
                    f"pdf_vs_weasyprint skipped: WeasyPrint is not importable ({error}); "
                    "install it with `pip install --target DIR weasyprint` and set "
                    "BENCH_WEASYPRINT_PATH=DIR (Debian's libpango-1.0-0 libpangoft2-1.0-0 "
                    "needed) to measure it.",
                    file=sys.stderr,
                )
                return results
            pages = itertools.cycle([invoice_html(invoice) for invoice in INVOICES])

            def weasy() -> bytes:
                pdf: bytes = HTML(string=next(pages)).write_pdf()
                return pdf

            assert weasy().startswith(b"%PDF")
            ours_again, weasy_time = _paired(ours, weasy, calls=5, rounds=5)
            results.append(_row("pdf_vs_weasyprint", ours_again, weasy_time, "speed >= 10"))
    return results

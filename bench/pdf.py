"""PDF benchmark: a 10-line VAT invoice through cabinet-pdf against two baselines, in one run.

* ``pdf_vs_reportlab_canvas``: :class:`cabinet_pdf.PdfRenderer` (platypus layout, classic
  template, Polish, VAT per rate, amount in words, pypdf metadata and the embedded FA(3)
  XML) against a bare reportlab canvas drawing the same text and rules with the same TrueType
  fonts and no post-processing. Goal: our speed at least 0.7x the bare page's.
  ``pdf_modern_vs_reportlab_canvas`` is the same with the modern template (two faces, a band).
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
)
from cabinet_core.vat import compute_totals
from cabinet_core.words import amount_in_words
from cabinet_pdf import PdfRenderer
from cabinet_pdf.fonts import register_fonts
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
LANG = "pl"
FIRM = "Kancelaria Demo"


def _line_rows() -> list[list[str]]:
    rows = []
    for n, line in enumerate(INVOICE.lines, start=1):
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


def _rate_rows() -> list[list[str]]:
    rows = [
        [f"{row.rate}%", *(format_number(v, LANG) for v in (row.net, row.vat, row.gross))]
        for row in TOTALS.rows
    ]
    rows.append(
        ["Razem", *(format_number(v, LANG) for v in (TOTALS.net, TOTALS.vat, TOTALS.gross))]
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


def bare_reportlab() -> bytes:
    """The same invoice drawn straight on a canvas: no layout engine, no post-processing."""
    assert INVOICE.seller is not None and INVOICE.buyer is not None
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(f"Faktura VAT {INVOICE.number}")
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
    canvas.drawString(left, y - 8 * mm, f"Nr {INVOICE.number}")
    canvas.setFont(BARE_REGULAR, 8.5)
    for i, (key, value) in enumerate(
        (
            ("Data wystawienia", INVOICE.issue_date),
            ("Data sprzedaży", INVOICE.sale_date),
            ("Termin płatności", INVOICE.due_date),
        )
    ):
        canvas.drawRightString(width - left, y - i * 4 * mm, f"{key}: {value}")
    y -= 22 * mm
    for x, head, party in (
        (left, "Sprzedawca", INVOICE.seller),
        (105 * mm, "Nabywca", INVOICE.buyer),
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
    for row in _line_rows():
        y -= 6 * mm
        for col, text in zip(columns, row, strict=False):
            canvas.drawString(left + col * mm + 1 * mm, y, text)
        canvas.line(left, y - 1.5 * mm, left + 180 * mm, y - 1.5 * mm)
    y -= 10 * mm
    for row in _rate_rows():
        for i, text in enumerate(row):
            canvas.drawRightString(left + (90 + 30 * i) * mm, y, text)
        y -= 5 * mm
    y -= 4 * mm
    canvas.setFont(BARE_BOLD, 12)
    canvas.drawString(left, y, f"Do zapłaty: {format_number(TOTALS.gross, LANG)} PLN")
    canvas.setFont(BARE_REGULAR, 8.5)
    canvas.drawString(left, y - 5 * mm, f"Słownie: {amount_in_words(TOTALS.gross, 'PLN', 'pl')}")
    canvas.drawString(left, y - 10 * mm, "Sposób płatności: przelew")
    assert INVOICE.bank_account is not None
    canvas.drawString(left, y - 15 * mm, f"Rachunek bankowy: {INVOICE.bank_account.iban}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def invoice_html() -> str:
    """The same invoice as an HTML page with a CSS table grid, for WeasyPrint."""
    assert INVOICE.seller is not None and INVOICE.buyer is not None

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
        for head, party in (("Sprzedawca", INVOICE.seller), ("Nabywca", INVOICE.buyer))
    )
    assert INVOICE.bank_account is not None
    return f"""<!doctype html><html lang=pl><head><meta charset=utf-8>
<title>Faktura VAT {escape(str(INVOICE.number))}</title><style>
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
<p class=firm>{FIRM}</p><h1>Faktura VAT</h1><p><b>Nr {escape(str(INVOICE.number))}</b></p>
<p class=dates>Data wystawienia: {INVOICE.issue_date}<br>Data sprzedaży: {INVOICE.sale_date}<br>
Termin płatności: {INVOICE.due_date}</p>
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
            _line_rows(),
        )
    }
{table(["Stawka VAT", "Netto", "VAT", "Brutto"], _rate_rows())}
<p class=due>Do zapłaty: {format_number(TOTALS.gross, LANG)} PLN</p>
<p>Słownie: {escape(amount_in_words(TOTALS.gross, "PLN", "pl"))}</p>
<p>Sposób płatności: przelew<br>Rachunek bankowy: {INVOICE.bank_account.iban}</p>
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
            renderer = PdfRenderer()
            classic, modern = cabinet.templates["classic"], cabinet.templates["modern"]

            def ours() -> bytes:
                return renderer.render(
                    cabinet, INVOICE, client=CLIENT, template=classic, language=LANG
                ).content

            def ours_modern() -> bytes:
                return renderer.render(
                    cabinet, INVOICE, client=CLIENT, template=modern, language=LANG
                ).content

            # Warm up once each (font loading, imports) and check both produce a PDF.
            assert ours().startswith(b"%PDF") and bare_reportlab().startswith(b"%PDF")
            ours_time, bare_time = _paired(ours, bare_reportlab, calls=20, rounds=7)
            results.append(_row("pdf_vs_reportlab_canvas", ours_time, bare_time, "speed >= 0.7"))
            modern_time, bare_again = _paired(ours_modern, bare_reportlab, calls=20, rounds=7)
            results.append(
                _row("pdf_modern_vs_reportlab_canvas", modern_time, bare_again, "speed >= 0.7")
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
            html = invoice_html()

            def weasy() -> bytes:
                pdf: bytes = HTML(string=html).write_pdf()
                return pdf

            assert weasy().startswith(b"%PDF")
            ours_again, weasy_time = _paired(ours, weasy, calls=5, rounds=5)
            results.append(_row("pdf_vs_weasyprint", ours_again, weasy_time, "speed >= 10"))
    return results

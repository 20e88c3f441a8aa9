"""A long invoice's PDF (issue #10 point 7): every continuation page says whose page it is
(the invoice's number), and no page is left blank at the end."""

from __future__ import annotations

import io
from decimal import Decimal

import attrs
import pytest
from cabinet_core.entities import DocumentLine
from cabinet_pdf.renderer import PdfRenderer
from pypdf import PdfReader


def pages_of(cabinet, document, client, language="pl"):
    content = (
        PdfRenderer()
        .render(cabinet, document, client=client, template=None, language=language)
        .content
    )
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def footer_only(text: str) -> bool:
    """Whether a page carries nothing but the footer every page gets."""
    rest = [
        line
        for line in text.splitlines()
        if line.strip() and "Wystawiono w kabinecie" not in line and "Strona" not in line
    ]
    return not rest


@pytest.mark.parametrize("count", range(20, 110, 3))
def test_every_page_names_the_invoice_and_none_is_blank(cabinet, client, invoice, count):
    many = attrs.evolve(
        invoice,
        lines=tuple(
            DocumentLine(name=f"Pozycja {n}", unit_price=Decimal("1.00")) for n in range(count)
        ),
    )
    pages = pages_of(cabinet, many, client)
    for number, text in enumerate(pages, start=1):
        assert "FV/12/11/2026" in text, number
        assert not footer_only(text), number


@pytest.mark.parametrize("language", ["pl", "en"])
def test_no_blank_last_page_when_the_closing_gap_overflows(cabinet, client, invoice, language):
    """Without notes the payment block ends the story with a gap; at 61 and 100 lines (this
    layout) that gap alone used to open a last page with only the footer on it."""
    for count in (*range(56, 67), *range(96, 104)):
        many = attrs.evolve(
            invoice,
            notes="",
            lines=tuple(
                DocumentLine(name=f"Pozycja {n}", unit_price=Decimal("1.00")) for n in range(count)
            ),
        )
        pages = pages_of(cabinet, many, client, language)
        last = pages[-1]
        assert "FV/12/11/2026" in last, count
        footer = ("Wystawiono w kabinecie", "Issued in the cabinet", "Strona", "Page")
        content = [
            line
            for line in last.splitlines()
            if line.strip() and not any(f in line for f in footer)
        ]
        assert content, (count, last)

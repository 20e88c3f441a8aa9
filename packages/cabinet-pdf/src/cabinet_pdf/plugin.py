"""cabinet-pdf's plugin module (entry point ``cabinet_pdf``): registers the PDF renderers of
documents and of the VAT statement."""

from __future__ import annotations

from cabinet_core.hookspecs import Register, hookimpl

from cabinet_pdf.cash import CashPdfPrinter
from cabinet_pdf.renderer import PdfRenderer
from cabinet_pdf.vat_statement import PdfStatementRenderer


@hookimpl
def register_renderers(register: Register) -> None:
    """Register the PDF renderer for every document type, the ones plugins add too."""
    register(PdfRenderer())


@hookimpl
def register_cash_printers(register: Register) -> None:
    """Register the PDF printer of KP/KW slips and cash reports."""
    register(CashPdfPrinter())


@hookimpl
def register_statement_renderers(register: Register) -> None:
    """Register the VAT statement's PDF."""
    register(PdfStatementRenderer())

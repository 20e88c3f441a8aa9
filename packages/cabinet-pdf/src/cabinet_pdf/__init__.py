"""cabinet-pdf: PDF documents for cabinet, drawn with reportlab in DejaVu Sans (Polish letters).

Installing the package is enough: its plugin module registers :class:`PdfRenderer` through the
``register_renderers`` hook.
"""

from __future__ import annotations

from cabinet_pdf.renderer import DOCUMENT_TYPES, PdfRenderer

__all__ = ["DOCUMENT_TYPES", "PdfRenderer"]

"""cabinet-pdf: PDF documents for cabinet, drawn with reportlab in DejaVu Sans (Polish letters).

Installing the package is enough: its plugin module registers :class:`PdfRenderer` through the
``register_renderers`` hook, for every document type (a plugin's too).
"""

from __future__ import annotations

from cabinet_pdf.renderer import PdfRenderer

__all__ = ["PdfRenderer"]

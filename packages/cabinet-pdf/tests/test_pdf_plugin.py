from __future__ import annotations

import importlib.metadata

import cabinet_pdf.plugin
from cabinet_pdf import PdfRenderer


def test_entry_point_names_the_plugin_module():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="cabinet")}
    assert eps["cabinet_pdf"].load() is cabinet_pdf.plugin


def test_cabinet_finds_the_pdf_renderer_through_the_hook(cabinet):
    renderer = cabinet.renderer_for("vat_invoice", "application/pdf")
    assert isinstance(renderer, PdfRenderer)
    assert [r.name for r in cabinet.renderers if r.media_type == "application/pdf"] == ["pdf"]

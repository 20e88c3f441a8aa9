"""cabinet-pdf's renderer passes the kit's RendererContract for every type it claims (the
``cabinet`` fixture of this package's conftest registers the PDF plugin)."""

from __future__ import annotations

import pytest
from cabinet_core import Cabinet
from cabinet_core.rendering import Renderer
from cabinet_core.testing import RendererContract


class TestPdfRenderer(RendererContract):
    @pytest.fixture
    def renderer(self, cabinet: Cabinet) -> Renderer:
        return cabinet.renderer_for("vat_invoice", "application/pdf")

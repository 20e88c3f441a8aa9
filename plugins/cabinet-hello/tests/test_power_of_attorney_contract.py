"""The example plugin's power of attorney passes the kit's DocumentTypeContract."""

from __future__ import annotations

from datetime import date

import pytest
from cabinet_core.entities import Document
from cabinet_core.testing import DocumentTypeContract
from cabinet_hello import PowerOfAttorney


class TestPowerOfAttorney(DocumentTypeContract):
    @pytest.fixture
    def document_type(self) -> PowerOfAttorney:
        return PowerOfAttorney()

    @pytest.fixture
    def valid_document(self) -> Document:
        return Document(
            client_id=1,
            doc_type="power_of_attorney",
            issue_date=date(2026, 11, 27),
            extra={"attorney": "Jan Żółkiewski", "scope": "specific", "acts": "Odbiór przesyłek"},
        )

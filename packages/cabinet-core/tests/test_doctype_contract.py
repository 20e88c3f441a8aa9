"""Every built-in document type passes the kit's DocumentTypeContract."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import Document, DocumentLine, Party
from cabinet_core.plugins import make_plugin_manager
from cabinet_core.testing import DocumentTypeContract


def _built_ins() -> dict[str, DocumentType]:
    found: dict[str, DocumentType] = {}

    def register(document_type: DocumentType) -> None:
        found[document_type.key] = document_type

    make_plugin_manager(load_entrypoints=False).hook.register_document_types(register=register)
    return found


BUILT_INS = _built_ins()
#: Types whose plain sale document is valid as below.
SALES = ("vat_invoice", "proforma")


class TestBuiltInDocumentTypes(DocumentTypeContract):
    @pytest.fixture(params=sorted(BUILT_INS))
    def document_type(self, request: pytest.FixtureRequest) -> DocumentType:
        return BUILT_INS[request.param]

    @pytest.fixture
    def valid_document(self, document_type: DocumentType) -> Document | None:
        if document_type.key not in SALES:
            return None
        return Document(
            client_id=1,
            doc_type=document_type.key,
            issue_date=date(2026, 12, 1),
            buyer=Party(name="Kupiec S.A.", nip="5260001246"),
            lines=(DocumentLine(name="Doradztwo", unit_price=Decimal("100.00")),),
        )


def test_every_built_in_type_is_covered() -> None:
    assert {"vat_invoice", "proforma", "cost_invoice", "correction_request"} <= set(BUILT_INS)

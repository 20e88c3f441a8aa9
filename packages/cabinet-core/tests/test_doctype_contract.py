"""Every built-in document type passes the kit's DocumentTypeContract."""

from __future__ import annotations

import pytest
from cabinet_core.doctypes import DocumentType
from cabinet_core.entities import Document
from cabinet_core.plugins import make_plugin_manager
from cabinet_core.testing import DocumentTypeContract
from test_document_types import valid


def _built_ins() -> dict[str, DocumentType]:
    found: dict[str, DocumentType] = {}

    def register(document_type: DocumentType) -> None:
        found[document_type.key] = document_type

    make_plugin_manager(load_entrypoints=False).hook.register_document_types(register=register)
    return found


BUILT_INS = _built_ins()


class TestBuiltInDocumentTypes(DocumentTypeContract):
    @pytest.fixture(params=sorted(BUILT_INS))
    def document_type(self, request: pytest.FixtureRequest) -> DocumentType:
        return BUILT_INS[request.param]

    @pytest.fixture
    def valid_document(self, document_type: DocumentType) -> Document:
        # The complete document of each type that test_document_types checks field by field.
        return valid(document_type.key)


def test_every_built_in_type_is_covered() -> None:
    assert {"vat_invoice", "proforma", "cost_invoice", "correction_request"} <= set(BUILT_INS)

"""``RendererContract``: what every renderer must do, as inherited tests.

Subclass it, register the renderer's plugin (and the plugins of the document types it claims)
in the kit's cabinet by overriding ``cabinet_plugins``, and provide a ``renderer`` fixture::

    class TestMyPdf(RendererContract):
        @pytest.fixture
        def cabinet_plugins(self):
            return [my_pdf_plugin]

        @pytest.fixture
        def renderer(self, cabinet):
            return cabinet.renderer_for("service_order", "application/pdf")

Each registered type the renderer claims (``key in renderer.document_types``) is rendered from
:func:`sample_document`; override the ``sample`` fixture (a callable from a type key to a
document) for types that need more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from cabinet_core.entities import Address, BankAccount, Client, Document, DocumentLine, Party
from cabinet_core.rendering import Rendered, Renderer

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType

__all__ = ["MAGIC", "RendererContract", "sample_client", "sample_document"]

#: How the bytes of a media type begin; a renderer of another type is checked for non-empty
#: output only.
MAGIC = {
    "application/pdf": b"%PDF-",
    "application/xml": b"<",
    "text/xml": b"<",
    "text/html": b"<",
    "application/json": b"{",
}
#: A plausible value of each field kind (a sample document fills its type's own fields).
SAMPLE_VALUES: dict[str, Any] = {
    "text": "Przykład",
    "textarea": "Przykładowy opis\nw dwóch wierszach",
    "date": "2026-11-30",
    "decimal": "2.5",
    "money": "1234.56",
    "bool": True,
    "int": 3,
}


def sample_client() -> Client:
    """A client with Polish letters in its name and address (fonts must cope)."""
    return Client(
        id=1,
        name="Zażółć Gęślą Sp. z o.o.",
        nip="5260250274",
        address=Address(line1="ul. Łąkowa 5", postal_code="90-001", city="Łódź"),
    )


def _extra(document_type: DocumentType) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in document_type.fields:
        if spec.default is not None:
            values[spec.name] = spec.default
        elif spec.kind == "choice":
            values[spec.name] = next(iter(spec.choices))
        else:
            values[spec.name] = SAMPLE_VALUES.get(spec.kind, "")
    return values


def sample_document(document_type: DocumentType) -> Document:
    """An issued document of ``document_type`` with two lines (when it has lines), a buyer,
    a bank account and every field of its own filled."""
    lines = (
        (
            DocumentLine(name="Obsługa księgowa", unit="usł.", unit_price=Decimal("1234.56")),
            DocumentLine(
                name="Książka „Ćwiczenia”",
                quantity=Decimal("2.5"),
                unit_price=Decimal("10.00"),
                vat_rate="5",
            ),
        )
        if document_type.has_lines
        else ()
    )
    return Document(
        id=7,
        client_id=1,
        doc_type=document_type.key,
        status=document_type.workflow.initial,
        number="X/7/11/2026",
        issue_date=date(2026, 11, 27),
        sale_date=date(2026, 11, 26),
        due_date=date(2026, 12, 11),
        buyer=Party(
            name="Jaźń Źródlana S.A.",
            nip="1234563218",
            address=Address(line1="ul. Źródlana 1", postal_code="30-001", city="Kraków"),
        ),
        lines=lines,
        bank_account=BankAccount(currency="PLN", iban="PL61109010140000071219812874"),
        extra=_extra(document_type),
    )


class RendererContract:
    """The contract suite (see the module docstring)."""

    @pytest.fixture
    def sample(self, cabinet: Cabinet) -> Callable[[str], Document]:
        """Override: the document to render for a type key."""
        return lambda key: sample_document(cabinet.document_types[key])

    def _render(self, cabinet: Cabinet, renderer: Renderer, document: Document) -> Rendered:
        return renderer.render(
            cabinet, document, client=sample_client(), template=None, language="pl"
        )

    def _claimed(self, cabinet: Cabinet, renderer: Renderer) -> list[str]:
        # ``document_types`` is a container (a tuple, or every type at once), so ask it about
        # each registered type rather than listing it.
        claimed = [key for key in cabinet.document_types if key in renderer.document_types]
        if not claimed:
            pytest.skip("none of the types the renderer claims is registered in the cabinet")
        return claimed

    def test_it_meets_the_protocol(self, renderer: Renderer) -> None:
        assert isinstance(renderer, Renderer)
        assert renderer.name
        assert "/" in renderer.media_type
        assert renderer.document_types, "a renderer claims at least one document type"

    def test_every_claimed_type_renders_to_bytes_of_its_media_type(
        self, cabinet: Cabinet, renderer: Renderer, sample: Callable[[str], Document]
    ) -> None:
        for key in self._claimed(cabinet, renderer):
            rendered = self._render(cabinet, renderer, sample(key))
            assert isinstance(rendered.content, bytes) and rendered.content, key
            assert rendered.media_type == renderer.media_type, key
            magic = MAGIC.get(renderer.media_type.split(";")[0])
            if magic is not None:
                assert rendered.content.startswith(magic), key
            assert rendered.filename and "/" not in rendered.filename, key

    def test_rendering_is_deterministic(
        self, cabinet: Cabinet, renderer: Renderer, sample: Callable[[str], Document]
    ) -> None:
        for key in self._claimed(cabinet, renderer):
            document = sample(key)
            first = self._render(cabinet, renderer, document)
            again = self._render(cabinet, renderer, attrs.evolve(document))
            assert first.content == again.content, f"{key} renders differently each time"
            assert first.filename == again.filename

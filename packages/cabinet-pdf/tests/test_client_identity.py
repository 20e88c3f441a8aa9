"""A document the client sends out in its own name (a sales invoice, a proforma, a correction
request) carries the client's identity in its banner and footer, never the accounting firm's
name, logo or "Issued in the client cabinet of …"; what the cabinet keeps for the firm (a cost
invoice) keeps the firm's branding. Read back with pypdf."""

from __future__ import annotations

import base64
import io

import attrs
import pytest
from cabinet_core import Branding
from cabinet_core.entities import Address, Party
from cabinet_pdf import PdfRenderer
from PIL import Image as PILImage
from pypdf import PdfReader

FIRM = "Kancelaria Łużycka"


def _logo() -> str:
    buffer = io.BytesIO()
    PILImage.new("RGB", (60, 20), (200, 30, 30)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def branded(cabinet):
    """The firm has a name, a logo and colours of its own."""
    cabinet.settings = attrs.evolve(
        cabinet.settings,
        branding=Branding(firm_name=FIRM, logo_url=_logo(), primary_color="#0a7d3b"),
    )
    return cabinet


def _render(cabinet, document, client, template="classic", language="pl"):
    return (
        PdfRenderer()
        .render(
            cabinet,
            document,
            client=client,
            template=cabinet.templates[template],
            language=language,
        )
        .content
    )


def _images(content: bytes) -> int:
    page = PdfReader(io.BytesIO(content)).pages[0]
    xobjects = page["/Resources"].get("/XObject", {})
    return sum(1 for ref in xobjects.values() if ref.get_object()["/Subtype"] == "/Image")


@pytest.mark.parametrize("template", ["classic", "modern"])
def test_a_sales_invoice_speaks_in_the_clients_name(
    branded, client, invoice, pdf_text, template
) -> None:
    seller = Party(
        name="Zażółć Gęślą Sp. z o.o.",
        nip="5260250274",
        address=Address(line1="ul. Łąkowa 5", postal_code="90-001", city="Łódź"),
    )
    content = _render(branded, attrs.evolve(invoice, seller=seller), client, template)
    text = pdf_text(content)
    identity = "Zażółć Gęślą Sp. z o.o. · ul. Łąkowa 5 · 90-001 Łódź · NIP: 5260250274"
    assert text.startswith("Zażółć Gęślą Sp. z o.o.")  # the banner: the client first
    assert identity in text  # the footer
    assert FIRM not in text and "Wystawiono w kabinecie" not in text
    assert _images(content) == 0  # the firm's logo is not the client's
    page = PdfReader(io.BytesIO(content)).pages[0].get_contents().get_data()
    assert b".039216 .490196 .231373 rg" not in page  # nor are the firm's colours


def test_the_identity_is_the_seller_the_invoice_states(branded, client, invoice, pdf_text) -> None:
    # The client renamed itself after issuing: the invoice keeps the name it was issued under.
    renamed = attrs.evolve(client, name="Nowa Nazwa S.A.")
    seller = Party(name="Stara Nazwa sp. z o.o.", nip="5260250274", address=client.address)
    text = pdf_text(_render(branded, attrs.evolve(invoice, seller=seller), renamed, language="en"))
    assert "Stara Nazwa sp. z o.o. · ul. Łąkowa 5 · 90-001 Łódź · Tax ID (NIP): 5260250274" in text
    assert "Nowa Nazwa S.A." not in text
    assert "Issued in the client cabinet of" not in text


def test_a_correction_request_goes_out_in_the_clients_name_as_the_buyer(
    branded, client, invoice, pdf_text
) -> None:
    request = attrs.evolve(
        invoice,
        doc_type="correction_request",
        status="sent",
        number="PK/1/2026",
        seller=Party(name="Dostawca Żółty Sp.j.", nip="1234563218"),
        buyer=Party(name=client.name, nip=client.nip, address=client.address),
        lines=(),
        extra={"kind": "request", "original_number": "F/1", "requested_correction": "NIP"},
    )
    text = pdf_text(_render(branded, request, client))
    assert f"{client.name} · ul. Łąkowa 5 · 90-001 Łódź · NIP: 5260250274" in text
    assert FIRM not in text


def test_what_the_cabinet_keeps_for_the_firm_keeps_the_firms_branding(
    branded, client, invoice, pdf_text
) -> None:
    cost = attrs.evolve(
        invoice,
        doc_type="cost_invoice",
        status="submitted",
        seller=invoice.buyer,
        buyer=Party(name=client.name, nip=client.nip, address=client.address),
    )
    content = _render(branded, cost, client)
    assert f"Wystawiono w kabinecie: {FIRM}" in pdf_text(content)
    assert _images(content) == 1

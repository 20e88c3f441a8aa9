"""The KSeF number and verification QR codes on a printed invoice: drawn from what the
printable view carries (the KSeF plugin computed the URLs and labels; cabinet-pdf only draws)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from cabinet_core import Cabinet
from cabinet_core.entities import Actor, Client, Document
from cabinet_core.ksef.submission import VerificationCode
from cabinet_core.printing import view_of
from cabinet_pdf.renderer import PdfRenderer
from cabinet_pdf.verification import QR_SIZE, qr_drawing
from pypdf import PdfReader
from reportlab.graphics.barcode.qr import QrCodeWidget

NUMBER = "5260250274-20261127-0A1B2C3D4E5F-7F"
KOD_I = "https://qr-test.ksef.mf.gov.pl/invoice/5260250274/27-11-2026/UtQp9uXk1V6qUJ0jVb9pUQ"
KOD_II = "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5260250274/5260250274/01F20A5D352AE590/UtQp9uXk1V6qUJ0jVb9pUQ/c2lnbmF0dXJl"


def _stored_invoice(cabinet: Cabinet, client: Client, invoice: Document) -> tuple[Client, Document]:
    system = Actor.system()
    stored_client = cabinet.clients.create(
        system, client.__class__(**{**_fields(client), "id": None})
    )
    draft = cabinet.documents.create(
        system,
        invoice.__class__(
            **{
                **_fields(invoice),
                "id": None,
                "client_id": stored_client.id,
                "number": None,
                "status": "draft",
            }
        ),
    )
    issued = cabinet.documents.transition(system, draft.id or 0, "issue")
    return stored_client, issued


def _fields(value: object) -> dict[str, object]:
    import attrs

    return attrs.asdict(value, recurse=False)


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_qr_drawing_encodes_the_url_at_level_m_and_scales_to_size() -> None:
    drawing = qr_drawing(KOD_I)
    (widget,) = drawing.contents
    assert isinstance(widget, QrCodeWidget)
    assert widget.value == KOD_I and widget.barLevel == "M"
    assert (drawing.width, drawing.height) == (QR_SIZE, QR_SIZE)
    widget.draw()
    assert widget.qr.dataList[0].data == KOD_I.encode()


@pytest.mark.parametrize("language", ["pl", "en"])
def test_an_accepted_invoice_prints_its_ksef_number_and_both_codes_with_labels(
    cabinet: Cabinet, client: Client, invoice: Document, language: str
) -> None:
    stored_client, issued = _stored_invoice(cabinet, client, invoice)
    assert issued.id is not None
    cabinet.ksef_port().set_enabled(stored_client.id or 0, True)
    cabinet.ksef_port().mark_offline(
        issued.id,
        reason="KSeF niedostępny",
        verification=(
            VerificationCode(url=KOD_I, label="OFFLINE"),
            VerificationCode(url=KOD_II, label="CERTYFIKAT", kind="certificate"),
        ),
    )
    cabinet.ksef_port().mark_accepted(
        issued.id,
        ksef_number=NUMBER,
        acquired_at=datetime(2026, 11, 27, 12, tzinfo=UTC),
    )
    view = view_of(cabinet, issued, stored_client)
    assert view.ksef_number == NUMBER and len(view.verification_codes) == 2
    rendered = PdfRenderer().render(
        cabinet, issued, client=stored_client, template=None, language=language
    )
    text = _text(rendered.content)
    assert NUMBER in text
    assert "OFFLINE" in text and "CERTYFIKAT" in text
    heading = "Kody weryfikujące KSeF" if language == "pl" else "KSeF verification codes"
    assert heading in text
    # Two QR drawings more than the same invoice without codes: each is its own path content.
    plain_client, plain = _stored_invoice(cabinet, client, invoice)
    without = PdfRenderer().render(
        cabinet, plain, client=plain_client, template=None, language=language
    )
    assert "OFFLINE" not in _text(without.content)
    assert len(rendered.content) > len(without.content)

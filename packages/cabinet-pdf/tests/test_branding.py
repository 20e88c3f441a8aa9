from __future__ import annotations

import base64
import io
import socket

import attrs
import pytest
from cabinet_core import Branding
from cabinet_pdf import PdfRenderer
from cabinet_pdf.branding import MAX_LOGO_BYTES, logo_bytes, logo_image
from PIL import Image as PILImage
from pypdf import PdfReader


def png(width: int = 60, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


def test_logo_from_a_data_url_a_path_and_a_file_url(tmp_path):
    content = png()
    path = tmp_path / "logo ż.png"
    path.write_bytes(content)
    assert logo_bytes(data_url(content)) == content
    assert logo_bytes(str(path)) == content
    assert logo_bytes(path.as_uri()) == content
    image = logo_image(data_url(content))
    assert image is not None and image.getSize() == (60, 20)


def test_network_urls_are_never_fetched(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the renderer must not open a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    for url in ("https://example.com/logo.png", "http://127.0.0.1/logo.png", "ftp://x/y.png"):
        assert logo_bytes(url) is None


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "/no/such/logo.png", "data:image/png;base64,@@not base64@@"],
)
def test_missing_or_broken_logos_are_left_out(value):
    assert logo_bytes(value) is None
    assert logo_image(value) is None


def test_a_file_that_is_no_image_or_too_big_is_left_out(tmp_path):
    text = tmp_path / "logo.png"
    text.write_text("not an image")
    assert logo_bytes(str(text)) == b"not an image"
    assert logo_image(str(text)) is None
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\0" * (MAX_LOGO_BYTES + 1))
    assert logo_bytes(str(huge)) is None


@pytest.fixture
def cost_invoice(invoice, client):
    """A document the cabinet keeps for the firm (the invoice a supplier sent the client): it
    carries the firm's branding. The client's own sales documents carry the client's identity
    (test_client_identity.py)."""
    from cabinet_core.entities import Party

    return attrs.evolve(
        invoice,
        doc_type="cost_invoice",
        status="submitted",
        seller=invoice.buyer,
        buyer=Party(name=client.name, nip=client.nip, address=client.address),
    )


def _images(content: bytes) -> list[str]:
    page = PdfReader(io.BytesIO(content)).pages[0]
    xobjects = page["/Resources"].get("/XObject", {})
    return [name for name, ref in xobjects.items() if ref.get_object()["/Subtype"] == "/Image"]


@pytest.mark.parametrize("template", ["classic", "modern"])
def test_logo_and_firm_colours_appear_in_both_templates(
    cabinet, client, cost_invoice, pdf_text, template
):
    branding = Branding(
        firm_name="Kancelaria Łużycka",
        logo_url=data_url(png()),
        primary_color="#0a7d3b",
    )
    branded = attrs.evolve(cabinet.settings, branding=branding)
    cabinet.settings = branded
    rendered = PdfRenderer().render(
        cabinet, cost_invoice, client=client, template=cabinet.templates[template], language="pl"
    )
    assert len(_images(rendered.content)) == 1
    page = PdfReader(io.BytesIO(rendered.content)).pages[0]
    # #0a7d3b as reportlab writes fill colours.
    assert b".039216 .490196 .231373 rg" in page.get_contents().get_data()
    assert "Kancelaria Łużycka" in pdf_text(rendered.content)
    # Without a logo nothing is embedded, and a web URL is not fetched.
    cabinet.settings = attrs.evolve(
        branded, branding=attrs.evolve(branding, logo_url="https://example.com/logo.png")
    )
    plain = PdfRenderer().render(
        cabinet, cost_invoice, client=client, template=cabinet.templates[template], language="pl"
    )
    assert _images(plain.content) == []


def test_the_branding_saved_on_the_settings_page_is_printed(
    cabinet, client, cost_invoice, pdf_text
):
    from cabinet_core.entities import Actor

    cabinet.branding.update(
        Actor.system(),
        firm_name="Biuro Rachunkowe Nowak",
        primary_color="#0a7d3b",
        accent_color="#ffd166",
    )
    cabinet.branding.set_logo(Actor.system(), png(), "image/png")
    rendered = PdfRenderer().render(
        cabinet, cost_invoice, client=client, template=cabinet.templates["classic"], language="pl"
    )
    assert "Biuro Rachunkowe Nowak" in pdf_text(rendered.content)
    assert len(_images(rendered.content)) == 1
    page = PdfReader(io.BytesIO(rendered.content)).pages[0]
    assert b".039216 .490196 .231373 rg" in page.get_contents().get_data()

"""Verification codes: KOD I and KOD II links (kody-qr.md), labels and the SVG rendering,
cross-checked with PyPI ``ksef-client``'s verification-link builder."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import pytest
from cabinet_ksef import qr
from cabinet_ksef.environments import Environment
from client_support import FA3_EXAMPLE, signer_certificate
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st
from ksef_client.config import KsefClientOptions
from ksef_client.services.verification_link import VerificationLinkService
from lxml import etree

# The worked example of kody-qr.md (§10 of the reference): the hash segment and the KOD II
# text to sign, for seller and context NIP 1111111111 and certificate 01F20A5D352AE590.
EXAMPLE_HASH_SEGMENT = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
EXAMPLE_INVOICE_URL = (
    f"https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/{EXAMPLE_HASH_SEGMENT}"
)
EXAMPLE_SIGNED_TEXT = (
    "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    f"{EXAMPLE_HASH_SEGMENT}"
)


def _example_hash() -> str:
    """The standard-base64 invoiceHash whose link form is the example's segment."""
    return base64.b64encode(base64.urlsafe_b64decode(EXAMPLE_HASH_SEGMENT + "=")).decode()


def _oracle(base: str) -> VerificationLinkService:
    return VerificationLinkService(
        KsefClientOptions(base_url="https://api-test.ksef.mf.gov.pl", base_qr_url=base)
    )


def test_kod_i_reproduces_the_worked_example() -> None:
    url = qr.invoice_verification_url(
        Environment.TEST, "1111111111", dt.date(2026, 2, 1), invoice_hash=_example_hash()
    )
    assert url == EXAMPLE_INVOICE_URL


@pytest.mark.parametrize(
    ("environment", "host"),
    [
        (Environment.TEST, "https://qr-test.ksef.mf.gov.pl"),
        (Environment.DEMO, "https://qr-demo.ksef.mf.gov.pl"),
        (Environment.PRODUCTION, "https://qr.ksef.mf.gov.pl"),
    ],
)
def test_kod_i_hashes_the_exact_xml_and_prints_p1_as_dd_mm_yyyy(
    environment: Environment, host: str
) -> None:
    xml = FA3_EXAMPLE.read_bytes()
    url = qr.invoice_verification_url(environment, "9999999999", dt.date(2026, 2, 15), xml)
    segment = base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).rstrip(b"=").decode()
    assert url == f"{host}/invoice/9999999999/15-02-2026/{segment}"
    # The same link as ksef-client builds from the invoiceHash KSeF reports.
    invoice_hash = base64.b64encode(hashlib.sha256(xml).digest()).decode()
    assert url == _oracle(host).build_invoice_verification_url(
        "9999999999", dt.date(2026, 2, 15), invoice_hash
    )


@given(xml=st.binary(min_size=1), day=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
def test_kod_i_from_xml_and_from_its_hash_agree_with_ksef_client(xml: bytes, day: dt.date) -> None:
    invoice_hash = base64.b64encode(hashlib.sha256(xml).digest()).decode()
    from_xml = qr.invoice_verification_url("https://qr.example/", "5265877635", day, xml)
    from_hash = qr.invoice_verification_url(
        "https://qr.example", "5265877635", day, invoice_hash=invoice_hash
    )
    assert from_xml == from_hash
    assert from_xml == _oracle("https://qr.example").build_invoice_verification_url(
        "5265877635", day, invoice_hash
    )
    assert re.fullmatch(
        r"https://qr\.example/invoice/5265877635/\d\d-\d\d-\d{4}/[A-Za-z0-9_-]{43}", from_xml
    )


def test_kod_i_needs_exactly_one_of_xml_and_hash_and_a_clean_nip() -> None:
    with pytest.raises(ValueError):
        qr.invoice_verification_url(Environment.TEST, "1111111111", dt.date(2026, 2, 1))
    with pytest.raises(ValueError):
        qr.invoice_verification_url(
            Environment.TEST, "1111111111", dt.date(2026, 2, 1), b"x", invoice_hash=_example_hash()
        )
    with pytest.raises(ValueError):
        qr.invoice_verification_url(Environment.TEST, "111/111", dt.date(2026, 2, 1), b"x")


def _signature(url: str) -> tuple[str, bytes]:
    unsigned, _, signature = url.rpartition("/")
    return unsigned, base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


def test_kod_ii_with_an_rsa_key_signs_the_example_text_with_pss() -> None:
    certificate, key = signer_certificate("rsa", serial=0x01F20A5D352AE590)
    assert isinstance(key, rsa.RSAPrivateKey)
    url = qr.certificate_verification_url(
        Environment.TEST,
        seller_nip="1111111111",
        context_value="1111111111",
        certificate=certificate,
        private_key=key,
        invoice_hash=_example_hash(),
    )
    unsigned, signature = _signature(url)
    assert unsigned == "https://" + EXAMPLE_SIGNED_TEXT
    assert len(url.rpartition("/")[2]) == 342  # 256 bytes, as in the doc's example
    key.public_key().verify(
        signature,
        EXAMPLE_SIGNED_TEXT.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_kod_ii_with_an_ecdsa_key_signs_r_and_s() -> None:
    certificate, key = signer_certificate("ec", serial=0x01F20A5D352AE590)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    url = qr.certificate_verification_url(
        Environment.TEST,
        seller_nip="1111111111",
        context_value="1111111111",
        certificate=certificate,
        private_key=key,
        invoice_hash=_example_hash(),
    )
    unsigned, signature = _signature(url)
    assert unsigned == "https://" + EXAMPLE_SIGNED_TEXT
    assert len(signature) == 64
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.public_key().verify(
        encode_dss_signature(r, s), EXAMPLE_SIGNED_TEXT.encode(), ec.ECDSA(hashes.SHA256())
    )


def test_kod_ii_matches_ksef_client_up_to_the_randomised_signature() -> None:
    from client_support import key_pem

    certificate, key = signer_certificate("ec", serial=0x01F20A5D352AE590)
    ours = qr.certificate_verification_url(
        Environment.DEMO,
        seller_nip="1111111111",
        context_value="5265877635",
        certificate=certificate,
        private_key=key,
        invoice_hash=_example_hash(),
    )
    theirs = _oracle("https://qr-demo.ksef.mf.gov.pl").build_certificate_verification_url(
        seller_nip="1111111111",
        context_identifier_type="Nip",
        context_identifier_value="5265877635",
        certificate_serial="01F20A5D352AE590",
        invoice_hash=_example_hash(),
        private_key_pem=key_pem(key).decode(),
    )
    assert ours.rpartition("/")[0] == theirs.rpartition("/")[0]
    # Their signature (r‖s) verifies against the very text we sign, and ours has its shape.
    _, their_signature = _signature(theirs)
    _, our_signature = _signature(ours)
    assert len(their_signature) == len(our_signature) == 64
    signed_text = ours.rpartition("/")[0].split("://", 1)[1].encode()
    for signature in (their_signature, our_signature):
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        key.public_key().verify(encode_dss_signature(r, s), signed_text, ec.ECDSA(hashes.SHA256()))


def test_kod_ii_takes_the_certificate_and_an_encrypted_key_as_pem() -> None:
    from client_support import key_pem, pem

    certificate, key = signer_certificate("rsa", serial=0x01F20A5D352AE590)
    url = qr.certificate_verification_url(
        Environment.TEST,
        seller_nip="1111111111",
        context_value="1111111111",
        certificate=pem(certificate),
        private_key=key_pem(key, b"tajne"),
        password=b"tajne",
        invoice_hash=_example_hash(),
    )
    unsigned, signature = _signature(url)
    assert unsigned == "https://" + EXAMPLE_SIGNED_TEXT
    key.public_key().verify(
        signature,
        EXAMPLE_SIGNED_TEXT.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_labels() -> None:
    assert qr.invoice_label(None) == "OFFLINE"
    assert (
        qr.invoice_label("5265877635-20250826-0100001AF629-AF")
        == "5265877635-20250826-0100001AF629-AF"
    )
    assert qr.CERTIFICATE_LABEL == "CERTYFIKAT"


def test_the_svg_is_an_svg_qr_code_of_the_link() -> None:
    svg = qr.svg(EXAMPLE_INVOICE_URL)
    root = etree.fromstring(svg.encode())
    assert etree.QName(root).localname == "svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert width == height and width > 100
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None
    # A longer link needs a bigger symbol.
    assert len(qr.svg(EXAMPLE_INVOICE_URL + "x" * 200)) > len(svg)

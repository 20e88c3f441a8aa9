"""The XAdES-signed AuthTokenRequest: valid against auth XSD 2.1, verified by signxml."""

from __future__ import annotations

import base64

import pytest
import signxml
from cabinet_ksef import xades
from client_support import signer_certificate
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from ksef_fake import AUTH_XSD, DS
from lxml import etree
from signxml.xades.xades import XAdESVerifier

CHALLENGE = "20250625-CR-20F5EE4000-DA48AE4124-46"
NS = {"a": xades.AUTH_NAMESPACE, "ds": DS, "xades": "http://uri.etsi.org/01903/v1.3.2#"}


def test_the_unsigned_request_is_valid_against_auth_xsd_2_1() -> None:
    request = xades.auth_token_request(CHALLENGE, "5265877635")
    AUTH_XSD.validate(etree.tostring(request).decode())
    # (NipVatUe is not tried: XSD 2.1's pattern for it ends in "$", a literal in XSD regex, so
    # no real NIP-VAT-UE value matches it; the portal acts in Nip contexts.)
    other = xades.auth_token_request(CHALLENGE, "5265877635-12345", context_type="InternalId")
    AUTH_XSD.validate(etree.tostring(other).decode())


def test_a_bad_challenge_breaks_the_schema() -> None:
    request = xades.auth_token_request("not-a-challenge", "5265877635")
    assert not AUTH_XSD.is_valid(etree.tostring(request).decode())


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_the_signed_request_is_enveloped_xades_bes_and_verifies(kind: str) -> None:
    certificate, key = signer_certificate(kind)
    body = xades.signed_auth_token_request(CHALLENGE, "5265877635", certificate, key)

    results = XAdESVerifier().verify(
        body,
        x509_cert=certificate,
        expect_config=signxml.SignatureConfiguration(expect_references=3),
    )
    signed_tags = {etree.QName(r.signed_xml).localname for r in results}
    assert signed_tags == {"AuthTokenRequest", "SignedProperties", "KeyInfo"}

    document = etree.fromstring(body)
    assert document.findtext("a:Challenge", namespaces=NS) == CHALLENGE
    assert document.findtext("a:ContextIdentifier/a:Nip", namespaces=NS) == "5265877635"
    method = document.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
    assert method.endswith("rsa-sha256" if kind == "rsa" else "ecdsa-sha256")
    # Enveloped: the first reference is the whole document with the enveloped transform.
    transforms = document.findall(
        "ds:Signature/ds:SignedInfo/ds:Reference[@URI='']/ds:Transforms/ds:Transform", NS
    )
    assert transforms[0].get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    # XAdES-BES: signing time and the signing certificate's digest.
    assert document.find(".//xades:SigningTime", NS) is not None
    assert (
        document.find(".//xades:SigningCertificateV2", NS) is not None
        or document.find(".//xades:SigningCertificate", NS) is not None
    )
    embedded = document.findtext(".//ds:X509Certificate", namespaces=NS)
    assert base64.b64decode(embedded) == certificate.public_bytes(Encoding.DER)

    # Without its signature the document is exactly an AuthTokenRequest of XSD 2.1.
    document.remove(document.find("ds:Signature", NS))
    AUTH_XSD.validate(etree.tostring(document).decode())


def test_an_ecdsa_signature_value_is_r_and_s_not_der() -> None:
    certificate, key = signer_certificate("ec")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    body = xades.signed_auth_token_request(CHALLENGE, "5265877635", certificate, key)
    value = etree.fromstring(body).findtext(".//ds:SignatureValue", namespaces=NS)
    assert len(base64.b64decode(value)) == 64


def test_a_tampered_request_does_not_verify() -> None:
    certificate, key = signer_certificate("rsa")
    body = xades.signed_auth_token_request(CHALLENGE, "5265877635", certificate, key)
    tampered = body.replace(b"<Nip>5265877635</Nip>", b"<Nip>1111111111</Nip>")
    with pytest.raises(signxml.exceptions.InvalidSignature):
        XAdESVerifier().verify(
            tampered,
            x509_cert=certificate,
            expect_config=signxml.SignatureConfiguration(expect_references=3),
        )


def test_short_rsa_keys_are_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = rsa.generate_private_key(65537, 1024)
    certificate, _ = signer_certificate("rsa")
    with pytest.raises(ValueError, match="2048"):
        xades.sign(xades.auth_token_request(CHALLENGE, "5265877635"), certificate, short)

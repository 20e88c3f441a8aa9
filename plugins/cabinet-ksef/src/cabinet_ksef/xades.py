"""The XAdES-signed ``AuthTokenRequest`` of ``POST /auth/xades-signature`` (auth XSD 2.1).

The request names the challenge, the context the firm acts in (the client's NIP) and how KSeF
identifies the signer (``certificateSubject``: by the NIP/PESEL in the certificate). It is
signed enveloped with XAdES-BES (SignedProperties with signing time and certificate digest), by
a qualified certificate or a KSeF certificate: RSA (PKCS#1 v1.5, SHA-256) or ECDSA (SHA-256 on
P-256, SHA-384 on P-384; the signature value as r‖s, as XML-DSig 1.1 requires).
"""

from __future__ import annotations

from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import methods
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.xades.xades import XAdESSigner

from cabinet_ksef.crypto import SigningKey

AUTH_NAMESPACE = "http://ksef.mf.gov.pl/auth/token/2.1"

ContextType = Literal["Nip", "InternalId", "NipVatUe", "PeppolId"]
SubjectIdentifierType = Literal["certificateSubject", "certificateFingerprint"]

# Inclusive C14N 1.0: the most widely supported of the canonicalizations KSeF accepts (signxml's
# exclusive C14N breaks the SignedProperties digest).
_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def auth_token_request(
    challenge: str,
    context_value: str,
    *,
    context_type: ContextType = "Nip",
    subject_identifier_type: SubjectIdentifierType = "certificateSubject",
) -> etree._Element:
    """The unsigned ``AuthTokenRequest`` element, in the auth 2.1 namespace."""
    # The namespace is the default one, as in KSeF's own samples (lxml-stubs forget None keys).
    nsmap = {None: AUTH_NAMESPACE}
    root = etree.Element(f"{{{AUTH_NAMESPACE}}}AuthTokenRequest", nsmap=nsmap)  # type: ignore[arg-type]
    etree.SubElement(root, f"{{{AUTH_NAMESPACE}}}Challenge").text = challenge
    context = etree.SubElement(root, f"{{{AUTH_NAMESPACE}}}ContextIdentifier")
    etree.SubElement(context, f"{{{AUTH_NAMESPACE}}}{context_type}").text = context_value
    subject = etree.SubElement(root, f"{{{AUTH_NAMESPACE}}}SubjectIdentifierType")
    subject.text = subject_identifier_type
    return root


def sign(request: etree._Element, certificate: x509.Certificate, private_key: SigningKey) -> bytes:
    """The request signed enveloped with XAdES-BES, serialized as UTF-8 XML bytes."""
    signer = XAdESSigner(
        method=methods.enveloped,
        signature_algorithm=_signature_method(private_key),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=_C14N,
    )
    signed = signer.sign(request, key=private_key, cert=[certificate])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="utf-8"))


def signed_auth_token_request(
    challenge: str,
    context_value: str,
    certificate: x509.Certificate,
    private_key: SigningKey,
    *,
    context_type: ContextType = "Nip",
    subject_identifier_type: SubjectIdentifierType = "certificateSubject",
) -> bytes:
    """The body of ``POST /auth/xades-signature`` for one challenge and context."""
    request = auth_token_request(
        challenge,
        context_value,
        context_type=context_type,
        subject_identifier_type=subject_identifier_type,
    )
    return sign(request, certificate, private_key)


def _signature_method(private_key: SigningKey) -> SignatureMethod:
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < 2048:
            raise ValueError("KSeF needs RSA keys of at least 2048 bits")
        return SignatureMethod.RSA_SHA256
    if private_key.curve.key_size < 256:
        raise ValueError("KSeF needs ECDSA keys of at least 256 bits")
    if isinstance(private_key.curve, ec.SECP384R1):
        return SignatureMethod.ECDSA_SHA384
    return SignatureMethod.ECDSA_SHA256

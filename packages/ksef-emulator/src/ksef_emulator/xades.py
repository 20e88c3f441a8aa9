"""The XAdES-signed ``AuthTokenRequest`` (ksef-api.md §4.2b).

:func:`check_request` does what KSeF does synchronously (400): readable UTF-8 XML, valid
against the auth XSD 2.1 (the 2.0 namespace is read as 2.1), exactly one enveloped or
enveloping signature that verifies cryptographically against the certificate it carries.
Like MF's TEST environment, a self-signed certificate is accepted (no chain, no OCSP); what the
certificate is worth (valid now, whose NIP/PESEL it names) is left to the asynchronous status.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import re
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID, ObjectIdentifier
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from ksef_emulator.errors import KsefError
from ksef_emulator.policy import IpPolicy
from ksef_emulator.schemas import auth_schema, errors_of

__all__ = ["AuthRequest", "check_request", "fingerprint", "subject_of"]

AUTH_NS_21 = "http://ksef.mf.gov.pl/auth/token/2.1"
AUTH_NS_20 = "http://ksef.mf.gov.pl/auth/token/2.0"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")
_NIP_IN_SERIAL = re.compile(r"(?:TINPL|NIP).*?(\d{10})")
_PESEL_IN_SERIAL = re.compile(r"(?:PNOPL|PESEL).*?(\d{11})")
_NIP_IN_ORG_ID = re.compile(r"VATPL-?(\d{10})")

_CONFIG = SignatureConfiguration(
    require_x509=True,
    location=".//",
    expect_references=True,
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
    # XMLDSig: a same-document reference without transforms is canonicalised with C14N 1.0
    # (signxml's default would be 1.1, which breaks signatures made by xmlsec and others).
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)


@attrs.frozen
class AuthRequest:
    """What a verified ``AuthTokenRequest`` asks for."""

    challenge: str
    context_type: str  # Nip | InternalId | NipVatUe | PeppolId
    context_value: str
    subject_identifier_type: str  # certificateSubject | certificateFingerprint
    certificate: x509.Certificate
    document_hash: str  # base64 SHA-256 of the signed document (the UPO quotes it)
    ip_policy: IpPolicy


def _certificate_of(signature: Any) -> x509.Certificate:
    found = signature.find(f".//{{{DS_NS}}}X509Certificate")
    if found is None or not (found.text or "").strip():
        raise KsefError(21115, "Podpis nie zawiera certyfikatu X509.")
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(found.text.split())))
    except ValueError as error:
        raise KsefError(21115, str(error)) from error


def _request_element(document: etree._Element) -> etree._Element:
    """The ``AuthTokenRequest``: the root (enveloped signature) or inside the signature's
    ``ds:Object`` (enveloping)."""
    for namespace in (AUTH_NS_21, AUTH_NS_20):
        tag = f"{{{namespace}}}AuthTokenRequest"
        if document.tag == tag:
            return document
        if etree.QName(document).namespace == DS_NS:
            found = document.find(f"{{{DS_NS}}}Object/{tag}")
            if found is not None:
                return found
    raise KsefError(9101, "Oczekiwano dokumentu AuthTokenRequest.")


def check_request(body: bytes) -> AuthRequest:
    """The request in ``body``, or the synchronous :class:`KsefError` KSeF answers."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise KsefError(21217, str(error)) from error
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise KsefError(21001, str(error)) from error
    root = _request_element(document)
    namespace = etree.QName(root).namespace
    signatures = document.findall(f".//{{{DS_NS}}}Signature")
    if etree.QName(document).namespace == DS_NS:  # enveloping: the signature is the root
        signatures.insert(0, document)
    if not signatures:
        raise KsefError(9102)
    if len(signatures) > 1:
        raise KsefError(9103)
    certificate = _certificate_of(signatures[0])
    try:
        # Whether the certificate is valid *now* (on the emulator's clock) is the status's
        # business (460); here only the signature counts, so signxml checks it at a moment
        # the certificate was valid.
        config = dataclasses.replace(_CONFIG, verification_time=certificate.not_valid_before_utc)
        XMLVerifier().verify(body, x509_cert=certificate, expect_config=config)
    except (InvalidSignature, InvalidInput, etree.LxmlError, ValueError) as error:
        # signxml's own parsing and its XMLDSig schema check fail with lxml errors.
        raise KsefError(9105, str(error)) from error
    # The XSD check runs on the document without its signature, in the 2.1 namespace.
    unsigned = copy.deepcopy(root)
    for signature in unsigned.findall(f".//{{{DS_NS}}}Signature"):
        parent = signature.getparent()
        if parent is not None:
            parent.remove(signature)
    text = etree.tostring(unsigned)
    if namespace == AUTH_NS_20:
        text = text.replace(AUTH_NS_20.encode(), AUTH_NS_21.encode())
    problems = errors_of(auth_schema(), text)
    if problems:
        raise KsefError(21401, *problems)
    ns = {"a": namespace}
    context = root.find("a:ContextIdentifier", ns)
    assert context is not None and len(context)  # required by the XSD
    context_element = context[0]
    return AuthRequest(
        challenge=root.findtext("a:Challenge", namespaces=ns) or "",
        context_type=etree.QName(context_element).localname,
        context_value=(context_element.text or "").strip(),
        subject_identifier_type=root.findtext("a:SubjectIdentifierType", namespaces=ns) or "",
        certificate=certificate,
        document_hash=base64.b64encode(hashlib.sha256(body).digest()).decode(),
        ip_policy=IpPolicy.parse(
            *(
                [(e.text or "").strip() for e in root.iterfind(f".//a:AllowedIps/a:{kind}", ns)]
                for kind in ("Ip4Address", "Ip4Range", "Ip4Mask")
            )
        ),
    )


def subject_of(certificate: x509.Certificate) -> tuple[str, str] | None:
    """Whom a certificate names, as ``("Nip", nip)`` or ``("Pesel", pesel)``: OID 2.5.4.5
    ``serialNumber`` (``TINPL-…``/``NIP…``, ``PNOPL-…``/``PESEL…``) or, for a seal, 2.5.4.97
    ``organizationIdentifier`` (``VATPL-…``). ``None`` when it names nobody KSeF knows."""
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = str(attribute.value)
        if match := _NIP_IN_SERIAL.search(value):
            return "Nip", match.group(1)
        if match := _PESEL_IN_SERIAL.search(value):
            return "Pesel", match.group(1)
    for attribute in certificate.subject.get_attributes_for_oid(_ORGANIZATION_IDENTIFIER):
        if match := _NIP_IN_ORG_ID.search(str(attribute.value)):
            return "Nip", match.group(1)
    return None


def fingerprint(certificate: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint in uppercase hex (``certificateFingerprint``)."""
    return certificate.fingerprint(hashes.SHA256()).hex().upper()

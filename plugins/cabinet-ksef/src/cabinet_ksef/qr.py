"""The verification codes (kody weryfikujące QR) printed on a KSeF invoice.

- KOD I (every KSeF invoice): ``{qr host}/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{hash}``,
  the hash being SHA-256 of the exact XML sent to KSeF in unpadded base64url. Its label is
  the KSeF number once assigned, ``OFFLINE`` until then.
- KOD II (offline invoices only): ``{qr host}/certificate/{context type}/{context value}/
  {seller NIP}/{certificate serial}/{hash}/{signature}``, signed with the private key of a KSeF
  certificate of type Offline: the signed text is the URL without its scheme and without the
  signature segment; RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) or ECDSA P-256 with SHA-256
  as r‖s. Its label is ``CERTYFIKAT``.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from cabinet_ksef import crypto
from cabinet_ksef.environments import Environment, qr_base_url

__all__ = [
    "CERTIFICATE_LABEL",
    "OFFLINE_LABEL",
    "certificate_verification_url",
    "invoice_label",
    "invoice_verification_url",
    "svg",
]

OFFLINE_LABEL = "OFFLINE"
"""KOD I's label while the invoice has no KSeF number (offline, or online still waiting)."""

CERTIFICATE_LABEL = "CERTYFIKAT"
"""KOD II's label."""

ContextType = Literal["Nip", "InternalId", "NipVatUe", "PeppolId"]


def invoice_label(ksef_number: str | None) -> str:
    """The text under KOD I: the KSeF number once known, else ``OFFLINE``."""
    return ksef_number or OFFLINE_LABEL


def invoice_verification_url(
    environment_or_base: Environment | str,
    seller_nip: str,
    issue_date: date,
    invoice_xml: bytes | None = None,
    *,
    invoice_hash: str | None = None,
) -> str:
    """KOD I: the link that verifies an invoice in KSeF.

    ``issue_date`` is the invoice's ``P_1`` (not the date KSeF accepted it). Give the exact XML
    bytes sent to KSeF, or their ``invoice_hash`` (standard base64, as KSeF reports it).
    """
    hash_segment = _hash_segment(invoice_xml, invoice_hash)
    return (
        f"{qr_base_url(environment_or_base)}/invoice/{_segment(seller_nip)}/"
        f"{issue_date:%d-%m-%Y}/{hash_segment}"
    )


def certificate_verification_url(
    environment_or_base: Environment | str,
    *,
    seller_nip: str,
    context_value: str,
    certificate: x509.Certificate | bytes,
    private_key: crypto.SigningKey | bytes,
    password: bytes | None = None,
    invoice_xml: bytes | None = None,
    invoice_hash: str | None = None,
    context_type: ContextType = "Nip",
) -> str:
    """KOD II: the link that proves an offline invoice's issuer holds a KSeF Offline certificate.

    ``context_value`` identifies the context (the client's NIP for ``Nip``); ``certificate``
    and ``private_key`` are the KSeF certificate of type Offline and its key, as objects or as
    PEM/DER bytes (``password`` unlocks an encrypted key).
    """
    if isinstance(certificate, bytes):
        certificate = crypto.load_certificate(certificate)
    if isinstance(private_key, bytes):
        private_key = crypto.load_private_key(private_key, password)
    unsigned = (
        f"{qr_base_url(environment_or_base)}/certificate/{context_type}/"
        f"{_segment(context_value)}/{_segment(seller_nip)}/{certificate_serial(certificate)}/"
        f"{_hash_segment(invoice_xml, invoice_hash)}"
    )
    to_sign = unsigned.split("://", 1)[-1]
    signature = _sign(private_key, to_sign.encode("utf-8"))
    return f"{unsigned}/{crypto.base64url(signature)}"


def certificate_serial(certificate: x509.Certificate) -> str:
    """A KSeF certificate's serial as KOD II writes it: uppercase hex, at least 16 digits."""
    return f"{certificate.serial_number:016X}"


def svg(url: str, *, scale: int = 4) -> str:
    """The QR code of ``url`` as an SVG element (for the web preview).

    Error correction M, quiet zone of four modules, as ISO/IEC 18004 prescribes.
    """
    import segno  # only where a code is drawn: a web process need not hold it from the start

    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    # With the SVG namespace and no XML declaration: valid inline in HTML and as a file.
    code.save(
        out,
        kind="svg",
        scale=scale,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        nl=False,
    )
    return out.getvalue().decode("utf-8")


def _hash_segment(invoice_xml: bytes | None, invoice_hash: str | None) -> str:
    if (invoice_xml is None) == (invoice_hash is None):
        raise ValueError("give either the invoice XML or its hash")
    if invoice_xml is not None:
        return crypto.base64url(_sha256(invoice_xml))
    assert invoice_hash is not None
    segment = crypto.base64url_from_base64(invoice_hash)
    if len(segment) != 43:
        raise ValueError("the invoice hash is not a base64 SHA-256 digest")
    return segment


def _sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


_SEGMENT = re.compile(r"[A-Za-z0-9-]+")


def _segment(value: str) -> str:
    # A slash or space would change the link's structure (and what KOD II signs).
    if not _SEGMENT.fullmatch(value):
        raise ValueError(f"{value!r} cannot be part of a verification link")
    return value


def _sign(private_key: crypto.SigningKey, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(
            data,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    size = (private_key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")

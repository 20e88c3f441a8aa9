"""Certificate authentication: a XAdES-signed AuthTokenRequest, signed here with signxml and
self-signed certificates whose subject carries a NIP or PESEL (as MF's TEST accepts), and the
accounting-office model of §4.7 (a firm's seal in its client's context needs the client's
grant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest import FIRM, SELLER, START, Ksef, bearer, error_codes
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier
from ksef_emulator import Emulator
from lxml import etree
from signxml import methods
from signxml.xades import XAdESSigner

AUTH_NS = "http://ksef.mf.gov.pl/auth/token/2.0"


def certificate(
    *,
    serial_number: str | None = None,
    organization_id: str | None = None,
    days: tuple[int, int] = (-1, 365),
    start: datetime | None = START,
) -> tuple[bytes, bytes]:
    """A self-signed RSA certificate and its key, both PEM, valid ``days`` around ``start``
    (the virtual clock's start; ``None``: the real now, for a served emulator)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "Jan Testowy")]
    if serial_number:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    if organization_id:
        attributes.append(x509.NameAttribute(ObjectIdentifier("2.5.4.97"), organization_id))
    name = x509.Name(attributes)
    now = start or datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def auth_request(
    challenge: str, context_nip: str, subject_type: str = "certificateSubject"
) -> etree._Element:
    root = etree.Element(f"{{{AUTH_NS}}}AuthTokenRequest", nsmap={None: AUTH_NS})
    etree.SubElement(root, f"{{{AUTH_NS}}}Challenge").text = challenge
    context = etree.SubElement(root, f"{{{AUTH_NS}}}ContextIdentifier")
    etree.SubElement(context, f"{{{AUTH_NS}}}Nip").text = context_nip
    etree.SubElement(root, f"{{{AUTH_NS}}}SubjectIdentifierType").text = subject_type
    return root


def signed(root: etree._Element, cert_pem: bytes, key_pem: bytes) -> bytes:
    signer = XAdESSigner(method=methods.enveloped)
    return etree.tostring(signer.sign(root, key=key_pem, cert=cert_pem.decode()))


def xades_login(
    ksef: Ksef,
    http: httpx.Client,
    context_nip: str,
    cert: tuple[bytes, bytes],
    subject_type: str = "certificateSubject",
) -> tuple[dict[str, Any], int]:
    challenge = ksef.challenge()["challenge"]
    body = signed(auth_request(challenge, context_nip, subject_type), *cert)
    answer = http.post(
        "/v2/auth/xades-signature", content=body, headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 202, answer.text
    started = answer.json()
    return started, ksef.auth_status(started)["status"]["code"]


def test_own_certificate_authenticates_in_own_context(ksef: Ksef, http: httpx.Client) -> None:
    started, code = xades_login(ksef, http, SELLER, certificate(serial_number=f"TINPL-{SELLER}"))
    assert code == 200
    status = ksef.auth_status(started)
    assert status["authenticationMethodInfo"]["category"] == "XadesSignature"
    tokens = ksef.redeem(started).json()
    ksef.open_session(tokens["accessToken"]["token"])  # an owner may write invoices


def test_firm_seal_needs_the_clients_grant(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    seal = certificate(organization_id=f"VATPL-{FIRM}")
    _, code = xades_login(ksef, http, SELLER, seal)
    assert code == 415
    answer = http.post(
        "/v2/testdata/permissions",
        json={
            "contextIdentifier": {"type": "Nip", "value": SELLER},
            "authorizedIdentifier": {"type": "Nip", "value": FIRM},
            "permissions": [{"permissionType": "InvoiceRead", "description": "biuro rachunkowe"}],
        },
    )
    assert answer.status_code == 200
    started, code = xades_login(ksef, http, SELLER, seal)
    assert code == 200
    access = ksef.redeem(started).json()["accessToken"]["token"]
    # InvoiceRead only: querying works, opening a session to send is forbidden
    window = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-12-01T00:00:00+01:00"},
    }
    assert ksef.query(access, window, pageSize=10).status_code == 200
    assert http.post("/v2/sessions/online", headers=bearer(access), json={}).status_code == 403
    emulator.grant(SELLER, FIRM, ["InvoiceWrite"])
    started, _ = xades_login(ksef, http, SELLER, seal)
    ksef.open_session(ksef.redeem(started).json()["accessToken"]["token"])
    # the firm may then create a KSeF token in its client's context? Only with
    # CredentialsManage, which the client did not grant.
    answer = http.post(
        "/v2/tokens",
        headers=bearer(access),
        json={"permissions": ["InvoiceRead"], "description": "token biura"},
    )
    assert answer.status_code == 403


def test_fingerprint_subject_with_a_grant(
    ksef: Ksef, http: httpx.Client, emulator: Emulator
) -> None:
    cert = certificate()
    fingerprint = x509.load_pem_x509_certificate(cert[0]).fingerprint(hashes.SHA256()).hex()
    _, code = xades_login(ksef, http, SELLER, cert, "certificateFingerprint")
    assert code == 415
    emulator.grant(SELLER, fingerprint.upper(), identifier_type="Fingerprint")
    _, code = xades_login(ksef, http, SELLER, cert, "certificateFingerprint")
    assert code == 200


def test_certificate_problems_fail_at_status_with_460(ksef: Ksef, http: httpx.Client) -> None:
    expired = certificate(serial_number=f"TINPL-{SELLER}", days=(-30, -1))
    _, code = xades_login(ksef, http, SELLER, expired)
    assert code == 460
    nobody = certificate()
    started, code = xades_login(ksef, http, SELLER, nobody)
    assert code == 460
    assert ksef.auth_status(started)["status"]["details"] == ["Niepoprawny certyfikat"]


def test_signature_and_document_errors_are_synchronous(ksef: Ksef, http: httpx.Client) -> None:
    cert = certificate(serial_number=f"TINPL-{SELLER}")

    def post(body: bytes) -> httpx.Response:
        return http.post(
            "/v2/auth/xades-signature", content=body, headers={"Content-Type": "application/xml"}
        )

    challenge = ksef.challenge()["challenge"]
    good = signed(auth_request(challenge, SELLER), *cert)
    tampered = good.replace(SELLER.encode(), FIRM.encode(), 1)
    assert error_codes(post(tampered)) == [9105]
    assert error_codes(post(etree.tostring(auth_request(challenge, SELLER)))) == [9102]
    assert error_codes(post(b"not xml")) == [21001]
    incomplete = auth_request(challenge, SELLER)
    incomplete.remove(incomplete[2])  # no SubjectIdentifierType
    assert error_codes(post(signed(incomplete, *cert))) == [21401]
    stale = signed(auth_request("20261207-CR-0000000000-0000000000-00", SELLER), *cert)
    assert error_codes(post(stale)) == [21111]
    assert post(good).status_code == 202
    assert error_codes(post(good)) == [21111]  # a challenge is used once


def test_enveloping_signature_is_accepted(ksef: Ksef, http: httpx.Client) -> None:
    cert_pem, key_pem = certificate(serial_number=f"TINPL-{SELLER}")
    challenge = ksef.challenge()["challenge"]
    signer = XAdESSigner(method=methods.enveloping)
    body = etree.tostring(
        signer.sign(auth_request(challenge, SELLER), key=key_pem, cert=cert_pem.decode())
    )
    assert body.startswith(b"<ds:Signature")
    answer = http.post(
        "/v2/auth/xades-signature", content=body, headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 202, answer.text
    assert ksef.auth_status(answer.json())["status"]["code"] == 200

"""Fixtures: an emulator on a virtual clock behind Starlette's (httpx) test client, and a
small KSeF client written here with ``cryptography`` alone (the client side of §3), so the
contract tests exercise the emulator exactly as an independent client would."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from ksef_emulator import Emulator, EmulatorConfig, VirtualClock, create_app
from starlette.testclient import TestClient

# No per-example deadline: these machines are shared and noisy, and speed is measured in bench/,
# not in tests (an example that took 300 ms under load is not a failure).
hypothesis.settings.register_profile("cabinet", deadline=None)
hypothesis.settings.load_profile("cabinet")


DATA = Path(__file__).parent / "data"
SELLER = "5265877635"
BUYER = "7010002137"
FIRM = "9462527347"
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
OAEP_SHA256 = OAEP(mgf=MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def invoice_xml(
    seller: str = SELLER,
    buyer: str = BUYER,
    number: str = "FV/1/12/2026",
    issued: date = date(2026, 12, 7),
) -> bytes:
    """The MF example invoice 01 with its seller, buyer, number and issue date replaced."""
    xml = (DATA / "FA_3_Przyklad_01.xml").read_text("utf-8")
    xml = xml.replace("<NIP>9999999999</NIP>", f"<NIP>{seller}</NIP>", 1)
    xml = xml.replace("<NIP>1111111111</NIP>", f"<NIP>{buyer}</NIP>", 1)
    xml = xml.replace("<P_2>FV2026/02/150</P_2>", f"<P_2>{number}</P_2>")
    xml = xml.replace("<P_1>2026-02-15</P_1>", f"<P_1>{issued.isoformat()}</P_1>")
    return xml.encode("utf-8")


def aes_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


class Session:
    """An open online session on the client side."""

    def __init__(self, reference: str, key: bytes, iv: bytes) -> None:
        self.reference, self.key, self.iv = reference, key, iv


class Ksef:
    """A minimal KSeF 2.0 client over an httpx client."""

    def __init__(self, http: httpx.Client, emulator: Emulator, clock: VirtualClock) -> None:
        self.http, self.emulator, self.clock = http, emulator, clock
        self.problems = {"X-Error-Format": "problem-details"}

    def keys(self) -> dict[str, dict[str, Any]]:
        answer = self.http.get("/v2/security/public-key-certificates")
        assert answer.status_code == 200
        return {entry["usage"][0]: entry for entry in answer.json()}

    def public_key(self, usage: str) -> Any:
        der = base64.b64decode(self.keys()[usage]["certificate"])
        return x509.load_der_x509_certificate(der).public_key()

    def challenge(self) -> dict[str, Any]:
        answer = self.http.post("/v2/auth/challenge")
        assert answer.status_code == 200
        return answer.json()

    def encrypted_token(self, token: str, timestamp_ms: int) -> str:
        blob = self.public_key("KsefTokenEncryption").encrypt(
            f"{token}|{timestamp_ms}".encode(), OAEP_SHA256
        )
        return base64.b64encode(blob).decode()

    def start_token_auth(
        self, token: str, nip: str, *, timestamp_ms: int | None = None, encrypted: str | None = None
    ) -> dict[str, Any]:
        challenge = self.challenge()
        answer = self.http.post(
            "/v2/auth/ksef-token",
            json={
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": nip},
                "encryptedToken": encrypted
                or self.encrypted_token(
                    token, timestamp_ms if timestamp_ms is not None else challenge["timestampMs"]
                ),
                "publicKeyId": self.keys()["KsefTokenEncryption"]["publicKeyId"],
            },
        )
        assert answer.status_code == 202, answer.text
        return answer.json()

    def auth_status(self, started: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.get(
            f"/v2/auth/{started['referenceNumber']}",
            headers=bearer(started["authenticationToken"]["token"]),
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def redeem(self, started: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            "/v2/auth/token/redeem", headers=bearer(started["authenticationToken"]["token"])
        )

    def login(self, nip: str = SELLER, token: str | None = None) -> dict[str, Any]:
        token = token or self.emulator.add_token(nip)
        started = self.start_token_auth(token, nip)
        assert self.auth_status(started)["status"]["code"] == 200
        answer = self.redeem(started)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def access(self, nip: str = SELLER) -> str:
        return str(self.login(nip)["accessToken"]["token"])

    def open_session(
        self,
        access: str,
        *,
        key: bytes | None = None,
        iv: bytes | None = None,
        wrapped: str | None = None,
    ) -> Session:
        key = key or os.urandom(32)
        iv = iv if iv is not None else os.urandom(16)
        wrapped = (
            wrapped
            or base64.b64encode(
                self.public_key("SymmetricKeyEncryption").encrypt(key, OAEP_SHA256)
            ).decode()
        )
        answer = self.http.post(
            "/v2/sessions/online",
            headers=bearer(access),
            json={
                "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
                "encryption": {
                    "encryptedSymmetricKey": wrapped,
                    "initializationVector": base64.b64encode(iv).decode(),
                    "publicKeyId": self.keys()["SymmetricKeyEncryption"]["publicKeyId"],
                },
            },
        )
        assert answer.status_code == 201, answer.text
        return Session(answer.json()["referenceNumber"], key, iv)

    def send(
        self,
        access: str,
        session: Session,
        xml: bytes,
        *,
        ciphertext: bytes | None = None,
        **overrides: Any,
    ) -> httpx.Response:
        encrypted = (
            ciphertext if ciphertext is not None else aes_encrypt(session.key, session.iv, xml)
        )
        body = {
            "invoiceHash": sha(xml),
            "invoiceSize": len(xml),
            "encryptedInvoiceHash": sha(encrypted),
            "encryptedInvoiceSize": len(encrypted),
            "encryptedInvoiceContent": base64.b64encode(encrypted).decode(),
            "offlineMode": False,
        }
        body.update(overrides)
        return self.http.post(
            f"/v2/sessions/online/{session.reference}/invoices",
            headers={**bearer(access), **self.problems},
            json=body,
        )

    def sent(self, access: str, session: Session, xml: bytes) -> str:
        answer = self.send(access, session, xml)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["referenceNumber"])

    def invoice_status(self, access: str, session: Session, reference: str) -> dict[str, Any]:
        answer = self.http.get(
            f"/v2/sessions/{session.reference}/invoices/{reference}", headers=bearer(access)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self, access: str, session: Session) -> httpx.Response:
        return self.http.post(
            f"/v2/sessions/online/{session.reference}/close",
            headers={**bearer(access), **self.problems},
        )

    def session_status(self, access: str, session: Session) -> dict[str, Any]:
        answer = self.http.get(f"/v2/sessions/{session.reference}", headers=bearer(access))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def query(self, access: str, body: dict[str, Any], **params: Any) -> httpx.Response:
        return self.http.post(
            "/v2/invoices/query/metadata",
            params=params,
            json=body,
            headers={**bearer(access), **self.problems},
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_codes(answer: httpx.Response) -> list[int]:
    """The exception codes of a 400, whichever envelope it came in."""
    body = answer.json()
    if "errors" in body:
        return [e["code"] for e in body["errors"]]
    return [e["exceptionCode"] for e in body["exception"]["exceptionDetailList"]]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def emulator(clock: VirtualClock) -> Emulator:
    emulator = Emulator(EmulatorConfig(base_url="http://ksef.test"), clock=clock)
    for nip in (SELLER, BUYER, FIRM):
        emulator.add_subject(nip)
    return emulator


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with TestClient(create_app(emulator), base_url="http://ksef.test") as client:
        yield client


@pytest.fixture
def ksef(http: httpx.Client, emulator: Emulator, clock: VirtualClock) -> Ksef:
    return Ksef(http, emulator, clock)

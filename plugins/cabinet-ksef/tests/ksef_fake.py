"""A fake KSeF 2.0 for the client tests: an ``httpx.MockTransport`` handler built from the
OpenAPI document (``data/open-api.json``).

It holds its own MF key pairs, so it decrypts what the client sends exactly as KSeF would: the
KSeF token (RSA-OAEP ``token|timestampMs``), the session's AES key, and each invoice, whose
declared sizes and hashes it compares with what it decrypted. Each JSON request body is checked
against the operation's request schema (required fields present, no field the schema lacks),
and each ``AuthTokenRequest`` is verified with signxml and validated against auth XSD 2.1.
Errors follow the spec's split: envelope problems are synchronous 400s, the rest is reported
later by the polled status.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import signxml
import xmlschema
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.xades.xades import XAdESVerifier

DATA = Path(__file__).parent / "data"
SPEC = json.loads((DATA / "open-api.json").read_text(encoding="utf-8"))
AUTH_XSD = xmlschema.XMLSchema(str(DATA / "schemat_auth_v2-1.xsd"))
DS = "http://www.w3.org/2000/09/xmldsig#"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def self_signed(
    key: Any, common_name: str, *, serial: int = 1, days: int = 365
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def spki_id(certificate: x509.Certificate) -> str:
    return sha256_b64(
        certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def aes_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


# -- the OpenAPI request schemas --------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": list(schema.get("required", []))}
        for part in schema["allOf"]:
            resolved = _resolve(part)
            merged["properties"].update(resolved.get("properties", {}))
            merged["required"] += resolved.get("required", [])
            for key in ("type", "enum"):
                if key in resolved:
                    merged[key] = resolved[key]
        if not merged["properties"]:
            merged.pop("properties")
        return merged
    return schema


def check_against_schema(value: Any, schema: dict[str, Any], where: str) -> None:
    """Required properties present, no unknown property, enums respected (recursively)."""
    schema = _resolve(schema)
    if value is None:
        return
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "properties" in schema:
        assert isinstance(value, dict), f"{where}: expected an object"
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing required {name!r}"
        for name, item in value.items():
            assert name in schema["properties"], f"{where}: {name!r} is not in the spec"
            check_against_schema(item, schema["properties"][name], f"{where}.{name}")
    if schema.get("type") == "array" and "items" in schema:
        for index, item in enumerate(value):
            check_against_schema(item, schema["items"], f"{where}[{index}]")


def request_schema(path: str, method: str) -> dict[str, Any] | None:
    operation = SPEC["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


# -- the fake ---------------------------------------------------------------------------


class FakeKsef:
    """An in-memory KSeF. Tests read its state (``plaintexts``, ``requests``) to assert."""

    def __init__(self, *, auth_polls_pending: int = 1) -> None:
        self.token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.symmetric_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.token_cert = self_signed(self.token_key, "Ministerstwo Finansów")
        self.symmetric_cert = self_signed(self.symmetric_key, "Ministerstwo Finansów")
        self.valid_tokens: dict[str, str] = {}
        self.challenges: dict[str, int] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.stored: dict[str, bytes] = {}
        self.metadata: list[dict[str, Any]] = []
        self.plaintexts: list[bytes] = []
        self.requests: list[httpx.Request] = []
        self.signed_requests: list[bytes] = []
        self.key_fetches = 0
        self.auth_polls_pending = auth_polls_pending
        self.list_page_size = 2
        self.retired_key_ids: set[str] = set()
        self.interceptors: list[Callable[[httpx.Request], httpx.Response | None]] = []

    # - wiring -

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # Every call the client makes asks for problem-details errors.
        assert request.headers.get("X-Error-Format") == "problem-details", request.url
        for interceptor in list(self.interceptors):
            answer = interceptor(request)
            if answer is not None:
                return answer
        path = request.url.path
        assert path.startswith("/v2/"), path
        return self._route(request, path[len("/v2") :])

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        parts = path.strip("/").split("/")
        method = request.method
        routes: list[tuple[str, str, Callable[..., httpx.Response]]] = [
            ("GET", "security/public-key-certificates", self.public_keys),
            ("POST", "auth/challenge", self.challenge),
            ("POST", "auth/ksef-token", self.ksef_token),
            ("POST", "auth/xades-signature", self.xades),
            ("POST", "auth/token/redeem", self.redeem),
            ("POST", "auth/token/refresh", self.refresh_token),
            ("DELETE", "auth/sessions/current", self.logout),
            ("GET", "auth/*", self.auth_status),
            ("POST", "sessions/online", self.open_session),
            ("POST", "sessions/online/*/invoices", self.send_invoice),
            ("POST", "sessions/online/*/close", self.close_session),
            ("GET", "sessions/*", self.session_status),
            ("GET", "sessions/*/invoices", self.session_invoices),
            ("GET", "sessions/*/invoices/*", self.invoice_status),
            ("GET", "sessions/*/invoices/*/upo", self.invoice_upo),
            ("GET", "sessions/*/upo/*", self.session_upo),
            ("POST", "invoices/query/metadata", self.query_metadata),
            ("GET", "invoices/ksef/*", self.download),
        ]
        for route_method, pattern, handler in routes:
            wanted = pattern.split("/")
            if route_method != method or len(wanted) != len(parts):
                continue
            if all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
                args = [p for w, p in zip(wanted, parts, strict=True) if w == "*"]
                return handler(request, *args)
        return problem(404, "Not Found")

    # - helpers -

    def json_body(self, request: httpx.Request, spec_path: str) -> dict[str, Any]:
        body = json.loads(request.content)
        schema = request_schema(spec_path, request.method)
        assert schema is not None, spec_path
        check_against_schema(body, schema, f"{request.method} {spec_path}")
        return body

    def bearer(self, request: httpx.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header[len("Bearer ") :] if header.startswith("Bearer ") else None

    def access_context(self, request: httpx.Request) -> dict[str, Any] | None:
        token = self.bearer(request)
        return self.access.get(token or "")

    # - keys and auth -

    def public_keys(self, request: httpx.Request) -> httpx.Response:
        self.key_fetches += 1
        items = []
        for cert, usage in (
            (self.token_cert, "KsefTokenEncryption"),
            (self.symmetric_cert, "SymmetricKeyEncryption"),
        ):
            der = cert.public_bytes(serialization.Encoding.DER)
            items.append(
                {
                    "certificate": base64.b64encode(der).decode(),
                    "certificateId": sha256_b64(der),
                    "publicKeyId": spki_id(cert),
                    "validFrom": cert.not_valid_before_utc.isoformat(),
                    "validTo": cert.not_valid_after_utc.isoformat(),
                    "usage": [usage],
                }
            )
        return httpx.Response(200, json=items)

    def challenge(self, request: httpx.Request) -> httpx.Response:
        challenge = reference_number("CR")
        timestamp_ms = int(NOW.timestamp() * 1000) + len(self.challenges)
        self.challenges[challenge] = timestamp_ms
        return httpx.Response(
            200,
            json={
                "challenge": challenge,
                "timestamp": NOW.isoformat(),
                "timestampMs": timestamp_ms,
                "clientIp": "127.0.0.1",
            },
        )

    def _start_operation(
        self, code: int, context: str, details: list[str] | None = None
    ) -> httpx.Response:
        reference = reference_number("AU")
        token = "op-" + secrets.token_hex(8)
        self.operations[reference] = {
            "token": token,
            "final": code,
            "details": details,
            "context": context,
            "polls": 0,
            "redeemed": False,
        }
        return httpx.Response(
            202,
            json={
                "referenceNumber": reference,
                "authenticationToken": {
                    "token": token,
                    "validUntil": (NOW + dt.timedelta(minutes=45)).isoformat(),
                },
            },
        )

    def ksef_token(self, request: httpx.Request) -> httpx.Response:
        body = self.json_body(request, "/auth/ksef-token")
        if body.get("publicKeyId") in self.retired_key_ids or body.get("publicKeyId") != spki_id(
            self.token_cert
        ):
            return bad_request(21470, "Klucz publiczny nieznany lub unieważniony.")
        timestamp_ms = self.challenges.pop(body["challenge"], None)
        if timestamp_ms is None:
            return bad_request(21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
        context = body["contextIdentifier"]["value"]
        try:
            plain = self.token_key.decrypt(
                base64.b64decode(body["encryptedToken"]), _oaep()
            ).decode()
        except ValueError:
            return self._start_operation(450, context, ["Invalid token encryption"])
        token, _, stamp = plain.rpartition("|")
        if stamp != str(timestamp_ms):
            return self._start_operation(450, context, ["Invalid token time"])
        if self.valid_tokens.get(token) != context:
            return self._start_operation(450, context, ["Invalid token"])
        return self._start_operation(200, context)

    def xades(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == "application/xml"
        self.signed_requests.append(request.content)
        document = etree.fromstring(request.content)
        signature = document.find(f"{{{DS}}}Signature")
        if signature is None:
            return bad_request(9102, "Brak podpisu.")
        certificate_text = signature.findtext(f".//{{{DS}}}X509Certificate")
        assert certificate_text
        pem = (
            "-----BEGIN CERTIFICATE-----\n"
            + certificate_text.strip()
            + "\n-----END CERTIFICATE-----\n"
        )
        try:
            XAdESVerifier().verify(
                request.content,
                x509_cert=pem,
                expect_config=signxml.SignatureConfiguration(expect_references=3),
            )
        except signxml.exceptions.InvalidInput as error:
            return bad_request(9105, f"Nieprawidłowy podpis: {error}")
        unsigned = etree.fromstring(request.content)
        unsigned.remove(unsigned.find(f"{{{DS}}}Signature"))
        errors = list(AUTH_XSD.iter_errors(etree.tostring(unsigned).decode()))
        if errors:
            return bad_request(21401, "Dokument nie jest zgodny ze schemą (xsd).")
        ns = {"a": "http://ksef.mf.gov.pl/auth/token/2.1"}
        challenge = unsigned.findtext("a:Challenge", namespaces=ns)
        if self.challenges.pop(challenge or "", None) is None:
            return bad_request(21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
        context = unsigned.findtext("a:ContextIdentifier/a:Nip", namespaces=ns) or ""
        return self._start_operation(200, context)

    def auth_status(self, request: httpx.Request, reference: str) -> httpx.Response:
        operation = self.operations.get(reference)
        if operation is None:
            return bad_request(21304, "Brak uwierzytelnienia.")
        if self.bearer(request) != operation["token"]:
            return problem(401, "Unauthorized")
        operation["polls"] += 1
        code = 100 if operation["polls"] <= self.auth_polls_pending else operation["final"]
        descriptions = {100: "Uwierzytelnianie w toku", 200: "Uwierzytelnianie zakończone sukcesem"}
        status: dict[str, Any] = {"code": code, "description": descriptions.get(code, "Błąd")}
        if code >= 400 and operation["details"]:
            status["details"] = operation["details"]
        return httpx.Response(
            200,
            json={
                "startDate": NOW.isoformat(),
                "authenticationMethod": "Token",
                "authenticationMethodInfo": {
                    "category": "Token",
                    "code": "token",
                    "displayName": "Token KSeF",
                },
                "status": status,
            },
        )

    def _issue_access(self, context: str) -> dict[str, Any]:
        access = "acc-" + secrets.token_hex(8)
        self.access[access] = {"context": context}
        return {"token": access, "validUntil": (NOW + dt.timedelta(minutes=15)).isoformat()}

    def redeem(self, request: httpx.Request) -> httpx.Response:
        token = self.bearer(request)
        operation = next((o for o in self.operations.values() if o["token"] == token), None)
        if operation is None:
            return problem(401, "Unauthorized")
        if operation["redeemed"] or operation["final"] != 200:
            return bad_request(21301, "Tokeny dla operacji uwierzytelniania zostały już pobrane.")
        operation["redeemed"] = True
        refresh = "ref-" + secrets.token_hex(8)
        self.refresh[refresh] = {"context": operation["context"]}
        return httpx.Response(
            200,
            json={
                "accessToken": self._issue_access(operation["context"]),
                "refreshToken": {
                    "token": refresh,
                    "validUntil": (NOW + dt.timedelta(days=7)).isoformat(),
                },
            },
        )

    def refresh_token(self, request: httpx.Request) -> httpx.Response:
        grant = self.refresh.get(self.bearer(request) or "")
        if grant is None:
            return bad_request(21301, "Brak autoryzacji.")
        return httpx.Response(200, json={"accessToken": self._issue_access(grant["context"])})

    def logout(self, request: httpx.Request) -> httpx.Response:
        context = self.access_context(request)
        if context is None:
            return problem(401, "Unauthorized")
        for token, grant in list(self.refresh.items()):
            if grant["context"] == context["context"]:
                del self.refresh[token]
        return httpx.Response(204)

    # - sessions -

    def open_session(self, request: httpx.Request) -> httpx.Response:
        if self.access_context(request) is None:
            return problem(401, "Unauthorized")
        body = self.json_body(request, "/sessions/online")
        encryption = body["encryption"]
        if encryption.get("publicKeyId") != spki_id(self.symmetric_cert):
            return bad_request(21470, "Klucz publiczny nieznany lub unieważniony.")
        iv = base64.b64decode(encryption["initializationVector"])
        if len(iv) != 16:
            return bad_request(
                21405, "Nieprawidłowa długość wektora inicjującego (IV). Oczekiwano 16 bajtów."
            )
        key = self.symmetric_key.decrypt(
            base64.b64decode(encryption["encryptedSymmetricKey"]), _oaep()
        )
        reference = reference_number("SO")
        self.sessions[reference] = {
            "key": key,
            "iv": iv,
            "form": body["formCode"],
            "open": True,
            "invoices": {},
        }
        return httpx.Response(
            201,
            json={
                "referenceNumber": reference,
                "validUntil": (NOW + dt.timedelta(hours=12)).isoformat(),
            },
        )

    def send_invoice(self, request: httpx.Request, reference: str) -> httpx.Response:
        if self.access_context(request) is None:
            return problem(401, "Unauthorized")
        session = self.sessions.get(reference)
        if session is None:
            return bad_request(21173, "Brak sesji.")
        if not session["open"]:
            return bad_request(21180, "Status sesji (170) uniemożliwia wysyłkę faktur.")
        body = self.json_body(request, "/sessions/online/{referenceNumber}/invoices")
        content = base64.b64decode(body["encryptedInvoiceContent"])
        if body["encryptedInvoiceSize"] != len(content):
            return bad_request(21402, "Nieprawidłowy rozmiar pliku.")
        if body["encryptedInvoiceHash"] != sha256_b64(content):
            return bad_request(21403, "Nieprawidłowy skrót pliku.")
        invoice_reference = reference_number("EE")
        ordinal = len(session["invoices"]) + 1
        record: dict[str, Any] = {
            "ordinalNumber": ordinal,
            "referenceNumber": invoice_reference,
            "invoiceHash": body["invoiceHash"],
            "invoicingDate": NOW.isoformat(),
            "offline": body.get("offlineMode", False),
            "corrected": body.get("hashOfCorrectedInvoice"),
        }
        session["invoices"][invoice_reference] = record
        try:
            plain = aes_decrypt(session["key"], session["iv"], content)
        except ValueError:
            record["status"] = {"code": 435, "description": "Błąd odszyfrowania pliku"}
            return httpx.Response(202, json={"referenceNumber": invoice_reference})
        self.plaintexts.append(plain)
        if len(plain) != body["invoiceSize"] or sha256_b64(plain) != body["invoiceHash"]:
            record["status"] = {"code": 430, "description": "Błąd weryfikacji pliku faktury"}
        else:
            try:
                document = etree.fromstring(plain)
            except etree.XMLSyntaxError as error:
                record["status"] = {
                    "code": 450,
                    "description": "Błąd weryfikacji semantyki dokumentu faktury",
                    "details": [str(error)],
                }
            else:
                nip = document.findtext(".//{*}Podmiot1//{*}NIP") or "5265877635"
                ksef_number = f"{nip}-20261207-{secrets.token_hex(6).upper()}-00"
                self.stored[ksef_number] = plain
                record.update(
                    ksefNumber=ksef_number,
                    invoiceNumber=document.findtext(".//{*}P_2"),
                    acquisitionDate=NOW.isoformat(),
                    invoicingMode="Offline" if record["offline"] else "Online",
                    upoDownloadUrl=f"https://fake.invalid/upo/{ksef_number}.xml",
                    status={"code": 200, "description": "Sukces"},
                )
        return httpx.Response(202, json={"referenceNumber": invoice_reference})

    def close_session(self, request: httpx.Request, reference: str) -> httpx.Response:
        session = self.sessions.get(reference)
        if session is None:
            return bad_request(21173, "Brak sesji.")
        if not session["open"]:
            return bad_request(21180, "Status sesji (170) uniemożliwia jej zamknięcie.")
        session["open"] = False
        return httpx.Response(204)

    def session_status(self, request: httpx.Request, reference: str) -> httpx.Response:
        session = self.sessions.get(reference)
        if session is None:
            return bad_request(21173, "Brak sesji.")
        invoices = list(session["invoices"].values())
        ok = sum(1 for i in invoices if i["status"]["code"] == 200)
        body: dict[str, Any] = {
            "status": {"code": 100 if session["open"] else 200, "description": "Sesja"},
            "dateCreated": NOW.isoformat(),
            "dateUpdated": NOW.isoformat(),
            "invoiceCount": len(invoices),
            "successfulInvoiceCount": ok,
            "failedInvoiceCount": len(invoices) - ok,
        }
        if not session["open"]:
            body["upo"] = {
                "pages": [
                    {
                        "referenceNumber": "20261207-EU-0000000000-0000000000-01",
                        "downloadUrl": "https://fake.invalid/upo",
                        "downloadUrlExpirationDate": NOW.isoformat(),
                    }
                ]
            }
        return httpx.Response(200, json=body)

    def _public_invoice(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in ("offline", "corrected")}

    def session_invoices(self, request: httpx.Request, reference: str) -> httpx.Response:
        session = self.sessions.get(reference)
        if session is None:
            return bad_request(21173, "Brak sesji.")
        size = int(request.url.params.get("pageSize", "10"))
        assert 10 <= size <= 1000
        start = int(request.headers.get("x-continuation-token") or 0)
        records = list(session["invoices"].values())
        page = records[start : start + self.list_page_size]
        body: dict[str, Any] = {"invoices": [self._public_invoice(r) for r in page]}
        if start + self.list_page_size < len(records):
            body["continuationToken"] = str(start + self.list_page_size)
        return httpx.Response(200, json=body)

    def invoice_status(
        self, request: httpx.Request, reference: str, invoice: str
    ) -> httpx.Response:
        if self.access_context(request) is None:
            return problem(401, "Unauthorized")
        record = self.sessions.get(reference, {}).get("invoices", {}).get(invoice)
        if record is None:
            return bad_request(21173, "Brak faktury.")
        return httpx.Response(200, json=self._public_invoice(record))

    def invoice_upo(self, request: httpx.Request, reference: str, invoice: str) -> httpx.Response:
        record = self.sessions.get(reference, {}).get("invoices", {}).get(invoice)
        if record is None or "ksefNumber" not in record:
            return bad_request(21178, "Nie znaleziono UPO.")
        upo = (
            '<?xml version="1.0" encoding="UTF-8"?><Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3">'
            f"<Dokument><NumerKSeFDokumentu>{record['ksefNumber']}</NumerKSeFDokumentu></Dokument></Potwierdzenie>"
        ).encode()
        return httpx.Response(
            200,
            content=upo,
            headers={"Content-Type": "application/xml", "x-ms-meta-hash": sha256_b64(upo)},
        )

    def session_upo(self, request: httpx.Request, reference: str, upo: str) -> httpx.Response:
        session = self.sessions.get(reference)
        if session is None or session["open"]:
            return bad_request(21178, "Nie znaleziono UPO.")
        numbers = "".join(
            f"<Dokument><NumerKSeFDokumentu>{r['ksefNumber']}</NumerKSeFDokumentu></Dokument>"
            for r in session["invoices"].values()
            if "ksefNumber" in r
        )
        body = (
            '<Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3">'
            f"<NumerReferencyjnySesji>{reference}</NumerReferencyjnySesji>{numbers}</Potwierdzenie>"
        ).encode()
        return httpx.Response(
            200,
            content=body,
            headers={"Content-Type": "application/xml", "x-ms-meta-hash": sha256_b64(body)},
        )

    # - receiving -

    def query_metadata(self, request: httpx.Request) -> httpx.Response:
        if self.access_context(request) is None:
            return problem(401, "Unauthorized")
        body = self.json_body(request, "/invoices/query/metadata")
        offset = int(request.url.params["pageOffset"])
        size = int(request.url.params["pageSize"])
        if not 10 <= size <= 250:
            return bad_request(21405, "Błąd walidacji danych wejściowych.")
        hits = [m for m in self.metadata if m["_subject"] == body["subjectType"]]
        page = hits[offset * size : (offset + 1) * size]
        text = json.dumps(
            {
                "hasMore": (offset + 1) * size < len(hits),
                "isTruncated": False,
                "permanentStorageHwmDate": NOW.isoformat(),
                "invoices": [{k: v for k, v in m.items() if k != "_subject"} for m in page],
            }
        )
        return httpx.Response(
            200, content=text.encode(), headers={"Content-Type": "application/json"}
        )

    def download(self, request: httpx.Request, ksef_number: str) -> httpx.Response:
        if self.access_context(request) is None:
            return problem(401, "Unauthorized")
        xml = self.stored.get(ksef_number)
        if xml is None:
            return bad_request(21164, "Faktura o podanym identyfikatorze nie istnieje.")
        return httpx.Response(
            200,
            content=xml,
            headers={"Content-Type": "application/xml", "x-ms-meta-hash": sha256_b64(xml)},
        )


def reference_number(kind: str) -> str:
    """A reference number as KSeF writes them: ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-XX``."""
    parts = [
        secrets.token_hex(5).upper(),
        secrets.token_hex(5).upper(),
        secrets.token_hex(1).upper(),
    ]
    return f"20261207-{kind}-{parts[0]}-{parts[1]}-{parts[2]}"


def bad_request(code: int, description: str, details: list[str] | None = None) -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "title": "Bad Request",
            "status": 400,
            "instance": "/v2/…",
            "detail": "Żądanie jest nieprawidłowe.",
            "errors": [{"code": code, "description": description, "details": details or []}],
            "timestamp": NOW.isoformat(),
            "traceId": "00-fake-00",
        },
        headers={"Content-Type": "application/problem+json"},
    )


def problem(status: int, title: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "title": title,
            "status": status,
            "detail": title,
            "timestamp": NOW.isoformat(),
            **extra,
        },
        headers={"Content-Type": "application/problem+json"},
    )

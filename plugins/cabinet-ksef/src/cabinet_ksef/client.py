"""``KsefClient``: the KSeF 2.0 API over synchronous httpx (the worker is synchronous).

One client talks to one base URL (an official environment or the emulator). It keeps MF's
public-key certificates, fetched once and cached. It never sleeps for long: a 429 is raised at
once as ``KsefRateLimited`` with KSeF's ``Retry-After``, so the caller reschedules the work; only
the authentication poll waits, briefly, with backoff.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Literal, ParamSpec, TypeVar

import httpx
from cryptography import x509

from cabinet_ksef import crypto
from cabinet_ksef.api import (
    AccessTokens,
    CertificateCredentials,
    Credentials,
    Export,
    ExportedInvoices,
    ExportPackage,
    ExportPart,
    ExportStatus,
    InvoiceMetadata,
    InvoiceStatus,
    LatarniaStatus,
    MetadataPage,
    OnlineSession,
    PublicKeyCertificate,
    PublicKeys,
    SentInvoice,
    SessionInvoice,
    SessionStatus,
    Subject,
    TokenCredentials,
)
from cabinet_ksef.environments import Environment, api_base_url
from cabinet_ksef.errors import (
    KsefAuthError,
    KsefError,
    KsefUnavailable,
    error_from_response,
)

__all__ = ["FA3_FORM_CODE", "KsefClient", "PublicKeyCache", "unpack_export"]

FA3_FORM_CODE: Mapping[str, str] = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
"""The form code of FA(3) invoices; note the space in ``FA (3)``."""

_TOKEN_ENCRYPTION = "KsefTokenEncryption"  # noqa: S105 (a key usage name, not a secret)
_SYMMETRIC_KEY_ENCRYPTION = "SymmetricKeyEncryption"
#: Bytes read at a time from an export part's link (decrypted and written as they come).
STREAM_CHUNK = 64 * 1024
_UNKNOWN_PUBLIC_KEY = 21470
_AUTH_IN_PROGRESS = 100
_AUTH_SUCCESS = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _MalformedAnswer(Exception):
    """A value in a KSeF answer that the client cannot read (a date that is not ISO 8601, ...)."""


#: What reading an answer that does not follow the OpenAPI document raises.
_MALFORMED = (
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    json.JSONDecodeError,
    InvalidOperation,
    _MalformedAnswer,
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reads_answers(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """An answer that does not follow the spec becomes ``KsefUnavailable``, never a crash."""

    @functools.wraps(method)
    def reading(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except _MALFORMED as error:
            raise KsefUnavailable(
                200,
                "KSeF sent an answer the client cannot read",
                details=(f"{type(error).__name__}: {error}",),
            ) from error

    return reading


class PublicKeyCache:
    """MF's public keys per API base URL, shareable by the clients of one process.

    The keys change rarely and are announced ahead, so an entry lives ``max_age`` (6 hours, as
    MF's own client keeps them); a 21470 answer ("key unknown") replaces it at once.
    """

    def __init__(self, max_age: timedelta = timedelta(hours=6)) -> None:
        self.max_age = max_age
        self._entries: dict[str, tuple[PublicKeys, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str, now: datetime) -> PublicKeys | None:
        """The keys fetched for ``base_url`` less than ``max_age`` ago, if any."""
        with self._lock:
            entry = self._entries.get(base_url)
        if entry is None or now - entry[1] >= self.max_age or now < entry[1]:
            return None
        return entry[0]

    def put(self, base_url: str, keys: PublicKeys, now: datetime) -> None:
        """Remember the keys just fetched for ``base_url``."""
        with self._lock:
            self._entries[base_url] = (keys, now)


class KsefClient:
    """The KSeF 2.0 API for one environment.

    ``base_url`` is an ``Environment`` or any base URL ending in the API version (``.../v2``).
    ``transport`` is the httpx seam tests use; ``sleep`` the wait between authentication polls
    (at most ``auth_wait`` seconds in all before ``KsefUnavailable``). ``key_cache`` shares MF's
    public keys between the clients of one process (each client has its own otherwise).
    """

    def __init__(
        self,
        base_url: Environment | str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        auth_wait: float = 30.0,
        key_cache: PublicKeyCache | None = None,
    ) -> None:
        self.base_url = api_base_url(base_url)
        self._clock = clock
        self._sleep = sleep
        self._auth_wait = auth_wait
        self._key_cache = key_cache if key_cache is not None else PublicKeyCache()
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            transport=transport,
            timeout=timeout,
            headers={"X-Error-Format": "problem-details", "Accept": "application/json"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> KsefClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- keys --------------------------------------------------------------------------

    @_reads_answers
    def public_keys(self, *, refresh: bool = False) -> PublicKeys:
        """MF's public keys in force now, from the cache unless stale (``refresh`` fetches)."""
        now = self._clock()
        cached = None if refresh else self._key_cache.get(self.base_url, now)
        if cached is not None:
            return cached
        listed = self._request("GET", "security/public-key-certificates").json()
        certificates = [_public_key_certificate(item) for item in listed]
        keys = PublicKeys(
            token_encryption=self._current(certificates, _TOKEN_ENCRYPTION),
            symmetric_key_encryption=self._current(certificates, _SYMMETRIC_KEY_ENCRYPTION),
        )
        self._key_cache.put(self.base_url, keys, now)
        return keys

    def _current(
        self, certificates: list[PublicKeyCertificate], usage: str
    ) -> PublicKeyCertificate:
        # Several keys are listed while MF rotates them; the valid one certified last wins.
        now = self._clock()
        valid = [c for c in certificates if usage in c.usage and c.valid_from <= now <= c.valid_to]
        if not valid:
            raise KsefError(200, f"KSeF lists no valid {usage} certificate")
        return max(valid, key=lambda c: c.valid_from)

    def _with_fresh_keys(self, call: Callable[[PublicKeys], httpx.Response]) -> httpx.Response:
        """Run ``call``; if KSeF no longer knows the key (21470), fetch the keys and retry once."""
        try:
            return call(self.public_keys())
        except KsefError as error:
            if error.code != _UNKNOWN_PUBLIC_KEY:
                raise
        return call(self.public_keys(refresh=True))

    # -- authentication ----------------------------------------------------------------

    def authenticate(self, credentials: Credentials) -> AccessTokens:
        """Challenge, sign in with a KSeF token or XAdES, wait for the result, redeem the tokens.

        A refused authentication (a bad or revoked token, a certificate KSeF rejects, no
        permission in the context) raises ``KsefAuthError`` with KSeF's status code (415, 450,
        460, ...). If KSeF is still verifying after ``auth_wait`` seconds (a qualified
        certificate waiting for OCSP), ``KsefUnavailable`` asks the caller to try later.
        """
        if not isinstance(credentials, TokenCredentials | CertificateCredentials):
            raise TypeError(f"unknown credentials: {type(credentials).__name__}")
        return self._authenticate(credentials)

    @_reads_answers
    def _authenticate(self, credentials: Credentials) -> AccessTokens:
        challenge = self._request("POST", "auth/challenge").json()
        if isinstance(credentials, TokenCredentials):
            started = self._start_token_auth(credentials, challenge)
        else:
            started = self._start_xades_auth(credentials, challenge)
        reference = str(started["referenceNumber"])
        operation_token = str(started["authenticationToken"]["token"])
        self._wait_for_authentication(reference, operation_token)
        redeemed = self._request("POST", "auth/token/redeem", bearer=operation_token).json()
        return AccessTokens(
            access_token=str(redeemed["accessToken"]["token"]),
            access_valid_until=_datetime(redeemed["accessToken"]["validUntil"]),
            refresh_token=str(redeemed["refreshToken"]["token"]),
            refresh_valid_until=_datetime(redeemed["refreshToken"]["validUntil"]),
        )

    def _start_token_auth(self, credentials: TokenCredentials, challenge: Mapping[str, Any]) -> Any:
        def send(keys: PublicKeys) -> httpx.Response:
            key = keys.token_encryption
            certificate = x509.load_der_x509_certificate(key.certificate_der)
            encrypted = crypto.encrypt_ksef_token(
                certificate, credentials.token, _integer(challenge["timestampMs"])
            )
            body = {
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": credentials.context_nip},
                "encryptedToken": base64.b64encode(encrypted).decode("ascii"),
                "publicKeyId": key.public_key_id,
            }
            return self._request("POST", "auth/ksef-token", json_body=body)

        return self._with_fresh_keys(send).json()

    def _start_xades_auth(
        self, credentials: CertificateCredentials, challenge: Mapping[str, Any]
    ) -> Any:
        certificate, private_key = crypto.load_signing_material(
            credentials.certificate_pem, credentials.private_key_pem, credentials.password
        )
        # signxml (tens of MB with its XML security stack) only for certificate sign-in.
        from cabinet_ksef import xades

        body = xades.signed_auth_token_request(
            str(challenge["challenge"]), credentials.context_nip, certificate, private_key
        )
        return self._request(
            "POST",
            "auth/xades-signature",
            content=body,
            headers={"Content-Type": "application/xml"},
        ).json()

    def _wait_for_authentication(self, reference: str, operation_token: str) -> None:
        waited = 0.0
        delay = 0.5
        while True:
            status = self._request("GET", f"auth/{reference}", bearer=operation_token).json()
            code, description, details = _status_info(status["status"])
            if code == _AUTH_SUCCESS:
                return
            if code != _AUTH_IN_PROGRESS:
                raise KsefAuthError(200, description, code=code, details=details)
            if waited >= self._auth_wait:
                raise KsefUnavailable(
                    200,
                    "KSeF is still verifying the authentication",
                    code=code,
                    details=(f"authentication reference {reference}",),
                    retry_after=60.0,
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)

    @_reads_answers
    def refresh(self, tokens: AccessTokens) -> AccessTokens:
        """A new access token from the refresh token (which stays the same)."""
        answer = self._request("POST", "auth/token/refresh", bearer=tokens.refresh_token).json()
        return AccessTokens(
            access_token=str(answer["accessToken"]["token"]),
            access_valid_until=_datetime(answer["accessToken"]["validUntil"]),
            refresh_token=tokens.refresh_token,
            refresh_valid_until=tokens.refresh_valid_until,
        )

    def logout(self, tokens: AccessTokens) -> None:
        """End the authentication session: the refresh token stops working."""
        self._request("DELETE", "auth/sessions/current", bearer=tokens.access_token)

    # -- sending -----------------------------------------------------------------------

    @_reads_answers
    def open_online_session(self, tokens: AccessTokens) -> OnlineSession:
        """Open an interactive session for FA(3) invoices with a fresh AES-256 key."""
        key, iv = crypto.new_symmetric_key()

        def send(keys: PublicKeys) -> httpx.Response:
            wrapping = keys.symmetric_key_encryption
            certificate = x509.load_der_x509_certificate(wrapping.certificate_der)
            body = {
                "formCode": dict(FA3_FORM_CODE),
                "encryption": {
                    "encryptedSymmetricKey": _b64(crypto.rsa_oaep_encrypt(certificate, key)),
                    "initializationVector": _b64(iv),
                    "publicKeyId": wrapping.public_key_id,
                },
            }
            return self._request(
                "POST", "sessions/online", json_body=body, bearer=tokens.access_token
            )

        opened = self._with_fresh_keys(send).json()
        return OnlineSession(
            reference_number=str(opened["referenceNumber"]),
            valid_until=_datetime(opened["validUntil"]),
            symmetric_key=key,
            iv=iv,
        )

    @_reads_answers
    def send_invoice(
        self,
        tokens: AccessTokens,
        session: OnlineSession,
        xml: bytes,
        *,
        offline: bool = False,
        hash_of_corrected: str | None = None,
    ) -> SentInvoice:
        """Encrypt and send one invoice's exact XML bytes; KSeF answers with a reference.

        The answer only means KSeF took the envelope: poll ``invoice_status`` for the verdict.
        ``offline`` marks an invoice issued in an offline mode; ``hash_of_corrected`` (with
        ``offline``) makes it the technical correction of a rejected offline invoice.
        """
        encrypted = crypto.encrypt_invoice(session.symmetric_key, session.iv, xml)
        body: dict[str, Any] = {
            "invoiceHash": encrypted.invoice_hash,
            "invoiceSize": encrypted.invoice_size,
            "encryptedInvoiceHash": encrypted.encrypted_hash,
            "encryptedInvoiceSize": encrypted.encrypted_size,
            "encryptedInvoiceContent": _b64(encrypted.content),
            "offlineMode": offline,
        }
        if hash_of_corrected is not None:
            body["hashOfCorrectedInvoice"] = hash_of_corrected
        answer = self._request(
            "POST",
            f"sessions/online/{session.reference_number}/invoices",
            json_body=body,
            bearer=tokens.access_token,
        ).json()
        return SentInvoice(
            invoice_reference=str(answer["referenceNumber"]), invoice_hash=encrypted.invoice_hash
        )

    @_reads_answers
    def invoice_status(
        self, tokens: AccessTokens, session_reference: str, invoice_reference: str
    ) -> InvoiceStatus:
        """Where one sent invoice is: pending, accepted (with its KSeF number) or rejected."""
        answer = self._request(
            "GET",
            f"sessions/{session_reference}/invoices/{invoice_reference}",
            bearer=tokens.access_token,
        ).json()
        return _invoice_status(answer)

    def invoice_upo(
        self, tokens: AccessTokens, session_reference: str, invoice_reference: str
    ) -> bytes:
        """The UPO (official receipt) of an accepted invoice, as the XML KSeF signed."""
        response = self._request(
            "GET",
            f"sessions/{session_reference}/invoices/{invoice_reference}/upo",
            bearer=tokens.access_token,
            headers={"Accept": "application/xml"},
        )
        return _checked_content(response)

    def session_upo(
        self, tokens: AccessTokens, session_reference: str, upo_reference: str
    ) -> bytes:
        """One page of a closed session's UPO (``SessionStatus.upo_references``)."""
        response = self._request(
            "GET",
            f"sessions/{session_reference}/upo/{upo_reference}",
            bearer=tokens.access_token,
            headers={"Accept": "application/xml"},
        )
        return _checked_content(response)

    @_reads_answers
    def session_status(self, tokens: AccessTokens, session_reference: str) -> SessionStatus:
        """The state of a session: open (100), closing (170), processed (200) or failed."""
        answer = self._request(
            "GET", f"sessions/{session_reference}", bearer=tokens.access_token
        ).json()
        code, description, details = _status_info(answer["status"])
        pages = (answer.get("upo") or {}).get("pages") or []
        return SessionStatus(
            code=code,
            description=description,
            details=details,
            invoice_count=_optional_integer(answer.get("invoiceCount")),
            successful_invoice_count=_optional_integer(answer.get("successfulInvoiceCount")),
            failed_invoice_count=_optional_integer(answer.get("failedInvoiceCount")),
            upo_references=tuple(str(page["referenceNumber"]) for page in pages),
        )

    def close_session(self, tokens: AccessTokens, session: OnlineSession) -> None:
        """Close the session; KSeF then builds the session UPO."""
        self._request(
            "POST",
            f"sessions/online/{session.reference_number}/close",
            bearer=tokens.access_token,
        )

    @_reads_answers
    def session_invoices(
        self, tokens: AccessTokens, session_reference: str
    ) -> tuple[SessionInvoice, ...]:
        """Every invoice sent in a session, following the continuation token to the end."""
        return tuple(self._session_invoice_pages(tokens, session_reference))

    @_reads_answers
    def find_session_invoice(
        self, tokens: AccessTokens, session_reference: str, invoice_hash: str
    ) -> SessionInvoice | None:
        """The invoice with this hash in the session, if it got there (e.g. before a crash)."""
        for invoice in self._session_invoice_pages(tokens, session_reference):
            if invoice.invoice_hash == invoice_hash:
                return invoice
        return None

    def _session_invoice_pages(
        self, tokens: AccessTokens, session_reference: str
    ) -> Iterator[SessionInvoice]:
        continuation: str | None = None
        while True:
            headers = {"x-continuation-token": continuation} if continuation else {}
            answer = self._request(
                "GET",
                f"sessions/{session_reference}/invoices",
                params={"pageSize": 1000},
                headers=headers,
                bearer=tokens.access_token,
            ).json()
            for item in answer.get("invoices") or []:
                yield SessionInvoice(
                    invoice_reference=str(item["referenceNumber"]),
                    ordinal_number=_integer(item.get("ordinalNumber") or 0),
                    invoice_hash=str(item.get("invoiceHash") or ""),
                    status=_invoice_status(item),
                )
            continuation = _text(answer.get("continuationToken"))
            if not continuation:
                return

    # -- receiving ---------------------------------------------------------------------

    @_reads_answers
    def query_metadata(
        self,
        tokens: AccessTokens,
        *,
        subject: Subject,
        date_from: datetime,
        date_to: datetime,
        date_type: str = "PermanentStorage",
        page_offset: int = 0,
        page_size: int = 250,
        sort_order: Literal["Asc", "Desc"] = "Asc",
    ) -> MetadataPage:
        """One page of invoices where the context is the seller (Subject1) or buyer (Subject2).

        Every page counts against KSeF's 20-per-hour limit; a window spans at most 3 months.
        """
        body = {
            "subjectType": subject,
            "dateRange": {
                "dateType": date_type,
                "from": _iso(date_from),
                "to": _iso(date_to),
            },
        }
        response = self._request(
            "POST",
            "invoices/query/metadata",
            params={"pageOffset": page_offset, "pageSize": page_size, "sortOrder": sort_order},
            json_body=body,
            bearer=tokens.access_token,
        )
        # Amounts arrive as JSON numbers: read them as Decimal, never through float.
        answer = json.loads(response.content, parse_float=Decimal)
        hwm = answer.get("permanentStorageHwmDate")
        return MetadataPage(
            invoices=tuple(_invoice_metadata(item) for item in answer.get("invoices") or []),
            has_more=bool(answer.get("hasMore")),
            is_truncated=bool(answer.get("isTruncated")),
            permanent_storage_hwm_date=_datetime(hwm) if hwm else None,
        )

    def download_invoice(self, tokens: AccessTokens, ksef_number: str) -> bytes:
        """An invoice's XML exactly as its seller sent it, checked against ``x-ms-meta-hash``."""
        response = self._request(
            "GET",
            f"invoices/ksef/{ksef_number}",
            bearer=tokens.access_token,
            headers={"Accept": "application/xml"},
        )
        return _checked_content(response)

    # -- export (the path for volume, ksef-api.md §7.3) -----------------------------------

    @_reads_answers
    def start_export(
        self,
        tokens: AccessTokens,
        *,
        subject: Subject,
        date_from: datetime,
        date_to: datetime,
        date_type: str = "PermanentStorage",
        only_metadata: bool = False,
    ) -> Export:
        """Ask KSeF to pack every invoice of the window (up to 10,000) into an encrypted package.

        One request (of the 20 an hour the export allows) instead of a metadata page per 250
        invoices and a download per invoice (64 an hour): the way through a large backlog.
        The parts are encrypted with a fresh AES-256 key, which the returned ``Export`` keeps.
        """
        key, iv = crypto.new_symmetric_key()

        def send(keys: PublicKeys) -> httpx.Response:
            wrapping = keys.symmetric_key_encryption
            certificate = x509.load_der_x509_certificate(wrapping.certificate_der)
            body = {
                "encryption": {
                    "encryptedSymmetricKey": _b64(crypto.rsa_oaep_encrypt(certificate, key)),
                    "initializationVector": _b64(iv),
                    "publicKeyId": wrapping.public_key_id,
                },
                "filters": {
                    "subjectType": subject,
                    "dateRange": {
                        "dateType": date_type,
                        "from": _iso(date_from),
                        "to": _iso(date_to),
                    },
                },
                "onlyMetadata": only_metadata,
                "compressionType": "Zip",
            }
            return self._request(
                "POST", "invoices/exports", json_body=body, bearer=tokens.access_token
            )

        started = self._with_fresh_keys(send).json()
        return Export(reference_number=str(started["referenceNumber"]), symmetric_key=key, iv=iv)

    @_reads_answers
    def export_status(self, tokens: AccessTokens, export: Export | str) -> ExportStatus:
        """The export's state; with code 200 its package (the parts to download)."""
        reference = export.reference_number if isinstance(export, Export) else export
        answer = json.loads(
            self._request(
                "GET", f"invoices/exports/{reference}", bearer=tokens.access_token
            ).content
        )
        code, description, details = _status_info(answer["status"])
        package = answer.get("package")
        return ExportStatus(
            code=code,
            description=description,
            details=details,
            package=_export_package(package) if code == 200 and package else None,
        )

    def download_export_part(self, export: Export, part: ExportPart) -> bytes:
        """One part, downloaded from its pre-signed link (no bearer), checked against both its
        hashes and decrypted with the export's key."""
        response = self._request("GET", part.url, headers={"Accept": "application/octet-stream"})
        encrypted = _checked_content(response)
        if crypto.sha256_base64(encrypted) != part.encrypted_part_hash:
            raise KsefUnavailable(
                response.status_code,
                "the downloaded export part does not match its encryptedPartHash",
                details=(part.part_name,),
            )
        try:
            plain = crypto.aes_decrypt(export.symmetric_key, export.iv, encrypted)
        except ValueError as error:
            raise KsefUnavailable(
                response.status_code,
                "the export part cannot be decrypted with the export's key",
                details=(part.part_name,),
            ) from error
        if crypto.sha256_base64(plain) != part.part_hash:
            raise KsefUnavailable(
                response.status_code,
                "the decrypted export part does not match its partHash",
                details=(part.part_name,),
            )
        return plain

    def download_export(self, export: Export, package: ExportPackage) -> ExportedInvoices:
        """Every part of ``package``, in order, joined and unpacked in memory (a small
        package; the receiving pass streams to a file with :meth:`download_export_to`)."""
        sink = io.BytesIO()
        self.download_export_to(export, package, sink)
        return unpack_export(sink.getvalue())

    def download_export_to(self, export: Export, package: ExportPackage, sink: BinaryIO) -> None:
        """Every part of ``package``, in order, streamed into ``sink`` (a file): each part is
        read from its link in chunks, hashed and decrypted as it comes, so memory stays flat
        however large the package. Both hashes of every part are checked
        (:class:`KsefUnavailable` when one does not match: what ``sink`` got is then garbage)."""
        for part in sorted(package.parts, key=lambda part: part.ordinal_number):
            self._stream_part(export, part, sink)

    def _stream_part(self, export: Export, part: ExportPart, sink: BinaryIO) -> None:
        decryptor = crypto.StreamDecryptor(export.symmetric_key, export.iv)
        encrypted_hash, plain_hash = hashlib.sha256(), hashlib.sha256()
        status = 0
        try:
            with self._http.stream(
                "GET", part.url, headers={"Accept": "application/octet-stream"}
            ) as response:
                status = response.status_code
                if status >= 400:
                    response.read()
                    raise error_from_response(response)
                declared = response.headers.get("x-ms-meta-hash")
                for chunk in response.iter_bytes(STREAM_CHUNK):
                    encrypted_hash.update(chunk)
                    plain = decryptor.update(chunk)
                    plain_hash.update(plain)
                    sink.write(plain)
            tail = decryptor.finalize()
        except httpx.TimeoutException as error:
            raise KsefUnavailable(0, f"KSeF did not answer in time: {error}") from error
        except httpx.TransportError as error:
            raise KsefUnavailable(0, f"KSeF cannot be reached: {error}") from error
        except ValueError as error:
            raise KsefUnavailable(
                status,
                "the export part cannot be decrypted with the export's key",
                details=(part.part_name,),
            ) from error
        plain_hash.update(tail)
        sink.write(tail)
        digest = base64.b64encode(encrypted_hash.digest()).decode("ascii")
        if digest != part.encrypted_part_hash or (declared and declared != digest):
            raise KsefUnavailable(
                status,
                "the downloaded export part does not match its encryptedPartHash",
                details=(part.part_name,),
            )
        if base64.b64encode(plain_hash.digest()).decode("ascii") != part.part_hash:
            raise KsefUnavailable(
                status,
                "the decrypted export part does not match its partHash",
                details=(part.part_name,),
            )

    # -- Latarnia (MF's status service, ksef-api.md §11) -----------------------------------

    @_reads_answers
    def latarnia_status(self, latarnia_url: str) -> LatarniaStatus:
        """What Latarnia at ``latarnia_url`` (its root: ``GET {url}/status``) announces now.

        Latarnia has been wrong for months and down for hours (§11): read it only to confirm
        what the API itself shows, never as the sole reason for anything.
        """
        answer = self._request(
            "GET", latarnia_url.rstrip("/") + "/status", headers={"Accept": "application/json"}
        ).json()
        status = str(answer["status"])
        if status not in ("AVAILABLE", "MAINTENANCE", "FAILURE", "TOTAL_FAILURE"):
            raise _MalformedAnswer(f"not a Latarnia status: {status!r}")
        return LatarniaStatus(
            status=status,
            announcements=tuple(
                (_integer(item.get("eventId") or 0), str(item.get("title") or ""))
                for item in answer.get("messages") or ()
            ),
        )

    # -- transport ---------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self._http.request(
                method, path, json=json_body, content=content, params=params, headers=all_headers
            )
        except httpx.TimeoutException as error:
            raise KsefUnavailable(0, f"KSeF did not answer in time: {error}") from error
        except httpx.TransportError as error:
            raise KsefUnavailable(0, f"KSeF cannot be reached: {error}") from error
        if response.status_code >= 400:
            raise error_from_response(response)
        return response


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _datetime(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise _MalformedAnswer(f"not an ISO 8601 date-time: {value!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _MalformedAnswer(f"not an integer: {value!r}")
    try:
        return int(value)
    except ValueError as error:
        raise _MalformedAnswer(f"not an integer: {value!r}") from error


def _optional_integer(value: Any) -> int | None:
    return None if value is None else _integer(value)


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as error:
        raise _MalformedAnswer(f"not an ISO 8601 date: {value!r}") from error


def _optional_datetime(value: Any) -> datetime | None:
    return _datetime(value) if value else None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("KSeF query dates need a time zone")
    return value.isoformat()


def _status_info(status: Mapping[str, Any]) -> tuple[int, str, tuple[str, ...]]:
    return (
        _integer(status["code"]),
        str(status.get("description") or ""),
        tuple(str(d) for d in status.get("details") or ()),
    )


def _public_key_certificate(item: Mapping[str, Any]) -> PublicKeyCertificate:
    try:
        der = base64.b64decode(item["certificate"], validate=True)
        x509.load_der_x509_certificate(der)
    except ValueError as error:
        raise _MalformedAnswer("a public-key certificate that is not base64 DER") from error
    return PublicKeyCertificate(
        certificate_der=der,
        certificate_id=str(item["certificateId"]),
        public_key_id=str(item["publicKeyId"]),
        valid_from=_datetime(item["validFrom"]),
        valid_to=_datetime(item["validTo"]),
        usage=tuple(str(u) for u in item.get("usage") or ()),
    )


def _invoice_status(answer: Mapping[str, Any]) -> InvoiceStatus:
    code, description, details = _status_info(answer["status"])
    extensions = answer["status"].get("extensions") or {}
    return InvoiceStatus(
        code=code,
        description=description,
        details=details,
        ksef_number=_text(answer.get("ksefNumber")),
        invoice_number=_text(answer.get("invoiceNumber")),
        acquisition_date=_optional_datetime(answer.get("acquisitionDate")),
        upo_download_url=_text(answer.get("upoDownloadUrl")),
        invoicing_mode=_text(answer.get("invoicingMode")),
        permanent_storage_date=_optional_datetime(answer.get("permanentStorageDate")),
        original_ksef_number=_text(extensions.get("originalKsefNumber")),
        original_session_reference=_text(extensions.get("originalSessionReferenceNumber")),
    )


def _text(value: Any) -> str | None:
    """An optional string of an answer; a number or object where text belongs is malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _MalformedAnswer(f"not a string: {value!r}")
    return value


def _invoice_metadata(item: Mapping[str, Any]) -> InvoiceMetadata:
    seller = item.get("seller") or {}
    buyer = item.get("buyer") or {}
    identifier = buyer.get("identifier") or {}
    return InvoiceMetadata(
        ksef_number=str(item["ksefNumber"]),
        invoice_number=str(item["invoiceNumber"]),
        issue_date=_date(item["issueDate"]),
        seller_nip=str(seller["nip"]),
        seller_name=_text(seller.get("name")),
        buyer_nip=_text(identifier.get("value")) if identifier.get("type") == "Nip" else None,
        net=_decimal(item["netAmount"]),
        vat=_decimal(item["vatAmount"]),
        gross=_decimal(item["grossAmount"]),
        currency=str(item["currency"]),
        invoice_hash=str(item["invoiceHash"]),
        permanent_storage_date=_datetime(item["permanentStorageDate"]),
        acquisition_date=_optional_datetime(item.get("acquisitionDate")),
        invoice_type=_text(item.get("invoiceType")),
        buyer_name=_text(buyer.get("name")),
    )


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise _MalformedAnswer(f"not an amount: {value!r}")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _checked_content(response: httpx.Response) -> bytes:
    """The body, after checking it against KSeF's ``x-ms-meta-hash`` when KSeF sent one."""
    content = response.content
    declared = response.headers.get("x-ms-meta-hash")
    if declared and declared != crypto.sha256_base64(content):
        raise KsefUnavailable(
            response.status_code,
            "the downloaded document does not match its x-ms-meta-hash",
            details=(str(response.url),),
        )
    return content


def _export_package(package: Mapping[str, Any]) -> ExportPackage:
    last = package.get("lastPermanentStorageDate")
    hwm = package.get("permanentStorageHwmDate")
    return ExportPackage(
        invoice_count=_integer(package.get("invoiceCount") or 0),
        size=_integer(package.get("size") or 0),
        parts=tuple(
            ExportPart(
                ordinal_number=_integer(part["ordinalNumber"]),
                part_name=str(part["partName"]),
                url=str(part["url"]),
                part_size=_integer(part["partSize"]),
                part_hash=str(part["partHash"]),
                encrypted_part_size=_integer(part["encryptedPartSize"]),
                encrypted_part_hash=str(part["encryptedPartHash"]),
                expiration_date=_optional_datetime(part.get("expirationDate")),
            )
            for part in package.get("parts") or ()
        ),
        is_truncated=bool(package.get("isTruncated")),
        last_permanent_storage_date=_datetime(last) if last else None,
        permanent_storage_hwm_date=_datetime(hwm) if hwm else None,
    )


def export_metadata(archive: zipfile.ZipFile) -> tuple[InvoiceMetadata, ...]:
    """The invoices a decrypted export package (opened from its file) lists, in KSeF's order;
    their XML stays in the file (``archive.read(f"{ksef_number}.xml")`` one at a time)."""
    try:
        listed = json.loads(archive.read("_metadata.json"), parse_float=Decimal)
        return tuple(_invoice_metadata(item) for item in listed.get("invoices") or ())
    except (zipfile.BadZipFile, *_MALFORMED) as error:
        raise KsefUnavailable(
            200,
            "KSeF sent an export package the client cannot read",
            details=(f"{type(error).__name__}: {error}",),
        ) from error


def open_export(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    """A decrypted export package on disk, opened (``KsefUnavailable`` when it is no ZIP)."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise KsefUnavailable(
            200,
            "KSeF sent an export package the client cannot read",
            details=(f"{type(error).__name__}: {error}",),
        ) from error


def unpack_export(data: bytes) -> ExportedInvoices:
    """A decrypted export package (a ZIP of ``{ksefNumber}.xml`` files and ``_metadata.json``)
    read into metadata and XML; a package that is not such a ZIP is ``KsefUnavailable``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            listed = json.loads(archive.read("_metadata.json"), parse_float=Decimal)
            metadata = tuple(_invoice_metadata(item) for item in listed.get("invoices") or ())
            xml = {
                item.ksef_number: archive.read(f"{item.ksef_number}.xml")
                for item in metadata
                if f"{item.ksef_number}.xml" in names
            }
    except (zipfile.BadZipFile, *_MALFORMED) as error:
        raise KsefUnavailable(
            200,
            "KSeF sent an export package the client cannot read",
            details=(f"{type(error).__name__}: {error}",),
        ) from error
    return ExportedInvoices(metadata=metadata, xml=xml)

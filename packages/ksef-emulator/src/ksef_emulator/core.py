"""The emulated KSeF 2.0 API: every endpoint as a method of :class:`Emulator`, independent of
HTTP (the Starlette app in :mod:`ksef_emulator.app` only translates), plus the Python API
tests and demos use to seed subjects, permissions and tokens, to put invoices into KSeF as a
seller would, and to inject faults.

The split between synchronous and asynchronous errors follows ksef-api.md §0.3: only envelope
problems are a 400; a bad token, certificate or permission fails at ``GET /auth/{ref}``, and
a bad invoice is accepted (202) and fails at its status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import attrs
from cryptography.x509.oid import ObjectIdentifier

from ksef_emulator import invoices as fa3
from ksef_emulator import upo
from ksef_emulator.clock import Clock, SystemClock, iso, to_datetime
from ksef_emulator.crypto import KeyCertificate, generate_key_certificate, sha256_b64
from ksef_emulator.errors import KsefError, ProblemError, forbidden, gone, unauthorized, validation
from ksef_emulator.identifiers import NIP, ksef_number, reference_number
from ksef_emulator.limits import RateLimiter
from ksef_emulator.policy import IpPolicy
from ksef_emulator.state import (
    ALL_PERMISSIONS,
    AuthOperation,
    Bearer,
    Challenge,
    Grant,
    Invoice,
    KsefToken,
    OnlineSession,
    State,
)
from ksef_emulator.xades import check_request, fingerprint, subject_of

__all__ = ["Emulator", "EmulatorConfig", "Faults", "Reply"]

ORGANIZATION_ID = ObjectIdentifier("2.5.4.97")  # a seal names an organisation
CHALLENGE_SECONDS = 600.0
AUTH_RETENTION_SECONDS = 7 * 86400.0
SESSION_SECONDS = 12 * 3600.0
SESSION_INVOICE_LIMIT = 10_000
QUERY_RESULT_CAP = 10_000
FORM_CODES = {("FA (3)", "1-0E", "FA")}

INVOICE_STATUS = {
    100: "Faktura przyjęta do dalszego przetwarzania",
    150: "Trwa przetwarzanie",
    200: "Sukces",
    410: "Nieprawidłowy zakres uprawnień",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
}
SESSION_STATUS = {
    100: "Sesja interaktywna otwarta",
    170: "Sesja interaktywna zamknięta",
    200: "Sesja interaktywna przetworzona pomyślnie",
    415: "Błąd odszyfrowania dostarczonego klucza",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}
AUTH_STATUS = {
    100: "Uwierzytelnianie w toku",
    200: "Uwierzytelnianie zakończone sukcesem",
    415: "Uwierzytelnianie zakończone niepowodzeniem",
    425: "Uwierzytelnienie unieważnione",
    450: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
    460: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu",
    480: "Uwierzytelnienie zablokowane",
}


@attrs.define
class EmulatorConfig:
    """How the emulator behaves. ``base_url`` is the server root as clients reach it, without
    ``/v2`` (pre-signed UPO and export links are built on it); ``seed`` makes its keys the
    same on every start."""

    base_url: str = "http://127.0.0.1:18100"
    seed: str | None = None
    #: Seconds an invoice shows status 150 before its final status (and an auth 100).
    processing_seconds: float = 0.0
    auth_seconds: float = 0.0
    #: Seconds between the KSeF number and permanent storage (until then: 21165, not queried).
    storage_seconds: float = 0.0
    authentication_token_seconds: float = 2700.0
    access_token_seconds: float = 900.0
    refresh_token_seconds: float = 7 * 86400.0
    rate_limits: bool = True


@attrs.define
class Faults:
    """Injected faults (``/_emulator/faults``, ``--down``, ``--slow``, ``--reject-invoices``)."""

    down: bool = False
    slow_seconds: float = 0.0
    reject_invoices: str | None = None  # the 450 detail every invoice gets
    #: Latarnia: AVAILABLE | MAINTENANCE | FAILURE | TOTAL_FAILURE, and its messages.
    status: str = "AVAILABLE"
    messages: list[dict[str, Any]] = attrs.Factory(list)


@attrs.frozen
class Reply:
    """An answer: JSON (``body`` a dict or list), raw bytes, or nothing (``None``)."""

    status: int
    body: Any = None
    media_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)


def _b64decode(text: Any, field: str) -> bytes:
    if not isinstance(text, str):
        raise validation(f"'{field}' jest wymagane.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise validation(f"'{field}' nie jest poprawnym Base64.") from error


def _need(body: Mapping[str, Any], *fields: str) -> None:
    missing = [field for field in fields if body.get(field) in (None, "")]
    if missing:
        raise validation(*(f"'{field}' jest wymagane." for field in missing))


def _parse_datetime(text: Any, field: str) -> float:
    if not isinstance(text, str):
        raise validation(f"'{field}' jest wymagane.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise validation(f"'{field}' nie jest datą ISO-8601.") from error
    if moment.tzinfo is None:  # a date without offset is Warsaw local time (approximated)
        moment = moment.replace(tzinfo=UTC) - timedelta(hours=1)
    return moment.timestamp()


class Emulator:
    """One emulated KSeF environment (thread-safe: every call runs under one lock)."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None):
        self.config = config or EmulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self.state = State()
        self.faults = Faults()
        self.limiter = RateLimiter()
        self.limiter.enabled = self.config.rate_limits
        self.lock = threading.RLock()
        now = to_datetime(self.clock.now())
        self.token_key: KeyCertificate = generate_key_certificate(
            "KsefTokenEncryption", seed=self.config.seed, now=now
        )
        self.symmetric_key: KeyCertificate = generate_key_certificate(
            "SymmetricKeyEncryption", seed=self.config.seed, now=now
        )
        self._secret = hashlib.sha256(f"ksef-emulator:{self.config.seed}".encode()).digest()
        if self.config.seed is None:
            self._secret = secrets.token_bytes(32)

    # ------------------------------------------------------------------ seeding (Python API)

    def add_subject(self, nip: str, name: str | None = None) -> None:
        """Register a taxpayer (``/testdata/subject``); authenticating as itself it is the
        owner of its own NIP context."""
        if not NIP.match(nip):
            raise ValueError(f"not a NIP: {nip!r}")
        with self.lock:
            self.state.subjects[nip] = name or f"Podmiot {nip}"

    def add_person(self, pesel: str, nip: str | None = None) -> None:
        """Register a natural person (``/testdata/person``); with ``nip`` the person owns that
        NIP's context (a sole trader)."""
        with self.lock:
            self.state.persons[pesel] = nip
            if nip:
                self.state.subjects.setdefault(nip, f"Osoba {pesel}")

    def grant(
        self,
        context_nip: str,
        to: str,
        permissions: Iterable[str] = ("InvoiceRead", "InvoiceWrite"),
        *,
        identifier_type: str = "Nip",
    ) -> None:
        """``context_nip`` grants ``permissions`` to the subject ``to`` (a NIP, PESEL or
        certificate fingerprint, per ``identifier_type``): the accounting-office model §4.7."""
        with self.lock:
            for existing in self.state.grants:
                if (existing.context_nip, existing.identifier_type, existing.identifier) == (
                    context_nip,
                    identifier_type,
                    to,
                ):
                    existing.permissions.update(permissions)
                    return
            self.state.grants.append(Grant(context_nip, identifier_type, to, set(permissions)))

    def revoke(self, context_nip: str, to: str, permissions: Iterable[str] | None = None) -> None:
        """Take back ``permissions`` (all when ``None``) granted by ``context_nip`` to ``to``."""
        with self.lock:
            for existing in list(self.state.grants):
                if existing.context_nip == context_nip and existing.identifier == to:
                    if permissions is None:
                        self.state.grants.remove(existing)
                    else:
                        existing.permissions.difference_update(permissions)

    def add_token(
        self,
        context_nip: str,
        permissions: Iterable[str] = ("InvoiceRead", "InvoiceWrite"),
        *,
        description: str = "Token utworzony przez emulator",
    ) -> str:
        """A new active KSeF token for the ``Nip`` context ``context_nip``; returns the token
        (``"{ref}|nip-{nip}|{64 hex}"``), which authenticates with ``POST /auth/ksef-token``."""
        with self.lock:
            self.state.subjects.setdefault(context_nip, f"Podmiot {context_nip}")
            token = self._new_token(
                "Nip", context_nip, tuple(permissions), description, ("Nip", context_nip)
            )
            return f"{token.reference}|nip-{context_nip}|{token.secret}"

    def revoke_token(self, token: str) -> None:
        """Revoke a KSeF token (by the token or its reference number)."""
        with self.lock:
            found = self.state.tokens.get(token.split("|", 1)[0])
            if found is not None:
                found.status = "Revoked"

    def block_context(self, nip: str) -> None:
        """Authentication in this context ends with 480 (``/testdata/context/block``)."""
        with self.lock:
            self.state.blocked.add(nip)

    def unblock_context(self, nip: str) -> None:
        """Undo :meth:`block_context`."""
        with self.lock:
            self.state.blocked.discard(nip)

    def put_invoice(self, xml: bytes, *, offline: bool = False) -> str:
        """Store an FA(3) invoice as if its seller had sent it online (no session needed);
        returns its KSeF number. The buyer then finds it with a ``Subject2`` query: this is
        how a purchase invoice "appears in KSeF" for buyer-side tests and demos."""
        with self.lock:
            problems = fa3.verify(xml)
            if problems:
                raise ValueError("; ".join(problems))
            now = self.clock.now()
            invoice = Invoice(
                reference=reference_number("EE", to_datetime(now).date()),
                session_reference="",
                ordinal=1,
                received=now,
                ready_at=now,
                invoice_hash=sha256_b64(xml),
                invoice_size=len(xml),
                code=100,
                description=INVOICE_STATUS[100],
                xml=xml,
                offline_requested=offline,
            )
            self._judge(invoice, context_nip=None)
            if invoice.code != 200 or invoice.ksef_number is None:
                raise ValueError(f"{invoice.code} {invoice.description}: {invoice.details}")
            self.state.invoices[invoice.reference] = invoice
            return invoice.ksef_number

    # ------------------------------------------------------------------ faults

    def set_faults(
        self,
        *,
        down: bool | None = None,
        slow_seconds: float | None = None,
        reject_invoices: str | bool | None = False,
    ) -> None:
        """Switch faults on or off (``None``/``False`` leaves one unchanged;
        ``reject_invoices=None`` stops rejecting)."""
        with self.lock:
            if down is not None:
                self.faults.down = down
            if slow_seconds is not None:
                self.faults.slow_seconds = max(0.0, slow_seconds)
            if reject_invoices is not False:
                self.faults.reject_invoices = (
                    "Faktura odrzucona przez emulator (wstrzyknięty błąd)."
                    if reject_invoices is True
                    else reject_invoices or None
                )

    def clear_faults(self) -> None:
        """No faults, KSeF available, no announcements."""
        with self.lock:
            self.faults = Faults()

    def expire_tokens(self, *, refresh: bool = False) -> int:
        """Make every access token (and with ``refresh`` every refresh token) expire now;
        returns how many."""
        with self.lock:
            now = self.clock.now()
            kinds = {"access", "refresh"} if refresh else {"access"}
            count = 0
            for bearer in self.state.bearers.values():
                if bearer.kind in kinds and bearer.valid_until > now:
                    bearer.valid_until = now - 1
                    count += 1
            return count

    def announce(
        self,
        status: str = "FAILURE",
        *,
        title: str = "Awaria KSeF",
        text: str = "",
        end: datetime | None = None,
    ) -> dict[str, Any]:
        """Publish a Latarnia announcement (``GET /status``, ``GET /messages``): a failure
        (``FAILURE``/``TOTAL_FAILURE``) or ``MAINTENANCE``. ``AVAILABLE`` ends it."""
        if status not in ("AVAILABLE", "MAINTENANCE", "FAILURE", "TOTAL_FAILURE"):
            raise ValueError(f"not a Latarnia status: {status!r}")
        with self.lock:
            now = self.clock.now()
            kind = {
                "AVAILABLE": "FAILURE_END",
                "MAINTENANCE": "MAINTENANCE_ANNOUNCEMENT",
            }.get(status, "FAILURE_START")
            if status == "AVAILABLE":  # the end of the announcement in force
                current = self.faults.messages[-1]["category"] if self.faults.messages else None
                category = current or "FAILURE"
            else:
                category = status if status in ("MAINTENANCE", "TOTAL_FAILURE") else "FAILURE"
            message = {
                "id": secrets.token_hex(8),
                "eventId": len(self.faults.messages) + 1,
                "category": category,
                "type": kind,
                "title": title,
                "text": text or title,
                "start": iso(now),
                "end": end.isoformat() if end else None,
                "version": 1,
                "published": iso(now),
            }
            self.faults.status = status
            self.faults.messages.append(message)
            return message

    def latarnia_status(self) -> dict[str, Any]:
        """Latarnia's ``GET /status``."""
        with self.lock:
            active = [m for m in self.faults.messages if m["type"] != "FAILURE_END"]
            return {
                "status": self.faults.status,
                "messages": active if self.faults.status != "AVAILABLE" else [],
            }

    # ------------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self.clock.now()

    def _today(self) -> date:
        return to_datetime(self._now()).date()

    def _jwt(
        self, kind: str, auth_reference: str, seconds: float, permissions: tuple[str, ...] = ()
    ) -> tuple[str, float]:
        now = self._now()
        valid_until = now + seconds
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {
            "typ": kind,
            "sub": auth_reference,
            "iat": int(now),
            "exp": int(valid_until),
            "jti": secrets.token_hex(12),
            "iss": "ksef-emulator",
        }

        def part(data: dict[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        unsigned = f"{part(header)}.{part(payload)}"
        signature = hmac.new(self._secret, unsigned.encode(), hashlib.sha256).digest()
        token = f"{unsigned}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
        self.state.bearers[token] = Bearer(kind, auth_reference, valid_until, permissions)
        return token, valid_until

    def bearer(self, authorization: str | None, kind: str) -> Bearer:
        """The valid bearer token of ``kind`` in an ``Authorization`` header, else 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthorized()
        found = self.state.bearers.get(authorization[7:].strip())
        if found is None or found.kind != kind:
            raise unauthorized("Nieprawidłowy token.")
        if found.valid_until <= self._now():
            raise unauthorized("Token wygasł.")
        return found

    def context_of(self, authorization: str | None) -> str:
        """The context value of a request's bearer token (for the rate limits), or ``"-"``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "-"
        found = self.state.bearers.get(authorization[7:].strip())
        if found is None:
            return "-"
        operation = self.state.operations.get(found.auth_reference)
        return operation.context_value if operation else "-"

    def check_ip(self, authorization: str | None, client_ip: str) -> None:
        """403 ``ip-not-allowed`` when the bearer's authentication restricted its tokens to
        other addresses (``authorizationPolicy``)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return
        found = self.state.bearers.get(authorization[7:].strip())
        if found is None or found.kind == "authentication":
            return
        operation = self.state.operations.get(found.auth_reference)
        if operation is not None and not operation.ip_policy.allows(client_ip):
            raise ProblemError(
                403,
                "Forbidden",
                f"Dostęp z adresu IP {client_ip} jest niedozwolony.",
                reasonCode="ip-not-allowed",
                security={"clientIp": client_ip},
            )

    def _access(self, authorization: str | None, *required: str) -> tuple[Bearer, AuthOperation]:
        access = self.bearer(authorization, "access")
        operation = self.state.operations[access.auth_reference]
        if required and not set(required) & set(access.permissions):
            raise forbidden(list(required), sorted(access.permissions))
        return access, operation

    def _permissions(self, operation: AuthOperation) -> tuple[str, ...]:
        """What the authenticated subject may do in the operation's context, now."""
        if operation.token_reference is not None:
            token = self.state.tokens.get(operation.token_reference)
            return token.permissions if token and token.status == "Active" else ()
        if operation.subject is None:
            return ()
        kind, value = operation.subject
        context = operation.context_value
        if kind == "Nip" and value == context:
            return ALL_PERMISSIONS
        if kind == "Pesel" and self.state.persons.get(value) == context:
            return ALL_PERMISSIONS
        held: set[str] = set()
        for grant in self.state.grants:
            if grant.context_nip == context and (grant.identifier_type, grant.identifier) == (
                kind,
                value,
            ):
                held |= grant.permissions
        return tuple(sorted(held))

    def _new_token(
        self,
        context_type: str,
        context_value: str,
        permissions: tuple[str, ...],
        description: str,
        author: tuple[str, str],
    ) -> KsefToken:
        token = KsefToken(
            reference=reference_number("EC", self._today()),
            secret=secrets.token_hex(32),
            context_type=context_type,
            context_value=context_value,
            permissions=permissions,
            description=description,
            created=self._now(),
            author=author,
        )
        self.state.tokens[token.reference] = token
        return token

    def _signed_url(self, path: str, valid_seconds: float = 3600.0) -> tuple[str, float]:
        expires = self._now() + valid_seconds
        signature = hmac.new(
            self._secret, f"{path}|{int(expires)}".encode(), hashlib.sha256
        ).hexdigest()
        query = urlencode({"se": int(expires), "sig": signature})
        return f"{self.config.base_url.rstrip('/')}{path}?{query}", expires

    def check_signed(self, path: str, expires: str | None, signature: str | None) -> bool:
        """Whether a pre-signed storage link is genuine and unexpired."""
        if not expires or not signature or not expires.isdigit():
            return False
        expected = hmac.new(self._secret, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature) and int(expires) > self._now()

    # ------------------------------------------------------------------ keys and auth

    def public_key_certificates(self) -> Reply:
        """``GET /security/public-key-certificates``."""
        return Reply(200, [self.token_key.published(), self.symmetric_key.published()])

    def challenge(self, client_ip: str) -> Reply:
        """``POST /auth/challenge``."""
        with self.lock:
            now = self._now()
            value = reference_number("CR", to_datetime(now).date())
            self.state.challenges[value] = Challenge(value, now, int(now * 1000))
            return Reply(
                200,
                {
                    "challenge": value,
                    "timestamp": iso(now),
                    "timestampMs": int(now * 1000),
                    "clientIp": client_ip,
                },
            )

    def _take_challenge(self, value: Any) -> Challenge:
        found = self.state.challenges.get(value) if isinstance(value, str) else None
        if found is None or found.used or found.timestamp + CHALLENGE_SECONDS < self._now():
            raise KsefError(21111)
        found.used = True
        return found

    def _start_operation(
        self,
        *,
        method: str,
        category: str,
        context_type: str,
        context_value: str,
        subject: tuple[str, str] | None,
        code: int,
        details: list[str],
        token_reference: str | None = None,
        document_hash: str | None = None,
        ip_policy: IpPolicy | None = None,
    ) -> Reply:
        now = self._now()
        reference = reference_number("AU", to_datetime(now).date())
        operation = AuthOperation(
            reference=reference,
            started=now,
            ready_at=now + self.config.auth_seconds,
            method=method,
            category=category,
            context_type=context_type,
            context_value=context_value,
            subject=subject,
            code=code,
            description=AUTH_STATUS.get(code, "Nieznany błąd"),
            details=details,
            token_reference=token_reference,
            document_hash=document_hash,
            ip_policy=ip_policy or IpPolicy(),
        )
        if code == 200:
            if context_value in self.state.blocked:
                operation.code, operation.description = 480, AUTH_STATUS[480]
                operation.details = [
                    "Podejrzenie incydentu bezpieczeństwa. Skontaktuj się z Ministerstwem "
                    "Finansów przez formularz zgłoszeniowy."
                ]
            elif not self._permissions(operation):
                operation.code, operation.description = 415, AUTH_STATUS[415]
                operation.details = ["Brak przypisanych uprawnień"]
        self.state.operations[reference] = operation
        token, valid_until = self._jwt(
            "authentication", reference, self.config.authentication_token_seconds
        )
        return Reply(
            202,
            {
                "referenceNumber": reference,
                "authenticationToken": {"token": token, "validUntil": iso(valid_until)},
            },
        )

    def _context(self, body: Mapping[str, Any]) -> tuple[str, str]:
        context = body.get("contextIdentifier")
        if not isinstance(context, dict) or not context.get("type") or not context.get("value"):
            raise validation("'contextIdentifier' jest wymagane.")
        kind, value = str(context["type"]), str(context["value"])
        if kind not in ("Nip", "InternalId", "NipVatUe", "PeppolId"):
            raise validation(f"Nieznany typ kontekstu: {kind}.")
        if kind == "Nip" and not NIP.match(value):
            raise validation(f"Nieprawidłowy NIP: {value}.")
        return kind, value

    def auth_ksef_token(self, body: Mapping[str, Any]) -> Reply:
        """``POST /auth/ksef-token``: 202 unless the challenge, key or request is bad."""
        with self.lock:
            _need(body, "challenge", "contextIdentifier", "encryptedToken")
            context_type, context_value = self._context(body)
            key_id = body.get("publicKeyId")
            if key_id is not None and key_id != self.token_key.public_key_id:
                raise KsefError(21470)
            encrypted = _b64decode(body.get("encryptedToken"), "encryptedToken")
            policy = IpPolicy.from_json(body.get("authorizationPolicy"))
            challenge = self._take_challenge(body.get("challenge"))
            details: list[str] = []
            token: KsefToken | None = None
            try:
                plain = self.token_key.decrypt(encrypted).decode("utf-8")
            except ValueError:
                details = ["Nieprawidłowe szyfrowanie tokena"]
            else:
                secret_part, _, stamp = plain.rpartition("|")
                token = self.state.tokens.get(secret_part.split("|", 1)[0])
                if token is None or not hmac.compare_digest(
                    secret_part.rsplit("|", 1)[-1], token.secret
                ):
                    token, details = None, ["Nieprawidłowy token"]
                elif stamp != str(challenge.timestamp_ms):
                    details = ["Nieprawidłowy czas tokena"]
                elif token.status == "Revoked":
                    details = ["Token unieważniony"]
                elif token.status != "Active":
                    details = ["Token nieaktywny"]
                elif (token.context_type, token.context_value) != (context_type, context_value):
                    details = [f"Token nie może być użyty w kontekście {context_value}"]
            if token is not None and not details:
                token.last_used = self._now()
            return self._start_operation(
                method="Token",
                category="Token",
                context_type=context_type,
                context_value=context_value,
                subject=token.author if token else None,
                code=450 if details else 200,
                details=details,
                token_reference=token.reference if token else None,
                ip_policy=policy,
            )

    def auth_xades(self, body: bytes) -> Reply:
        """``POST /auth/xades-signature``: the signature is checked at once (400), the
        certificate and the permissions at the status (460, 415)."""
        with self.lock:
            request = check_request(body)
            self._take_challenge(request.challenge)
            certificate = request.certificate
            now = to_datetime(self._now())
            code, details = 200, []
            subject: tuple[str, str] | None
            if request.subject_identifier_type == "certificateFingerprint":
                subject = ("Fingerprint", fingerprint(certificate))
            else:
                subject = subject_of(certificate)
            if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
                code, details = 460, ["Nieważny certyfikat"]
            elif subject is None:
                code, details = 460, ["Niepoprawny certyfikat"]
            organization = bool(certificate.subject.get_attributes_for_oid(ORGANIZATION_ID))
            return self._start_operation(
                method="QualifiedSeal" if organization else "QualifiedSignature",
                category="XadesSignature",
                context_type=request.context_type,
                context_value=request.context_value,
                subject=subject,
                code=code,
                details=details,
                document_hash=request.document_hash,
                ip_policy=request.ip_policy,
            )

    def _operation(self, reference: str) -> AuthOperation:
        operation = self.state.operations.get(reference)
        if operation is None:
            raise KsefError(21304, f"Operacja uwierzytelniania {reference} nie istnieje.")
        if operation.started + AUTH_RETENTION_SECONDS < self._now():
            raise gone(f"Operacja uwierzytelniania {reference} nie jest już dostępna.")
        return operation

    def auth_status(self, authorization: str | None, reference: str) -> Reply:
        """``GET /auth/{ref}`` (Bearer authenticationToken)."""
        with self.lock:
            bearer = self.bearer(authorization, "authentication")
            operation = self._operation(reference)
            if bearer.auth_reference != reference:
                raise unauthorized("Token nie dotyczy tej operacji.")
            pending = self._now() < operation.ready_at
            code = 100 if pending else operation.code
            status: dict[str, Any] = {"code": code, "description": AUTH_STATUS.get(code, "")}
            if not pending and operation.details:
                status["details"] = operation.details
            return Reply(
                200,
                {
                    "startDate": iso(operation.started),
                    "authenticationMethod": operation.method,
                    "authenticationMethodInfo": {
                        "category": operation.category,
                        "code": operation.method,
                        "displayName": {"Token": "Token KSeF"}.get(
                            operation.method, "Podpis kwalifikowany"
                        ),
                    },
                    "status": status,
                    "isTokenRedeemed": operation.redeemed,
                    "lastTokenRefreshDate": iso(operation.last_refresh),
                    "refreshTokenValidUntil": iso(operation.refresh_valid_until),
                },
            )

    def redeem(self, authorization: str | None) -> Reply:
        """``POST /auth/token/redeem`` (Bearer authenticationToken): once, after 200."""
        with self.lock:
            bearer = self.bearer(authorization, "authentication")
            operation = self._operation(bearer.auth_reference)
            ref = operation.reference
            if self._now() < operation.ready_at or operation.code != 200:
                code = 100 if self._now() < operation.ready_at else operation.code
                raise KsefError(
                    21301, f"Status uwierzytelniania ({code}) nie pozwala na pobranie tokenów."
                )
            if operation.redeemed:
                raise KsefError(
                    21301, f"Tokeny dla operacji uwierzytelniania {ref} zostały już pobrane."
                )
            operation.redeemed = True
            permissions = self._permissions(operation)
            access, access_until = self._jwt(
                "access", ref, self.config.access_token_seconds, permissions
            )
            refresh, refresh_until = self._jwt("refresh", ref, self.config.refresh_token_seconds)
            operation.refresh_valid_until = refresh_until
            return Reply(
                200,
                {
                    "accessToken": {"token": access, "validUntil": iso(access_until)},
                    "refreshToken": {"token": refresh, "validUntil": iso(refresh_until)},
                },
            )

    def refresh(self, authorization: str | None) -> Reply:
        """``POST /auth/token/refresh`` (Bearer refreshToken): a new access token with the
        subject's current permissions."""
        with self.lock:
            if not authorization or not authorization.lower().startswith("bearer "):
                raise unauthorized()
            found = self.state.bearers.get(authorization[7:].strip())
            if found is None or found.kind != "refresh":
                raise unauthorized("Nieprawidłowy token.")
            operation = self._operation(found.auth_reference)
            if operation.revoked:
                raise KsefError(21301, "Sesja uwierzytelniania została unieważniona.")
            if found.valid_until <= self._now():
                raise unauthorized("Token wygasł.")
            operation.last_refresh = self._now()
            access, access_until = self._jwt(
                "access",
                operation.reference,
                self.config.access_token_seconds,
                self._permissions(operation),
            )
            return Reply(200, {"accessToken": {"token": access, "validUntil": iso(access_until)}})

    def logout(self, authorization: str | None) -> Reply:
        """``DELETE /auth/sessions/current``: the refresh token dies; access tokens already
        issued live until they expire."""
        with self.lock:
            bearer = self.bearer(authorization, "access")
            operation = self.state.operations[bearer.auth_reference]
            operation.revoked = True
            return Reply(204)

    # ------------------------------------------------------------------ KSeF tokens

    def create_token(self, authorization: str | None, body: Mapping[str, Any]) -> Reply:
        """``POST /tokens``: a KSeF token in the caller's context, with at most the caller's
        permissions; the token is in the answer once."""
        with self.lock:
            access, operation = self._access(authorization, "CredentialsManage")
            _need(body, "permissions", "description")
            requested = body.get("permissions")
            if not isinstance(requested, list) or not requested:
                raise validation("'permissions' musi być niepustą listą.")
            if operation.context_type not in ("Nip", "InternalId"):
                raise KsefError(26002)
            missing = [p for p in requested if p not in access.permissions]
            if missing:
                raise KsefError(26001, *missing)
            token = self._new_token(
                operation.context_type,
                operation.context_value,
                tuple(str(p) for p in requested),
                str(body["description"]),
                operation.subject or ("Nip", operation.context_value),
            )
            context = f"{operation.context_type[0].lower()}{operation.context_type[1:]}"
            return Reply(
                202,
                {
                    "referenceNumber": token.reference,
                    "token": "|".join(
                        (token.reference, f"{context}-{operation.context_value}", token.secret)
                    ),
                },
            )

    def token_status(self, authorization: str | None, reference: str) -> Reply:
        """``GET /tokens/{ref}``."""
        with self.lock:
            _, operation = self._access(authorization)
            token = self.state.tokens.get(reference)
            if token is None or token.context_value != operation.context_value:
                raise KsefError(21405, f"Token {reference} nie istnieje.")
            return Reply(200, self._token_info(token))

    def _token_info(self, token: KsefToken) -> dict[str, Any]:
        return {
            "referenceNumber": token.reference,
            "authorIdentifier": {"type": token.author[0], "value": token.author[1]},
            "contextIdentifier": {"type": token.context_type, "value": token.context_value},
            "description": token.description,
            "requestedPermissions": list(token.permissions),
            "dateCreated": iso(token.created),
            "lastUseDate": iso(token.last_used),
            "status": token.status,
            "statusDetails": [],
        }

    def list_tokens(self, authorization: str | None) -> Reply:
        """``GET /tokens``."""
        with self.lock:
            _, operation = self._access(authorization)
            tokens = [
                self._token_info(t)
                for t in self.state.tokens.values()
                if t.context_value == operation.context_value
            ]
            return Reply(200, {"continuationToken": None, "tokens": tokens})

    def delete_token(self, authorization: str | None, reference: str) -> Reply:
        """``DELETE /tokens/{ref}``."""
        with self.lock:
            _, operation = self._access(authorization, "CredentialsManage")
            token = self.state.tokens.get(reference)
            if token is None or token.context_value != operation.context_value:
                raise KsefError(21405, f"Token {reference} nie istnieje.")
            token.status = "Revoked"
            return Reply(204)

    # ------------------------------------------------------------------ online sessions

    def open_session(self, authorization: str | None, body: Mapping[str, Any]) -> Reply:
        """``POST /sessions/online`` → 201; a key that cannot be unwrapped gives a session in
        status 415 (not a 400)."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceWrite")
            _need(body, "formCode", "encryption")
            form = body["formCode"]
            if (
                not isinstance(form, dict)
                or (form.get("systemCode"), form.get("schemaVersion"), form.get("value"))
                not in FORM_CODES
            ):
                raise validation("Nieobsługiwany kod formularza (emulator przyjmuje FA (3)).")
            encryption = body["encryption"]
            if not isinstance(encryption, dict):
                raise validation("'encryption' jest wymagane.")
            key_id = encryption.get("publicKeyId")
            if key_id is not None and key_id != self.symmetric_key.public_key_id:
                raise KsefError(21470)
            wrapped = _b64decode(
                encryption.get("encryptedSymmetricKey"), "encryption.encryptedSymmetricKey"
            )
            iv = _b64decode(
                encryption.get("initializationVector"), "encryption.initializationVector"
            )
            if len(iv) != 16:
                raise validation(
                    "Nieprawidłowa długość wektora inicjującego (IV). Oczekiwano 16 bajtów, "
                    f"otrzymano {len(iv)}."
                )
            try:
                key: bytes | None = self.symmetric_key.decrypt(wrapped)
            except ValueError:
                key = None
            if key is not None and len(key) != 32:
                key = None
            now = self._now()
            session = OnlineSession(
                reference=reference_number("SO", to_datetime(now).date()),
                context_type=operation.context_type,
                context_value=operation.context_value,
                auth_reference=operation.reference,
                created=now,
                valid_until=now + SESSION_SECONDS,
                key=key,
                iv=iv,
                form_code=dict(form),
                updated=now,
            )
            self.state.sessions[session.reference] = session
            return Reply(
                201, {"referenceNumber": session.reference, "validUntil": iso(session.valid_until)}
            )

    def _session(self, reference: str, operation: AuthOperation) -> OnlineSession:
        session = self.state.sessions.get(reference)
        if session is None or session.context_value != operation.context_value:
            raise KsefError(21173, f"Sesja {reference} nie istnieje.")
        if session.closed_at is None and session.valid_until <= self._now():
            session.closed_at = session.valid_until  # closed automatically after 12 h
            session.updated = session.valid_until
        return session

    def _session_code(self, session: OnlineSession) -> int:
        if session.key is None:
            return 415
        if session.closed_at is None:
            return 100
        if self._now() < session.closed_at + self.config.processing_seconds:
            return 170
        invoices = [self.state.invoices[r] for r in session.invoices]
        if not invoices:
            return 440
        if not any(i.code == 200 for i in invoices):
            return 445
        return 200

    def send_invoice(
        self, authorization: str | None, reference: str, body: Mapping[str, Any]
    ) -> Reply:
        """``POST /sessions/online/{ref}/invoices`` → 202; only the envelope (encrypted size
        and hash, the session) is checked now, the rest shows at the invoice's status."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceWrite")
            session = self._session(reference, operation)
            code = self._session_code(session)
            if code != 100:
                raise KsefError(21180, f"Status sesji ({code}) uniemożliwia wysyłkę faktur.")
            _need(
                body,
                "invoiceHash",
                "invoiceSize",
                "encryptedInvoiceHash",
                "encryptedInvoiceSize",
                "encryptedInvoiceContent",
            )
            _check_types(
                body,
                invoiceHash=str,
                invoiceSize=int,
                encryptedInvoiceHash=str,
                encryptedInvoiceSize=int,
                encryptedInvoiceContent=str,
                offlineMode=bool,
                hashOfCorrectedInvoice=str,
            )
            if len(session.invoices) >= SESSION_INVOICE_LIMIT:
                raise KsefError(21155)
            content = _b64decode(body.get("encryptedInvoiceContent"), "encryptedInvoiceContent")
            if body.get("encryptedInvoiceSize") != len(content):
                raise KsefError(21402, f"Rozmiar zaszyfrowanej faktury: {len(content)}.")
            if body.get("encryptedInvoiceHash") != sha256_b64(content):
                raise KsefError(21403)
            corrected = body.get("hashOfCorrectedInvoice")
            if corrected is not None:
                self._check_technical_correction(session, str(corrected), body)
            now = self._now()
            invoice = Invoice(
                reference=reference_number("EE", to_datetime(now).date()),
                session_reference=session.reference,
                ordinal=len(session.invoices) + 1,
                received=now,
                ready_at=now + self.config.processing_seconds,
                invoice_hash=str(body.get("invoiceHash")),
                invoice_size=int(body.get("invoiceSize") or 0),
                code=100,
                description=INVOICE_STATUS[100],
                offline_requested=bool(body.get("offlineMode")),
                hash_of_corrected=body.get("hashOfCorrectedInvoice"),
            )
            assert session.key is not None
            try:
                plain = fa3_decrypt(session.key, session.iv, content)
            except ValueError as error:
                self._fail(invoice, 435, str(error))
            else:
                if len(plain) != invoice.invoice_size:
                    self._fail(
                        invoice,
                        430,
                        "Rozmiar przesłanego pliku faktury nie zgadza się "
                        f"z zadeklarowaną wartością: {len(plain)}.",
                    )
                elif sha256_b64(plain) != invoice.invoice_hash:
                    self._fail(
                        invoice,
                        430,
                        "Skrót przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością.",
                    )
                else:
                    invoice.xml = plain
                    self._judge(invoice, context_nip=session.context_value)
            session.invoices.append(invoice.reference)
            session.updated = now
            self.state.invoices[invoice.reference] = invoice
            return Reply(202, {"referenceNumber": invoice.reference})

    def _check_technical_correction(
        self, session: OnlineSession, corrected: str, body: Mapping[str, Any]
    ) -> None:
        """A technical correction (``offline/korekta-techniczna.md``) re-sends an offline
        invoice rejected for technical reasons (not permissions), once it is accepted."""
        if not body.get("offlineMode"):
            raise validation("Korekta techniczna wymaga 'offlineMode': true.")
        originals = [
            i
            for i in self.state.invoices.values()
            if i.invoice_hash == corrected and self._context_of_invoice(i) == session.context_value
        ]
        if not originals:
            raise validation(f"Nie znaleziono faktury o skrócie {corrected}.")
        if any(i.code == 200 for i in originals) or all(i.code == 410 for i in originals):
            raise KsefError(
                21167, "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."
            )
        if any(
            i.code == 200 and i.hash_of_corrected == corrected for i in self.state.invoices.values()
        ):
            raise KsefError(
                21166, "Faktura posiada już przetworzoną prawidłowo korektę techniczną."
            )

    def _context_of_invoice(self, invoice: Invoice) -> str | None:
        sent_in = self.state.sessions.get(invoice.session_reference)
        if sent_in is not None:
            return sent_in.context_value
        return invoice.facts.seller_nip if invoice.facts else None

    def _fail(self, invoice: Invoice, code: int, *details: str) -> None:
        invoice.code = code
        invoice.description = INVOICE_STATUS[code]
        invoice.details = list(details)

    def _judge(self, invoice: Invoice, *, context_nip: str | None) -> None:
        """Semantic verification of a decrypted invoice; on success its KSeF number."""
        assert invoice.xml is not None
        problems = fa3.verify(invoice.xml)
        if problems:
            self._fail(invoice, 450, *problems)
            return
        facts = fa3.read(invoice.xml)
        invoice.facts = facts
        invoice.invoice_number = facts.invoice_number
        if self.faults.reject_invoices:
            self._fail(invoice, 450, self.faults.reject_invoices)
            return
        if context_nip is not None and facts.seller_nip != context_nip:
            self._fail(
                invoice,
                410,
                f"Brak uprawnień do wystawienia faktury w imieniu podmiotu {facts.seller_nip}.",
            )
            return
        numbered_at = invoice.ready_at
        numbered_day = to_datetime(numbered_at).date()
        if facts.issue_date > numbered_day:
            self._fail(
                invoice,
                450,
                "Data wystawienia faktury (P_1) jest późniejsza niż data przyjęcia jej do KSeF.",
            )
            return
        key = (facts.seller_nip, facts.invoice_type, facts.invoice_number)
        original = self.state.by_business_key.get(key)
        if original is not None:
            self._fail(invoice, 440, "Duplikat faktury.")
            invoice.extensions = {
                "originalSessionReferenceNumber": original.session_reference,
                "originalKsefNumber": original.ksef_number or "",
            }
            return
        invoice.code, invoice.description = 200, INVOICE_STATUS[200]
        invoice.ksef_number = ksef_number(facts.seller_nip, numbered_day)
        invoice.acquisition = numbered_at
        invoice.permanent_storage = numbered_at + self.config.storage_seconds
        # Automatic offline marking: P_1 on an earlier day than the acceptance.
        offline = (
            invoice.offline_requested or facts.issue_date < to_datetime(invoice.received).date()
        )
        invoice.mode = "Offline" if offline else "Online"
        self.state.by_business_key[key] = invoice
        self.state.by_ksef_number[invoice.ksef_number] = invoice
        self.state.by_seller.setdefault(facts.seller_nip, []).append(invoice)
        if facts.buyer_type == "Nip" and facts.buyer_value:
            self.state.by_buyer.setdefault(facts.buyer_value, []).append(invoice)

    def _invoice_json(self, invoice: Invoice) -> dict[str, Any]:
        now = self._now()
        code = invoice.visible_code(now)
        status: dict[str, Any] = {"code": code, "description": INVOICE_STATUS.get(code, "")}
        result: dict[str, Any] = {
            "ordinalNumber": invoice.ordinal,
            "invoiceNumber": invoice.invoice_number if code != 150 else None,
            "ksefNumber": None,
            "referenceNumber": invoice.reference,
            "invoiceHash": invoice.invoice_hash,
            "invoiceFileName": None,
            "invoicingDate": iso(invoice.received),
            "status": status,
        }
        if code == 150:
            return result
        if invoice.details:
            status["details"] = invoice.details
        if invoice.extensions:
            status["extensions"] = invoice.extensions
        if code == 200:
            url, expires = self._signed_url(
                f"/storage/invoice-upo/{invoice.session_reference}/{invoice.reference}.xml"
            )
            result.update(
                {
                    "ksefNumber": invoice.ksef_number,
                    "acquisitionDate": iso(invoice.acquisition),
                    "permanentStorageDate": iso(invoice.permanent_storage)
                    if invoice.permanent_storage is not None and invoice.permanent_storage <= now
                    else None,
                    "invoicingMode": invoice.mode,
                    "upoDownloadUrl": url,
                    "upoDownloadUrlExpirationDate": iso(expires),
                }
            )
        return result

    def session_status(self, authorization: str | None, reference: str) -> Reply:
        """``GET /sessions/{ref}``."""
        with self.lock:
            _, operation = self._access(authorization)
            session = self._session(reference, operation)
            code = self._session_code(session)
            now = self._now()
            invoices = [self.state.invoices[r] for r in session.invoices]
            done = [i for i in invoices if i.visible_code(now) != 150]
            status: dict[str, Any] = {"code": code, "description": SESSION_STATUS[code]}
            if code == 440:
                status["details"] = ["Nie przesłano żadnych faktur."]
            result: dict[str, Any] = {
                "status": status,
                "dateCreated": iso(session.created),
                "dateUpdated": iso(session.updated),
                "validUntil": iso(session.valid_until),
                "invoiceCount": len(invoices),
                "successfulInvoiceCount": sum(1 for i in done if i.code == 200),
                "failedInvoiceCount": sum(1 for i in done if i.code != 200),
            }
            if code == 200:
                if session.upo_reference is None:
                    session.upo_reference = reference_number("EU", to_datetime(now).date())
                url, expires = self._signed_url(
                    f"/storage/session-upo/{session.reference}/{session.upo_reference}.xml"
                )
                result["upo"] = {
                    "pages": [
                        {
                            "referenceNumber": session.upo_reference,
                            "downloadUrl": url,
                            "downloadUrlExpirationDate": iso(expires),
                        }
                    ]
                }
            return Reply(200, result)

    def close_session(self, authorization: str | None, reference: str) -> Reply:
        """``POST /sessions/online/{ref}/close`` → 204 (the session UPO follows)."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceWrite")
            session = self._session(reference, operation)
            code = self._session_code(session)
            if code != 100:
                raise KsefError(21180, f"Status sesji {code} uniemożliwia jej zamknięcie.")
            session.closed_at = self._now()
            session.updated = session.closed_at
            return Reply(204)

    def session_invoices(
        self,
        authorization: str | None,
        reference: str,
        continuation: str | None,
        page_size: int,
        failed_only: bool = False,
    ) -> Reply:
        """``GET /sessions/{ref}/invoices`` (and ``/failed``), paged by continuation token."""
        with self.lock:
            _, operation = self._access(authorization)
            session = self._session(reference, operation)
            if not 10 <= page_size <= 1000:
                raise validation("'pageSize' musi być z zakresu 10-1000.")
            start = 0
            if continuation:
                if not continuation.isdigit():
                    raise KsefError(21418)
                start = int(continuation)
            now = self._now()
            invoices = [self.state.invoices[r] for r in session.invoices]
            if failed_only:
                invoices = [i for i in invoices if i.visible_code(now) >= 400]
            page = invoices[start : start + page_size]
            more = start + page_size < len(invoices)
            return Reply(
                200,
                {
                    "continuationToken": str(start + page_size) if more else None,
                    "invoices": [self._invoice_json(i) for i in page],
                },
            )

    def invoice_status(
        self, authorization: str | None, reference: str, invoice_reference: str
    ) -> Reply:
        """``GET /sessions/{ref}/invoices/{invoiceRef}``."""
        with self.lock:
            _, operation = self._access(authorization)
            session = self._session(reference, operation)
            invoice = self.state.invoices.get(invoice_reference)
            if invoice is None or invoice.session_reference != session.reference:
                raise validation(f"Faktura {invoice_reference} nie istnieje w sesji.")
            return Reply(200, self._invoice_json(invoice))

    # ------------------------------------------------------------------ UPO

    def _upo_entry(self, invoice: Invoice) -> upo.UpoEntry:
        assert invoice.facts is not None and invoice.ksef_number and invoice.acquisition
        return upo.UpoEntry(
            seller_nip=invoice.facts.seller_nip,
            ksef_number=invoice.ksef_number,
            invoice_number=invoice.facts.invoice_number,
            issue_date=invoice.facts.issue_date.isoformat(),
            sent_at=invoice.received,
            numbered_at=invoice.acquisition,
            invoice_hash=invoice.invoice_hash,
            mode=invoice.mode,
        )

    def _upo_reply(self, session: OnlineSession, invoices: list[Invoice]) -> Reply:
        operation = self.state.operations[session.auth_reference]
        xml = upo.render(
            session_reference=session.reference,
            context_type=session.context_type,
            context_value=session.context_value,
            token_reference=operation.token_reference,
            auth_document_hash=operation.document_hash or sha256_b64(operation.reference.encode()),
            entries=[self._upo_entry(i) for i in invoices],
        )
        return Reply(200, xml, "application/xml", {"x-ms-meta-hash": sha256_b64(xml)})

    def _invoice_upo(self, session: OnlineSession, invoice: Invoice | None) -> Reply:
        if (
            invoice is None
            or invoice.session_reference != session.reference
            or invoice.visible_code(self._now()) != 200
        ):
            raise KsefError(21178)
        return self._upo_reply(session, [invoice])

    def invoice_upo(
        self,
        authorization: str | None,
        reference: str,
        invoice_reference: str | None = None,
        ksef_number_: str | None = None,
    ) -> Reply:
        """``GET /sessions/{ref}/invoices/{invoiceRef}/upo`` or ``…/invoices/ksef/{n}/upo``."""
        with self.lock:
            _, operation = self._access(authorization)
            session = self._session(reference, operation)
            invoice = (
                self.state.invoices.get(invoice_reference)
                if invoice_reference
                else self.state.by_ksef_number.get(ksef_number_ or "")
            )
            return self._invoice_upo(session, invoice)

    def session_upo(self, authorization: str | None, reference: str, upo_reference: str) -> Reply:
        """``GET /sessions/{ref}/upo/{upoRef}``."""
        with self.lock:
            _, operation = self._access(authorization)
            session = self._session(reference, operation)
            return self._session_upo(session, upo_reference)

    def _session_upo(self, session: OnlineSession, upo_reference: str) -> Reply:
        if self._session_code(session) != 200 or session.upo_reference != upo_reference:
            raise KsefError(21178)
        accepted = [self.state.invoices[r] for r in session.invoices]
        return self._upo_reply(session, [i for i in accepted if i.code == 200])

    def storage(self, path: str, expires: str | None, signature: str | None) -> Reply:
        """A pre-signed storage link (no bearer): ``/storage/invoice-upo/…``,
        ``/storage/session-upo/…``, ``/storage/exports/…``."""
        with self.lock:
            if not self.check_signed(path, expires, signature):
                return Reply(
                    403, b"<Error><Code>AuthenticationFailed</Code></Error>", "application/xml"
                )
            parts = path.strip("/").split("/")
            if len(parts) == 4 and parts[1] in ("invoice-upo", "session-upo"):
                session = self.state.sessions.get(parts[2])
                name = parts[3].removesuffix(".xml")
                if session is not None:
                    if parts[1] == "invoice-upo":
                        return self._invoice_upo(session, self.state.invoices.get(name))
                    return self._session_upo(session, name)
            if len(parts) == 3 and parts[1] == "exports" and parts[2] in self.state.parts:
                data = self.state.parts[parts[2]]
                return Reply(
                    200, data, "application/octet-stream", {"x-ms-meta-hash": sha256_b64(data)}
                )
            return Reply(404, b"<Error><Code>BlobNotFound</Code></Error>", "application/xml")

    # ------------------------------------------------------------------ receiving

    def _stored(self, subject: str, context: str) -> list[Invoice]:
        """The permanently stored invoices a query of ``subject`` in ``context`` may see."""
        now = self._now()
        if subject == "Subject1":
            candidates: Iterable[Invoice] = self.state.by_seller.get(context, ())
        elif subject == "Subject2":
            candidates = self.state.by_buyer.get(context, ())
        else:
            candidates = self.state.by_ksef_number.values()
        return [
            i for i in candidates if i.permanent_storage is not None and i.permanent_storage <= now
        ]

    def _matching(
        self, operation: AuthOperation, filters: Mapping[str, Any]
    ) -> tuple[list[Invoice], str, float]:
        subject = filters.get("subjectType")
        if subject not in ("Subject1", "Subject2", "Subject3", "SubjectAuthorized"):
            raise validation(
                "'subjectType' musi być jednym z: Subject1, Subject2, Subject3, SubjectAuthorized."
            )
        date_range = filters.get("dateRange")
        if not isinstance(date_range, dict):
            raise validation("'dateRange' jest wymagane.")
        date_type = date_range.get("dateType")
        if date_type not in ("Issue", "Invoicing", "PermanentStorage"):
            raise validation(
                "'dateRange.dateType' musi być jednym z: Issue, Invoicing, PermanentStorage."
            )
        _check_filters(filters)
        start = _parse_datetime(date_range.get("from"), "dateRange.from")
        end = (
            _parse_datetime(date_range["to"], "dateRange.to")
            if date_range.get("to")
            else self._now()
        )
        # The high-water mark is "now": a storage date is never assigned in the past, so
        # everything stored up to now is final.
        if date_type == "PermanentStorage" and date_range.get("restrictToPermanentStorageHwmDate"):
            if start > self._now():
                raise KsefError(21183)
            end = min(end, self._now())
        if end < start:
            raise validation("'dateRange.to' jest wcześniejsze niż 'dateRange.from'.")
        if to_datetime(end) > to_datetime(start) + _three_months(to_datetime(start)):
            raise validation("Zakres dat nie może przekraczać 3 miesięcy.")
        context = operation.context_value
        found = []
        for invoice in self._stored(str(subject), context):
            facts = invoice.facts
            assert facts is not None
            if subject == "Subject1" and facts.seller_nip != context:
                continue
            if subject == "Subject2" and not (
                facts.buyer_type == "Nip" and facts.buyer_value == context
            ):
                continue
            if subject == "Subject3" and not any(
                t["identifier"]["value"] == context for t in facts.third_subjects
            ):
                continue
            if subject == "SubjectAuthorized":
                continue
            moment = _date_of(invoice, date_type)
            if not start <= moment <= end:
                continue
            if not _filters_match(invoice, filters):
                continue
            found.append(invoice)
        return found, str(date_type), end

    def query_metadata(
        self,
        authorization: str | None,
        body: Mapping[str, Any],
        page_offset: int,
        page_size: int,
        sort_order: str,
    ) -> Reply:
        """``POST /invoices/query/metadata``."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceRead")
            if not 10 <= page_size <= 250:
                raise validation("'pageSize' musi być z zakresu 10-250.")
            if page_offset < 0:
                raise validation("'pageOffset' nie może być ujemne.")
            if sort_order not in ("Asc", "Desc"):
                raise validation("'sortOrder' musi być Asc lub Desc.")
            found, date_type, _ = self._matching(operation, body)
            found.sort(
                key=lambda i: (_date_of(i, date_type), i.ksef_number or ""),
                reverse=sort_order == "Desc",
            )
            truncated = len(found) > QUERY_RESULT_CAP
            found = found[:QUERY_RESULT_CAP]
            start = page_offset * page_size
            page = found[start : start + page_size]
            return Reply(
                200,
                {
                    "hasMore": start + page_size < len(found),
                    "isTruncated": truncated and start + page_size >= len(found),
                    "permanentStorageHwmDate": iso(self._now())
                    if date_type == "PermanentStorage"
                    else None,
                    "invoices": [_metadata(i) for i in page],
                },
            )

    def download_invoice(self, authorization: str | None, number: str) -> Reply:
        """``GET /invoices/ksef/{ksefNumber}``: the exact bytes sent."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceRead")
            invoice = self.state.by_ksef_number.get(number)
            context = operation.context_value
            if (
                invoice is None
                or invoice.facts is None
                or context
                not in (
                    invoice.facts.seller_nip,
                    invoice.facts.buyer_value,
                    *(t["identifier"]["value"] for t in invoice.facts.third_subjects),
                )
                or invoice.visible_code(self._now()) != 200
            ):
                raise KsefError(21164, f"Faktura {number} nie istnieje.")
            if invoice.permanent_storage is None or invoice.permanent_storage > self._now():
                raise KsefError(21165)
            assert invoice.xml is not None
            return Reply(
                200, invoice.xml, "application/xml", {"x-ms-meta-hash": invoice.invoice_hash}
            )

    # ------------------------------------------------------------------ exports (phase 2)

    def start_export(self, authorization: str | None, body: Mapping[str, Any]) -> Reply:
        """``POST /invoices/exports`` → 201; the package (a ZIP of ``{ksefNumber}.xml`` and
        ``_metadata.json``) is encrypted with the caller's AES key and ready at once."""
        import io
        import zipfile

        with self.lock:
            _, operation = self._access(authorization, "InvoiceRead")
            _need(body, "encryption", "filters")
            encryption = body["encryption"]
            if not isinstance(encryption, dict):
                raise validation("'encryption' jest wymagane.")
            key_id = encryption.get("publicKeyId")
            if key_id is not None and key_id != self.symmetric_key.public_key_id:
                raise KsefError(21470)
            wrapped = _b64decode(
                encryption.get("encryptedSymmetricKey"), "encryption.encryptedSymmetricKey"
            )
            iv = _b64decode(
                encryption.get("initializationVector"), "encryption.initializationVector"
            )
            if len(iv) != 16:
                raise validation("Oczekiwano 16 bajtów wektora inicjującego (IV).")
            running = [
                e
                for e in self.state.exports.values()
                if e["context"] == operation.context_value and e["code"] == 100
            ]
            if len(running) >= 10:
                raise KsefError(21182)
            filters = body["filters"]
            if not isinstance(filters, dict):
                raise validation("'filters' jest wymagane.")
            found, date_type, end = self._matching(operation, filters)
            found.sort(key=lambda i: (_date_of(i, date_type), i.ksef_number or ""))
            truncated = len(found) > QUERY_RESULT_CAP
            found = found[:QUERY_RESULT_CAP]
            now = self._now()
            reference = reference_number("EH", to_datetime(now).date())
            export: dict[str, Any] = {
                "context": operation.context_value,
                "created": now,
                "code": 200,
                "reference": reference,
            }
            try:
                key = self.symmetric_key.decrypt(wrapped)
            except ValueError:
                export["code"] = 415
                self.state.exports[reference] = export
                return Reply(201, {"referenceNumber": reference})
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                if not body.get("onlyMetadata"):
                    for invoice in found:
                        assert invoice.xml is not None
                        archive.writestr(f"{invoice.ksef_number}.xml", invoice.xml)
                archive.writestr(
                    "_metadata.json",
                    json.dumps({"invoices": [_metadata(i) for i in found]}, ensure_ascii=False),
                )
            plain = buffer.getvalue()
            encrypted = fa3_encrypt(key, iv, plain)
            part_name = f"{reference}-001.zip.aes"
            self.state.parts[part_name] = encrypted
            url, expires = self._signed_url(f"/storage/exports/{part_name}")
            last = _date_of(found[-1], date_type) if found else None
            export["package"] = {
                "invoiceCount": len(found),
                "size": len(plain),
                "parts": [
                    {
                        "ordinalNumber": 1,
                        "partName": part_name,
                        "method": "GET",
                        "url": url,
                        "partSize": len(plain),
                        "partHash": sha256_b64(plain),
                        "encryptedPartSize": len(encrypted),
                        "encryptedPartHash": sha256_b64(encrypted),
                        "expirationDate": iso(expires),
                    }
                ],
                "isTruncated": truncated,
                "lastPermanentStorageDate": iso(last) if date_type == "PermanentStorage" else None,
                "permanentStorageHwmDate": iso(min(end, now))
                if date_type == "PermanentStorage"
                else None,
            }
            self.state.exports[reference] = export
            return Reply(201, {"referenceNumber": reference})

    def export_status(self, authorization: str | None, reference: str) -> Reply:
        """``GET /invoices/exports/{ref}``."""
        with self.lock:
            _, operation = self._access(authorization, "InvoiceRead")
            export = self.state.exports.get(reference)
            if export is None or export["context"] != operation.context_value:
                raise KsefError(21175)
            if export["created"] + AUTH_RETENTION_SECONDS < self._now():
                raise gone(f"Eksport {reference} nie jest już dostępny.")
            code = export["code"]
            descriptions = {
                200: "Eksport faktur zakończony sukcesem",
                415: "Błąd odszyfrowania dostarczonego klucza",
            }
            result: dict[str, Any] = {
                "status": {"code": code, "description": descriptions[code]},
                "completedDate": iso(export["created"]),
            }
            if code == 200:
                result["package"] = export["package"]
            return Reply(200, result)

    # ------------------------------------------------------------------ testdata over HTTP

    def testdata(self, what: str, body: Mapping[str, Any]) -> Reply:
        """``POST /testdata/{subject,person,permissions,permissions/revoke,context/block,
        context/unblock}``, as on MF's TEST."""
        with self.lock:
            if what == "subject":
                _need(body, "subjectNip")
                nip = str(body["subjectNip"])
                if not NIP.match(nip):
                    raise validation(f"Nieprawidłowy NIP: {nip}.")
                self.add_subject(nip, str(body.get("description") or "") or None)
            elif what == "person":
                _need(body, "pesel")
                self.add_person(str(body["pesel"]), str(body["nip"]) if body.get("nip") else None)
            elif what in ("permissions", "permissions/revoke"):
                context = body.get("contextIdentifier")
                authorized = body.get("authorizedIdentifier")
                if not isinstance(context, dict) or not isinstance(authorized, dict):
                    raise validation("'contextIdentifier' i 'authorizedIdentifier' są wymagane.")
                listed = body.get("permissions") or []
                if not isinstance(listed, list):
                    raise validation("'permissions' musi być listą.")
                permissions = [str(p.get("permissionType")) for p in listed if isinstance(p, dict)]
                if what == "permissions":
                    self.grant(
                        str(context.get("value")),
                        str(authorized.get("value")),
                        permissions,
                        identifier_type=str(authorized.get("type", "Nip")),
                    )
                else:
                    self.revoke(
                        str(context.get("value")), str(authorized.get("value")), permissions or None
                    )
            elif what in ("context/block", "context/unblock"):
                context = body.get("contextIdentifier")
                if not isinstance(context, dict) or not context.get("value"):
                    raise validation("'contextIdentifier' jest wymagane.")
                if what == "context/block":
                    self.block_context(str(context["value"]))
                else:
                    self.unblock_context(str(context["value"]))
            else:
                raise validation(f"Nieznana operacja: {what}.")
            return Reply(200)

    def set_rate_limits(self, body: Mapping[str, Any]) -> Reply:
        """``POST /testdata/rate-limits``: ``{"rateLimits": {group: {perSecond, perMinute,
        perHour}}}`` (groups as in ``GET /rate-limits``)."""
        from ksef_emulator.limits import Limit

        limits = body.get("rateLimits")
        if not isinstance(limits, dict):
            raise validation("'rateLimits' jest wymagane.")
        for group, value in limits.items():
            if not isinstance(value, dict):
                raise validation(f"'rateLimits.{group}' musi być obiektem.")
            try:
                self.limiter.limits[str(group)] = Limit(
                    int(value["perSecond"]), int(value["perMinute"]), int(value["perHour"])
                )
            except (KeyError, TypeError, ValueError) as error:
                raise validation(f"'rateLimits.{group}': {error}") from error
        return Reply(200)

    def rate_limits(self) -> Reply:
        """``GET /rate-limits``."""
        return Reply(
            200,
            {
                group: {
                    "perSecond": limit.per_second,
                    "perMinute": limit.per_minute,
                    "perHour": limit.per_hour,
                }
                for group, limit in self.limiter.limits.items()
                if group != "auth"
            },
        )

    def unavailable(self) -> ProblemError:
        """The 503 every call gets while the ``down`` fault is on."""
        return ProblemError(
            503,
            "Service Unavailable",
            "Usługa KSeF jest niedostępna.",
            headers={"Retry-After": "60"},
        )


def fa3_decrypt(key: bytes, iv: bytes, content: bytes) -> bytes:
    """The session's AES-256-CBC (IV separate)."""
    from ksef_emulator.crypto import aes_decrypt

    return aes_decrypt(key, iv, content)


def fa3_encrypt(key: bytes, iv: bytes, content: bytes) -> bytes:
    """AES-256-CBC with the caller's key (export parts)."""
    from ksef_emulator.crypto import aes_encrypt

    return aes_encrypt(key, iv, content)


def _three_months(start: datetime) -> timedelta:
    month = start.month + 3
    year = start.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(start.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return start.replace(year=year, month=month, day=day) - start


def _date_of(invoice: Invoice, date_type: str) -> float:
    if date_type == "Issue":
        assert invoice.facts is not None
        issue = invoice.facts.issue_date
        return datetime(issue.year, issue.month, issue.day, tzinfo=UTC).timestamp()
    if date_type == "Invoicing":
        return invoice.received
    assert invoice.permanent_storage is not None
    return invoice.permanent_storage


def _check_types(body: Mapping[str, Any], **expected: type) -> None:
    """21405 for each field present (not null) with another JSON type than ``expected``
    (``bool`` is not an ``int`` here, whatever Python thinks)."""
    wrong = []
    for field, kind in expected.items():
        value = body.get(field)
        if value is None:
            continue
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            wrong.append(f"'{field}' ma nieprawidłowy typ (oczekiwano {kind.__name__}).")
    if wrong:
        raise validation(*wrong)


def _check_filters(filters: Mapping[str, Any]) -> None:
    """The optional filters of ``InvoiceQueryFilters`` have the types the schema says."""
    _check_types(
        filters,
        ksefNumber=str,
        invoiceNumber=str,
        sellerNip=str,
        buyerIdentifier=dict,
        currencyCodes=list,
        invoicingMode=str,
        isSelfInvoicing=bool,
        formType=str,
        invoiceTypes=list,
        hasAttachment=bool,
        amount=dict,
    )
    for field in ("currencyCodes", "invoiceTypes"):
        if any(not isinstance(v, str) for v in filters.get(field) or []):
            raise validation(f"'{field}' musi być listą tekstów.")
    buyer = filters.get("buyerIdentifier")
    if isinstance(buyer, dict):
        _check_types(buyer, type=str, value=str)
    amount = filters.get("amount")
    if isinstance(amount, dict):
        _check_types(amount, type=str)
        for bound in ("from", "to"):
            value = amount.get(bound)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise validation(f"'amount.{bound}' musi być liczbą.")


def _filters_match(invoice: Invoice, filters: Mapping[str, Any]) -> bool:
    facts = invoice.facts
    assert facts is not None
    if filters.get("ksefNumber") and filters["ksefNumber"] != invoice.ksef_number:
        return False
    if filters.get("invoiceNumber") and filters["invoiceNumber"] != facts.invoice_number:
        return False
    if filters.get("sellerNip") and filters["sellerNip"] != facts.seller_nip:
        return False
    buyer = filters.get("buyerIdentifier")
    if isinstance(buyer, dict) and buyer.get("type"):
        if buyer["type"] != facts.buyer_type:
            return False
        if buyer.get("value") and buyer["value"] != facts.buyer_value:
            return False
    if filters.get("currencyCodes") and facts.currency not in filters["currencyCodes"]:
        return False
    if filters.get("invoicingMode") and filters["invoicingMode"] != invoice.mode:
        return False
    types = filters.get("invoiceTypes")
    if types and fa3.INVOICE_TYPES.get(facts.invoice_type, facts.invoice_type) not in types:
        return False
    if (
        filters.get("hasAttachment") is not None
        and filters["hasAttachment"] != facts.has_attachment
    ):
        return False
    amount = filters.get("amount")
    if isinstance(amount, dict) and amount.get("type"):
        value = {"Brutto": facts.gross, "Netto": facts.net, "Vat": facts.vat}.get(amount["type"])
        if value is None:
            return False
        if amount.get("from") is not None and value < Decimal(str(amount["from"])):
            return False
        if amount.get("to") is not None and value > Decimal(str(amount["to"])):
            return False
    return True


def _metadata(invoice: Invoice) -> dict[str, Any]:
    facts = invoice.facts
    assert facts is not None
    return {
        "ksefNumber": invoice.ksef_number,
        "invoiceNumber": facts.invoice_number,
        "issueDate": facts.issue_date.isoformat(),
        "invoicingDate": iso(invoice.received),
        "acquisitionDate": iso(invoice.acquisition),
        "permanentStorageDate": iso(invoice.permanent_storage),
        "seller": {"nip": facts.seller_nip, "name": facts.seller_name},
        "buyer": {
            "identifier": {"type": facts.buyer_type, "value": facts.buyer_value},
            "name": facts.buyer_name,
        },
        "netAmount": float(facts.net),
        "grossAmount": float(facts.gross),
        "vatAmount": float(facts.vat),
        "currency": facts.currency,
        "invoicingMode": invoice.mode,
        "invoiceType": fa3.INVOICE_TYPES.get(facts.invoice_type, facts.invoice_type),
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "isSelfInvoicing": facts.is_self_invoicing,
        "hasAttachment": facts.has_attachment,
        "invoiceHash": invoice.invoice_hash,
        "hashOfCorrectedInvoice": invoice.hash_of_corrected,
        "thirdSubjects": list(facts.third_subjects),
    }

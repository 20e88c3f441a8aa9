"""Test doubles for the plugin's unit tests: a KSeF port that keeps everything in memory (the
documented ``KsefPort`` contract, docs/plugins/ksef.md) and a scriptable KSeF client (the
``KsefClient`` API), so sending and receiving are tested without a network or a database."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from cabinet_core.entities import Client
from cabinet_core.ksef.submission import (
    KsefMode,
    KsefOfflineMode,
    KsefState,
    KsefSubmission,
    VerificationCode,
)
from cabinet_ksef.api import (
    AccessTokens,
    InvoiceMetadata,
    InvoiceStatus,
    LatarniaStatus,
    MetadataPage,
    OnlineSession,
    SentInvoice,
    SessionInvoice,
)
from cabinet_ksef.errors import KsefUnavailable
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
SELLER_NIP = "5265877635"
FA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"


def invoice_xml(
    number: str = "FV/1/2026", *, nip: str = SELLER_NIP, issued: str = "2026-12-07"
) -> bytes:
    """A file with what the plugin reads of an FA(3) invoice (the e2e tests use real ones)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Faktura xmlns="{FA3}">'
        f"<Podmiot1><DaneIdentyfikacyjne><NIP>{nip}</NIP><Nazwa>Sprzedawca</Nazwa>"
        f"</DaneIdentyfikacyjne></Podmiot1><Fa><P_1>{issued}</P_1><P_2>{number}</P_2></Fa></Faktura>"
    ).encode()


def b64hash(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def certificate_pair(
    *, days: int = 365, start: dt.datetime | None = None, cn: str = "Biuro Rachunkowe"
) -> tuple[bytes, bytes, rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed RSA certificate and its key as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    begin = start or NOW - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begin)
        .not_valid_after(begin + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        key,
        cert,
    )


class Interrupted(Exception):
    """The worker was killed (raised where the test wants the crash)."""


class FakePort:
    """The KsefPort contract in memory."""

    name = "ksef"

    def __init__(self) -> None:
        self.clock = NOW
        self.subs: dict[int, KsefSubmission] = {}
        self.xml: dict[int, bytes] = {}
        self.upos: dict[int, bytes] = {}
        self.client_values: dict[tuple[int, str], Any] = {}
        self.secret_keys: set[tuple[int, str]] = set()
        self.values: dict[str, Any] = {}
        self.enabled_clients: set[int] = set()
        self.clients_by_id: dict[int, Client] = {}
        self.requeued: list[int] = []
        self.purchases: dict[tuple[int, str], tuple[bytes, Mapping[str, Any] | None]] = {}
        self.audit: list[tuple[int, str]] = []
        self.fail_mark_sent = 0

    # helpers for tests
    def add_client(self, client_id: int = 1, nip: str = SELLER_NIP) -> Client:
        client = Client(id=client_id, name=f"Client {client_id}", nip=nip)
        self.clients_by_id[client_id] = client
        self.enabled_clients.add(client_id)
        return client

    def issue(self, document_id: int, client_id: int = 1, xml: bytes | None = None) -> None:
        self.xml[document_id] = xml or invoice_xml(f"FV/{document_id}/2026")
        self.subs[document_id] = KsefSubmission(
            document_id=document_id,
            client_id=client_id,
            state=KsefState.QUEUED,
            queued_at=self.clock,
        )

    def _set(self, document_id: int, action: str, **changes: Any) -> KsefSubmission:
        self.subs[document_id] = attrs.evolve(
            self.subs[document_id], updated_at=self.clock, **changes
        )
        self.audit.append((document_id, action))
        return self.subs[document_id]

    # the port
    def now(self) -> dt.datetime:
        return self.clock

    def document(self, document_id: int) -> Any:
        return None

    def fa3_xml(self, document_id: int) -> bytes:
        return self.xml[document_id]

    def submission(self, document_id: int) -> KsefSubmission | None:
        return self.subs.get(document_id)

    def submissions(
        self, *, states: Iterable[KsefState], client_id: int | None = None, limit: int = 100
    ) -> Sequence[KsefSubmission]:
        wanted = set(states)
        found = [
            s
            for s in self.subs.values()
            if s.state in wanted and (client_id is None or s.client_id == client_id)
        ]
        return found[:limit]

    def upo(self, document_id: int) -> bytes | None:
        return self.upos.get(document_id)

    def mark_sent(
        self,
        document_id: int,
        *,
        invoice_hash: str,
        session_reference: str,
        invoice_reference: str,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission:
        if self.fail_mark_sent:
            self.fail_mark_sent -= 1
            raise Interrupted("killed between KSeF's answer and storing it")
        current = self.subs[document_id]
        return self._set(
            document_id,
            "ksef.sent",
            state=KsefState.SENT,
            invoice_hash=invoice_hash,
            session_reference=session_reference,
            invoice_reference=invoice_reference,
            sent_at=self.clock,
            verification=tuple(verification) or current.verification,
        )

    def mark_accepted(
        self,
        document_id: int,
        *,
        ksef_number: str,
        acquired_at: dt.datetime,
        upo: bytes | None = None,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission:
        if upo is not None:
            self.upos[document_id] = upo
        return self._set(
            document_id,
            "ksef.accepted",
            state=KsefState.ACCEPTED,
            ksef_number=ksef_number,
            acquired_at=acquired_at,
            has_upo=upo is not None,
            verification=tuple(verification),
        )

    def store_upo(self, document_id: int, upo: bytes) -> KsefSubmission:
        self.upos[document_id] = upo
        return self._set(document_id, "ksef.upo_stored", has_upo=True)

    def mark_rejected(
        self, document_id: int, *, code: int, description: str, details: Sequence[str] = ()
    ) -> KsefSubmission:
        return self._set(
            document_id,
            "ksef.rejected",
            state=KsefState.REJECTED,
            error_code=code,
            error_description=description,
            error_details=tuple(details),
        )

    def mark_offline(
        self,
        document_id: int,
        *,
        reason: str,
        verification: Sequence[VerificationCode] = (),
        offline_mode: KsefOfflineMode = KsefOfflineMode.OFFLINE24,
        ended: dt.date | None = None,
    ) -> KsefSubmission:
        current = self.subs.get(document_id)
        if current is not None and current.mode is KsefMode.OFFLINE:
            mode = current.offline_mode or KsefOfflineMode.OFFLINE24
            if offline_mode.rank > mode.rank or (offline_mode is mode and ended is not None):
                return self._set(
                    document_id,
                    "ksef.offline_mode",
                    offline_mode=offline_mode,
                    send_by=offline_mode.send_by(self.clock.date(), ended),
                )
            return current
        return self._set(
            document_id,
            "ksef.offline",
            state=KsefState.OFFLINE,
            mode=KsefMode.OFFLINE,
            error_description=reason,
            verification=tuple(verification),
            offline_mode=offline_mode,
            send_by=offline_mode.send_by(self.clock.date(), ended),
        )

    def record_attempt(self, document_id: int, *, error: str) -> KsefSubmission:
        current = self.subs[document_id]
        return self._set(
            document_id,
            "ksef.attempt_failed",
            attempts=current.attempts + 1,
            error_description=error,
        )

    def requeue(self, document_id: int, *, reason: str) -> None:
        self.requeued.append(document_id)

    def import_purchase(
        self,
        client_id: int,
        xml: bytes,
        *,
        ksef_number: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[Any, bool]:
        key = (client_id, ksef_number)
        if key in self.purchases:
            return None, False
        self.purchases[key] = (xml, metadata)
        return None, True

    def known_ksef_numbers(self, client_id: int, numbers: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in numbers if (client_id, n) in self.purchases)

    def client(self, client_id: int) -> Client | None:
        return self.clients_by_id.get(client_id)

    def clients_with_ksef(self) -> Sequence[Client]:
        return [self.clients_by_id[i] for i in sorted(self.enabled_clients)]

    def enabled(self, client_id: int) -> bool:
        return client_id in self.enabled_clients

    def set_enabled(self, client_id: int, enabled: bool) -> None:
        (self.enabled_clients.add if enabled else self.enabled_clients.discard)(client_id)

    def lease(self, client_id: int, holder: str, seconds: float) -> bool:
        leases: dict[int, tuple[str, dt.datetime]] = self.__dict__.setdefault("leases", {})
        current = leases.get(client_id)
        if current is not None and current[0] != holder and current[1] > self.clock:
            return False
        leases[client_id] = (holder, self.clock + dt.timedelta(seconds=seconds))
        return True

    def release(self, client_id: int, holder: str) -> None:
        leases: dict[int, tuple[str, dt.datetime]] = self.__dict__.setdefault("leases", {})
        if client_id in leases and leases[client_id][0] == holder:
            del leases[client_id]

    def client_state(self, client_id: int, key: str, default: Any = None) -> Any:
        return self.client_values.get((client_id, key), default)

    def set_client_state(
        self, client_id: int, key: str, value: Any, *, secret: bool = False
    ) -> None:
        if secret:
            self.secret_keys.add((client_id, key))
        if value is None:
            self.client_values.pop((client_id, key), None)
        else:
            self.client_values[(client_id, key)] = value

    def state(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value


class FakeKsef:
    """What the fake clients of one base URL share: KSeF's side (sessions, invoices, faults)."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[tuple[str, str, bytes, bool]] = []  # session, reference, xml, offline
        self.sessions_opened = 0
        self.sessions_closed: list[str] = []
        self.authentications = 0
        self.statuses: dict[str, list[InvoiceStatus]] = {}
        self.verdict: dict[str, int] = {}  # invoice number -> status code to end in
        self.rate_limited: float | None = None
        self.purchases: list[tuple[InvoiceMetadata, bytes]] = []
        self.metadata_calls = 0
        self.downloads = 0
        #: What Latarnia announces (``None``: it does not answer), and who asked it where.
        self.latarnia: str | None = "AVAILABLE"
        self.latarnia_reads: list[str] = []
        self._counter = itertools.count(1)

    def client(self, base_url: str) -> FakeClient:
        return FakeClient(self, base_url)


def _ksef_number(nip: str, n: int) -> str:
    return f"{nip}-20261207-{n:012X}-00"


class FakeClient:
    """The ``KsefClient`` API over a :class:`FakeKsef`."""

    def __init__(self, ksef: FakeKsef, base_url: str) -> None:
        self.ksef = ksef
        self.base_url = base_url
        self.closed = False

    def _check(self) -> None:
        from cabinet_ksef.errors import KsefRateLimited

        if self.ksef.down:
            raise KsefUnavailable(503, "Service Unavailable")
        if self.ksef.rate_limited is not None:
            raise KsefRateLimited(429, "Too Many Requests", retry_after=self.ksef.rate_limited)

    def close(self) -> None:
        self.closed = True

    def latarnia_status(self, latarnia_url: str) -> LatarniaStatus:
        self.ksef.latarnia_reads.append(latarnia_url)
        if self.ksef.latarnia is None:
            raise KsefUnavailable(502, "Bad Gateway")
        failing = self.ksef.latarnia != "AVAILABLE"
        return LatarniaStatus(self.ksef.latarnia, ((7, "Awaria KSeF"),) if failing else ())

    def public_keys(self, *, refresh: bool = False) -> object:
        self._check()
        return object()

    def authenticate(self, credentials: Any) -> AccessTokens:
        self._check()
        self.ksef.authentications += 1
        return AccessTokens(
            access_token=f"access-{credentials.context_nip}",
            access_valid_until=NOW + dt.timedelta(minutes=15),
            refresh_token="refresh",
            refresh_valid_until=NOW + dt.timedelta(days=7),
        )

    def refresh(self, tokens: AccessTokens) -> AccessTokens:
        self._check()
        return tokens

    def open_online_session(self, tokens: AccessTokens) -> OnlineSession:
        self._check()
        self.ksef.sessions_opened += 1
        return OnlineSession(
            reference_number=f"20261207-SO-{self.ksef.sessions_opened:010d}-00",
            valid_until=NOW + dt.timedelta(hours=12),
            symmetric_key=b"k" * 32,
            iv=b"i" * 16,
        )

    def close_session(self, tokens: AccessTokens, session: OnlineSession) -> None:
        self._check()
        self.ksef.sessions_closed.append(session.reference_number)

    def send_invoice(
        self,
        tokens: AccessTokens,
        session: OnlineSession,
        xml: bytes,
        *,
        offline: bool = False,
        hash_of_corrected: str | None = None,
    ) -> SentInvoice:
        self._check()
        reference = f"20261207-EE-{next(self.ksef._counter):010d}-00"
        self.ksef.sent.append((session.reference_number, reference, xml, offline))
        return SentInvoice(invoice_reference=reference, invoice_hash=b64hash(xml))

    def _status(self, reference: str) -> InvoiceStatus:
        for _session, ref, xml, offline in self.ksef.sent:
            if ref != reference:
                continue
            queued = self.ksef.statuses.get(ref)
            if queued:
                return queued.pop(0)
            from lxml import etree

            root = etree.fromstring(xml)
            number = root.findtext(f"{{{FA3}}}Fa/{{{FA3}}}P_2") or ""
            code = self.ksef.verdict.get(number, 200)
            if code == 200:
                ordinal = [r for _s, r, _x, _o in self.ksef.sent].index(ref) + 1
                return InvoiceStatus(
                    code=200,
                    description="Sukces",
                    details=(),
                    ksef_number=_ksef_number(SELLER_NIP, ordinal),
                    invoice_number=number,
                    acquisition_date=NOW,
                    upo_download_url=None,
                    invoicing_mode="Offline" if offline else "Online",
                )
            return InvoiceStatus(
                code=code,
                description="Błąd weryfikacji semantyki dokumentu faktury",
                details=("The element 'Adnotacje' has invalid child element",),
                ksef_number=None,
                invoice_number=number,
                acquisition_date=None,
                upo_download_url=None,
            )
        raise AssertionError(f"unknown invoice {reference}")

    def invoice_status(
        self, tokens: AccessTokens, session_reference: str, invoice_reference: str
    ) -> InvoiceStatus:
        self._check()
        return self._status(invoice_reference)

    def invoice_upo(
        self, tokens: AccessTokens, session_reference: str, invoice_reference: str
    ) -> bytes:
        self._check()
        return f"<Potwierdzenie>{invoice_reference}</Potwierdzenie>".encode()

    def find_session_invoice(
        self, tokens: AccessTokens, session_reference: str, invoice_hash: str
    ) -> SessionInvoice | None:
        self._check()
        for index, (session, reference, xml, _offline) in enumerate(self.ksef.sent):
            if session == session_reference and b64hash(xml) == invoice_hash:
                return SessionInvoice(
                    invoice_reference=reference,
                    ordinal_number=index + 1,
                    invoice_hash=invoice_hash,
                    status=self._status(reference),
                )
        return None

    def query_metadata(
        self,
        tokens: AccessTokens,
        *,
        subject: str,
        date_from: dt.datetime,
        date_to: dt.datetime,
        date_type: str = "PermanentStorage",
        page_offset: int = 0,
        page_size: int = 250,
        sort_order: str = "Asc",
    ) -> MetadataPage:
        self._check()
        assert subject == "Subject2"
        assert date_to - date_from <= dt.timedelta(days=92)
        self.ksef.metadata_calls += 1
        found = sorted(
            (m for m, _ in self.ksef.purchases if date_from <= m.permanent_storage_date <= date_to),
            key=lambda m: m.permanent_storage_date,
        )
        page = found[page_offset * page_size : (page_offset + 1) * page_size]
        return MetadataPage(
            invoices=tuple(page),
            has_more=len(found) > (page_offset + 1) * page_size,
            is_truncated=False,
        )

    def download_invoice(self, tokens: AccessTokens, ksef_number: str) -> bytes:
        self._check()
        self.ksef.downloads += 1
        for meta, xml in self.ksef.purchases:
            if meta.ksef_number == ksef_number:
                return xml
        raise AssertionError(ksef_number)


def purchase(
    n: int, stored: dt.datetime, buyer_nip: str = SELLER_NIP
) -> tuple[InvoiceMetadata, bytes]:
    """A purchase invoice KSeF holds for the buyer ``buyer_nip``."""
    seller = "7010002137"
    xml = invoice_xml(f"ZAK/{n}", nip=seller)
    return (
        InvoiceMetadata(
            ksef_number=_ksef_number(seller, n),
            invoice_number=f"ZAK/{n}",
            issue_date=stored.date(),
            seller_nip=seller,
            seller_name="Dostawca sp. z o.o.",
            buyer_nip=buyer_nip,
            net=Decimal("100.00"),
            vat=Decimal("23.00"),
            gross=Decimal("123.00"),
            currency="PLN",
            invoice_hash=b64hash(xml),
            permanent_storage_date=stored,
        ),
        xml,
    )

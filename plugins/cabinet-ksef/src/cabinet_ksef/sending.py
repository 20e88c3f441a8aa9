"""Sending: the outbox subscriber ``"ksef"`` that brings each issued invoice into KSeF.

Each ``ksef.send`` message is one step of a small state machine over the document's submission
(``docs/plugins/ksef.md``), never a wait:

* **queued / offline** → send it in the client's online session (reused while valid) and
  ``mark_sent``; the message is then retried after ``poll_seconds`` to read the status.
* **sent** → read the status once: pending → retry later; 200 → ``mark_accepted`` with the
  KSeF number, the acquisition time and the UPO; ≥ 400 → ``mark_rejected`` with KSeF's code.
* **accepted / rejected** → nothing (a late duplicate message).

Exactly once: before the XML goes out, the plugin writes an *in-flight* marker (hash and
session) into the client's state; a worker killed between KSeF's 202 and ``mark_sent`` leaves
it behind, and the next attempt first looks the hash up in that session's invoice list
(``GET /sessions/{ref}/invoices``) and adopts the reference it finds instead of sending again.

KSeF unreachable (5xx, timeouts): the attempt is recorded; after ``offline_after`` failed
attempts an invoice never sent goes into **offline24** (§11): ``mark_offline`` with KOD I
labelled OFFLINE, and KOD II when the client authenticates with a certificate; the
mail to the buyer goes with them. The periodic recovery pass probes KSeF and re-queues every
offline invoice once it answers, so each is sent (``offlineMode: true``) on recovery, once.

Rate limits (§8): each client's sends are paced below KSeF's invoiceSend limits (10/s, 30/min,
180/h) by a sliding window here; a 429 nonetheless waits exactly KSeF's ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cabinet_core.crm import DeliveryError, PeriodicTask
from cabinet_core.errors import ValidationError
from cabinet_core.fx import is_business_day
from cabinet_core.ksef.submission import (
    KsefMode,
    KsefOfflineMode,
    KsefState,
    KsefSubmission,
    VerificationCode,
)
from cabinet_core.sync import KsefSendRequest, decode_payload
from lxml import etree

from cabinet_ksef import qr
from cabinet_ksef.api import AccessTokens, CertificateCredentials, Credentials, InvoiceStatus
from cabinet_ksef.connections import Connection, Connections
from cabinet_ksef.credentials import CredentialVault
from cabinet_ksef.crypto import load_signing_material, sha256_base64
from cabinet_ksef.environments import Environment
from cabinet_ksef.errors import KsefAuthError, KsefError, KsefRateLimited, KsefUnavailable
from cabinet_ksef.settings import KsefSettings

if TYPE_CHECKING:
    from cabinet_core.entities import OutboxMessage
    from cabinet_core.ksef.port import KsefPort

log = logging.getLogger(__name__)

FA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"
#: Per-client state keys this module owns.
INFLIGHT_PREFIX = "inflight."
LAST_ERROR_KEY = "last_error"
ENVIRONMENT_KEY = "environment"
#: KSeF's invoiceSend limits per client (context) and address (§8), each window with a margin.
SEND_LIMITS = ((1.0, 9), (60.0, 28), (3600.0, 170))
#: Plugin state: when each document was last re-queued by the recovery pass.
REQUEUED_KEY = "requeued"
REQUEUE_EVERY = timedelta(minutes=30)
#: A session that carried nothing this long is closed (KSeF then builds its session UPO).
SESSION_IDLE = timedelta(minutes=10)
SESSION_CHECK_SECONDS = 120.0
#: How long a worker process's lease on a client lasts at least (renewed by each send).
LEASE_SECONDS = 120.0
#: A slot lies this long after the moment a window frees: exactly on the boundary, a rounding
#: error (epoch-sized floats) or the request's time in flight puts the send inside KSeF's window
#: (the benchmark saw 429s), and inside ours, which sent it to the back of the queue.
SLOT_GUARD = 0.05
#: How long Latarnia's answer is trusted before it is read again.
LATARNIA_SECONDS = 300.0
#: KSeF statuses after which an identical file must not be sent again: a duplicate (440).
DUPLICATE = 440
#: Latarnia's statuses that announce an outage, and the offline mode each means (§11).
OUTAGE_MODES = {
    "MAINTENANCE": KsefOfflineMode.UNAVAILABILITY,
    "FAILURE": KsefOfflineMode.EMERGENCY,
    "TOTAL_FAILURE": KsefOfflineMode.EMERGENCY,
}


class Paced(Exception):
    """The client's own send budget is spent for now; ``wait`` seconds until it is not."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"paced for {wait:.1f}s")
        self.wait = wait


class SendWindow:
    """Sliding windows of one client's sends (all three at once, as KSeF counts them).

    A send that does not fit now gets a **slot**: the earliest moment the windows allow after
    every send and slot already given, kept under its ``key`` (the document). Its wait is the
    time to that slot, so a burst of 400 invoices is spread over the hours the limits need and
    each message comes back once, at its turn, instead of every message retrying every second
    (which spent the outbox's attempts: the 90th invoice of a burst failed for good). A send
    without a slot queues behind those with one; a slot not used within ``SLOT_GRACE`` seconds
    of its moment is given up. The send itself is still checked against the sends actually
    made, so a late worker never goes over KSeF's limits.
    """

    #: Seconds after its moment a slot stays kept for its message.
    SLOT_GRACE = 60.0

    def __init__(self, limits: Sequence[tuple[float, int]] = SEND_LIMITS) -> None:
        self.limits = limits
        self._sent: deque[float] = deque()
        self._slots: dict[int, float] = {}

    def take(self, now: float, key: int | None = None) -> None:
        """Count one send at ``now`` (seconds), or raise :class:`Paced` saying how long to wait
        (and keeping a slot for ``key``)."""
        longest = max(seconds for seconds, _ in self.limits)
        while self._sent and self._sent[0] <= now - longest:
            self._sent.popleft()
        self._slots = {k: t for k, t in self._slots.items() if t > now - self.SLOT_GRACE}
        slot = self._slots.pop(key, None) if key is not None else None
        if slot is not None and slot > now:
            self._slots[key] = slot  # type: ignore[index]
            raise Paced(slot - now)
        if (slot is not None or not self._slots) and self._fits(now):
            self._sent.append(now)
            return
        raise Paced(self._reserve(now, key))

    def _fits(self, now: float) -> bool:
        for seconds, allowed in self.limits:
            if sum(1 for t in self._sent if t > now - seconds) >= allowed:
                return False
        return True

    def _reserve(self, now: float, key: int | None) -> float:
        """The earliest moment after every send and slot the windows allow; kept for ``key``."""
        taken = sorted([*self._sent, *self._slots.values()])
        moment = max(now, taken[-1]) if taken else now
        while True:
            wait = 0.0
            for seconds, allowed in self.limits:
                inside = [t for t in taken if moment - seconds < t <= moment]
                if len(inside) >= allowed:
                    wait = max(wait, inside[len(inside) - allowed] + seconds - moment)
            if wait <= 0:
                break
            moment += wait + SLOT_GUARD
        if key is not None:
            self._slots[key] = moment
        return moment - now


def next_business_day(day: date) -> date:
    """The offline24 deadline of an invoice issued on ``day`` (art. 106nda: by the next
    business day; Polish public holidays are not business days)."""
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def invoice_facts(xml: bytes) -> tuple[str, date]:
    """The seller's NIP and the issue date (``P_1``) an FA(3) file states, for its QR codes."""
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    nip = root.findtext(f"{{{FA3}}}Podmiot1/{{{FA3}}}DaneIdentyfikacyjne/{{{FA3}}}NIP")
    issued = root.findtext(f"{{{FA3}}}Fa/{{{FA3}}}P_1")
    if not nip or not issued:
        raise ValueError("the FA(3) file states no seller NIP or issue date")
    return nip.strip(), date.fromisoformat(issued.strip())


class KsefSender:
    """The ``"ksef"`` outbox subscriber: one step of a document's way into KSeF per message,
    and the periodic passes (status polls, recovery after an outage) that the worker runs."""

    def __init__(
        self,
        port: KsefPort,
        settings: KsefSettings,
        connections: Connections,
        *,
        monotonic: Callable[[], float] | None = None,
        probe: Callable[[str], None] | None = None,
    ) -> None:
        import time

        self.port = port
        self.settings = settings
        self.connections = connections
        self.vault = CredentialVault(settings.credentials_key, port)
        self._monotonic = monotonic or time.monotonic
        self._windows: dict[int, SendWindow] = {}
        #: Latarnia's last answer per address: (when, the outage announced or None).
        self._latarnia: dict[str, tuple[float, tuple[KsefOfflineMode, str] | None]] = {}
        self._lock = threading.Lock()
        self._probe = probe
        #: This process among the workers (the lease's holder).
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        #: Longer than one send can take (authentication, the public key, the send itself).
        self.lease_seconds = max(LEASE_SECONDS, 6 * settings.timeout)
        #: Extra periodic tasks (receiving, connection checks) the plugin composes in.
        self.extra_tasks: list[PeriodicTask[Any]] = []
        #: Called by :meth:`close` (the receiver removes its export files).
        self.on_close: list[Callable[[], None]] = []

    def close(self) -> None:
        """Close the clients' connections and what the plugin composed in (the receiver's
        export files); the cabinet closes its plugin-made objects."""
        for close in self.on_close:
            close()
        self.connections.close()

    # -- where a client's KSeF is ------------------------------------------------------------

    def environment(self, client_id: int) -> str:
        """The client's environment name: its own setting, else the cabinet's."""
        value = self.port.client_state(client_id, ENVIRONMENT_KEY)
        return str(value) if value in ("test", "demo", "production") else self.settings.environment

    def base_url(self, client_id: int) -> str:
        """The API base URL the client's calls go to (``CABINET_KSEF_BASE_URL`` wins)."""
        if self.settings.base_url:
            return self.settings.base_url
        return Environment(self.environment(client_id)).api_base_url

    def qr_base(self, client_id: int) -> Environment | str:
        """What the verification URLs are built on: the environment, or (an emulator) the
        configured base URL's host."""
        if self.settings.base_url:
            return self.settings.base_url.removesuffix("/v2")
        return Environment(self.environment(client_id))

    def open(self, client_id: int) -> tuple[Connection, Credentials]:
        """The client's connection and credentials; :class:`DeliveryError` when there are none
        (staff have not set them up yet: the invoice waits for them)."""
        credentials = self.vault.credentials(client_id)
        info = self.vault.info(client_id)
        if credentials is None or info is None:
            self.note_error(client_id, "no KSeF credentials are stored for this client")
            raise DeliveryError("no KSeF credentials for the client", retry_after=3600)
        fingerprint = info.updated_at.isoformat() if info.updated_at else ""
        return (
            self.connections.connection(client_id, self.base_url(client_id), fingerprint),
            credentials,
        )

    def note_error(self, client_id: int, text: str | None) -> None:
        """What the settings page shows as the last error (``None`` clears it)."""
        value = {"at": self.port.now().isoformat(), "message": text[:500]} if text else None
        if value is None and self.port.client_state(client_id, LAST_ERROR_KEY) is None:
            return
        self.port.set_client_state(client_id, LAST_ERROR_KEY, value)

    # -- the subscriber -----------------------------------------------------------------------

    def deliver(self, message: OutboxMessage) -> None:
        """One step for the message's document; :class:`DeliveryError` means "again later"."""
        request = decode_payload(message)
        if not isinstance(request, KsefSendRequest):
            return  # a topic a newer core addresses to us that this plugin does not know
        self.step(request.document_id)

    def step(self, document_id: int) -> KsefSubmission | None:
        """Move the document one step along (see the module's text).

        A send happens under the client's lease (:meth:`leased`), with the submission read
        again once it is held: two worker processes with a message each for one document (a
        re-queue after an outage, a repeated delivery) never both send it, and one client's
        sends and online session are never used by two processes at once."""
        submission = self.port.submission(document_id)
        if submission is None or submission.state in (KsefState.ACCEPTED, KsefState.REJECTED):
            return submission
        if submission.state is not KsefState.SENT:
            with self.leased(submission.client_id):
                submission = self.port.submission(document_id)
                if submission is not None and submission.state in (
                    KsefState.QUEUED,
                    KsefState.OFFLINE,
                ):
                    return self.send(submission)
            if submission is None or submission.state is not KsefState.SENT:
                return submission
        return self.poll(submission)

    @contextlib.contextmanager
    def leased(self, client_id: int) -> Iterator[None]:
        """Hold the client's lease (this process alone works for it in KSeF meanwhile), or
        raise a deferred :class:`DeliveryError` (the attempt given back) when another worker
        process holds it: the message comes back in a second or two."""
        if not self.port.lease(client_id, self.holder, self.lease_seconds):
            raise DeliveryError(
                "another worker is sending for this client",
                retry_after=0.5 + random.random() * 1.5,
                deferred=True,
            )
        try:
            yield
        finally:
            self.port.release(client_id, self.holder)

    @contextlib.contextmanager
    def _try_lease(self, client_id: int) -> Iterator[bool]:
        """The lease as a flag (the idle-session pass skips a client someone works for)."""
        if not self.port.lease(client_id, self.holder, self.lease_seconds):
            yield False
            return
        try:
            yield True
        finally:
            self.port.release(client_id, self.holder)

    def send(self, submission: KsefSubmission) -> KsefSubmission:
        """Send a queued or offline invoice (or adopt the earlier send a crash left behind)."""
        document_id, client_id = submission.document_id, submission.client_id
        connection, credentials = self.open(client_id)
        cached = connection.tokens is not None
        try:
            xml = self.port.fa3_xml(document_id)
        except ValidationError as exc:
            # A correction whose original has no KSeF number yet cannot be written: it waits.
            fields = ", ".join(sorted({error.field for error in exc.errors}))
            raise DeliveryError(
                f"the FA(3) file cannot be written yet ({fields or exc})", retry_after=300.0
            ) from exc
        invoice_hash = sha256_base64(xml)
        offline = submission.mode is KsefMode.OFFLINE or submission.state is KsefState.OFFLINE
        marker_key = f"{INFLIGHT_PREFIX}{document_id}"
        try:
            tokens, session = self.connections.session(client_id, connection, credentials)
            marker = self.port.client_state(client_id, marker_key)
            if isinstance(marker, dict) and marker.get("hash") == invoice_hash:
                found = self._find_sent(connection, tokens, client_id, invoice_hash, marker)
                if found is not None:
                    session_reference, invoice_reference = found
                    self.port.mark_sent(
                        document_id,
                        invoice_hash=invoice_hash,
                        session_reference=session_reference,
                        invoice_reference=invoice_reference,
                    )
                    self.port.set_client_state(client_id, marker_key, None)
                    raise DeliveryError(
                        "found in KSeF after an interrupted send; waiting for its status",
                        retry_after=self.settings.poll_seconds,
                    )
            self._pace(client_id, document_id)
            self.port.set_client_state(
                client_id,
                marker_key,
                {"hash": invoice_hash, "session": session.reference_number},
            )
            sent = connection.client.send_invoice(
                tokens,
                session,
                xml,
                offline=offline,
                # A rejected offline invoice issued again: its technical correction.
                hash_of_corrected=submission.corrected_hash,
            )
            self.connections.sent(connection, client_id)
        except KsefUnavailable as exc:
            return self._unavailable(submission, xml, credentials, exc)
        except KsefRateLimited as exc:
            # Waiting out KSeF's limit (several worker processes may meet it together) never
            # uses up the message's attempts.
            raise DeliveryError(
                str(exc), retry_after=exc.retry_after or 60.0, deferred=True
            ) from exc
        except KsefAuthError as exc:
            raise self._auth_failed(client_id, exc, cached=cached) from exc
        except KsefError as exc:
            # A synchronous 400 about the envelope: the session is closed or unusable (21180,
            # 21173), or the file was refused before processing. A new session next time.
            self.connections.forget_session(client_id)
            self.port.set_client_state(client_id, marker_key, None)
            self.port.record_attempt(document_id, error=str(exc))
            self.note_error(client_id, str(exc))
            raise DeliveryError(str(exc), retry_after=self.settings.poll_seconds) from exc
        self.port.mark_sent(
            document_id,
            invoice_hash=sent.invoice_hash,
            session_reference=session.reference_number,
            invoice_reference=sent.invoice_reference,
        )
        self.port.set_client_state(client_id, marker_key, None)
        self.note_error(client_id, None)
        raise DeliveryError(
            "sent to KSeF; waiting for its status", retry_after=self.settings.poll_seconds
        )

    def _auth_failed(self, client_id: int, exc: KsefAuthError, *, cached: bool) -> DeliveryError:
        """KSeF refused the tokens: drop them. Cached tokens may just have been revoked or
        expired early, so the next attempt (authenticating afresh) comes soon; a fresh
        authentication that failed means the credentials are wrong: staff must act, and the
        settings page says why."""
        self.connections.forget(client_id)
        if cached:
            return DeliveryError(str(exc), retry_after=self.settings.poll_seconds)
        self.note_error(client_id, str(exc))
        return DeliveryError(str(exc), retry_after=600.0)

    def _find_sent(
        self,
        connection: Connection,
        tokens: AccessTokens,
        client_id: int,
        invoice_hash: str,
        marker: dict[str, Any],
    ) -> tuple[str, str] | None:
        """The (session, invoice) references of an earlier send of ``invoice_hash``: the
        marker's session first, then the client's other recent sessions."""
        sessions = [str(marker.get("session") or "")]
        sessions += [
            ref for ref in self.connections.session_references(client_id) if ref not in sessions
        ]
        for reference in (ref for ref in sessions if ref):
            try:
                found = connection.client.find_session_invoice(tokens, reference, invoice_hash)
            except (KsefUnavailable, KsefRateLimited):
                raise
            except KsefError:
                continue  # an expired or unknown session holds nothing of ours
            if found is not None:
                return reference, found.invoice_reference
        return None

    def _pace(self, client_id: int, document_id: int | None = None) -> None:
        with self._lock:
            window = self._windows.setdefault(client_id, SendWindow())
            try:
                window.take(self._monotonic(), document_id)
            except Paced as paced:
                # An ordinary retry, not a deferred one: deferring it was measured to cost 10
                # of the 170 sends of a fully loaded hour (`python -m bench ksef`, 0.889 vs
                # 0.944); the slot already keeps a paced message from coming back often.
                raise DeliveryError(str(paced), retry_after=max(paced.wait, 0.1)) from None

    def _unavailable(
        self,
        submission: KsefSubmission,
        xml: bytes,
        credentials: Credentials,
        exc: KsefUnavailable,
    ) -> KsefSubmission:
        """KSeF did not answer: count the attempt; an online invoice goes offline24 after
        ``offline_after`` attempts, and the recovery pass sends it later."""
        document_id, client_id = submission.document_id, submission.client_id
        self.note_error(client_id, str(exc))
        self.connections.forget_session(client_id)
        stored = self.port.record_attempt(document_id, error=str(exc))
        announced = self.announced_outage(client_id)
        reason = f"KSeF unavailable: {exc}"
        if announced is not None:
            reason += f" (announced in Latarnia: {announced[1]})"
        if submission.mode is KsefMode.OFFLINE:
            # Already valid offline; the recovery pass re-queues it. An outage announced while
            # it waits moves it into that mode (and its deadline after the outage's end).
            if announced is not None:
                return self.port.mark_offline(document_id, reason=reason, offline_mode=announced[0])
            return stored
        if announced is None and stored.attempts < self.settings.offline_after:
            raise DeliveryError(str(exc), retry_after=exc.retry_after or 60.0) from exc
        return self.port.mark_offline(
            document_id,
            reason=reason,
            verification=self.offline_codes(client_id, xml, credentials),
            offline_mode=announced[0] if announced is not None else KsefOfflineMode.OFFLINE24,
        )

    def latarnia_url(self, client_id: int) -> str | None:
        """The client's Latarnia: the environment's, or the configured base URL's root (the
        emulator serves ``/status`` there); ``None`` where there is none (DEMO)."""
        if self.settings.base_url:
            return self.settings.base_url.removesuffix("/v2")
        return Environment(self.environment(client_id)).latarnia_url

    def announced_outage(self, client_id: int) -> tuple[KsefOfflineMode, str] | None:
        """The outage Latarnia announces for the client's KSeF and the offline mode it means
        (``MAINTENANCE``: unavailability, art. 106nh; ``FAILURE``/``TOTAL_FAILURE``: the
        emergency mode, art. 106nf), read at most once every ``LATARNIA_SECONDS`` per address;
        ``None`` when none is, or Latarnia does not answer.

        Only asked once the API itself failed: an announcement confirms the outage, so the
        invoice goes into the offline mode at once instead of after ``offline_after`` attempts.
        Latarnia alone never makes an invoice offline (it was wrong for months, §11).
        """
        url = self.latarnia_url(client_id)
        if url is None:
            return None
        now = self._monotonic()
        with self._lock:
            cached = self._latarnia.get(url)
        if cached is not None and now - cached[0] < LATARNIA_SECONDS:
            return cached[1]
        client = self.connections.new_client(url)
        announced: tuple[KsefOfflineMode, str] | None = None
        try:
            status = client.latarnia_status(url)
            mode = OUTAGE_MODES.get(status.status)
            if mode is not None:
                text = "; ".join(
                    f"{status.status} #{event}: {title}" for event, title in status.announcements
                )
                announced = (mode, text or status.status)
        except KsefError:
            announced = None
        finally:
            client.close()
        with self._lock:
            self._latarnia[url] = (now, announced)
        return announced

    def offline_codes(
        self, client_id: int, xml: bytes, credentials: Credentials
    ) -> tuple[VerificationCode, ...]:
        """KOD I labelled OFFLINE and, with a certificate, KOD II labelled CERTYFIKAT (§10)."""
        nip, issued = invoice_facts(xml)
        base = self.qr_base(client_id)
        codes = [
            VerificationCode(
                url=qr.invoice_verification_url(base, nip, issued, xml),
                label=qr.OFFLINE_LABEL,
                kind="invoice",
            )
        ]
        if isinstance(credentials, CertificateCredentials):
            certificate, key = load_signing_material(
                credentials.certificate_pem, credentials.private_key_pem, credentials.password
            )
            codes.append(
                VerificationCode(
                    url=qr.certificate_verification_url(
                        base,
                        seller_nip=nip,
                        context_value=credentials.context_nip,
                        certificate=certificate,
                        private_key=key,
                        invoice_xml=xml,
                    ),
                    label=qr.CERTIFICATE_LABEL,
                    kind="certificate",
                )
            )
        return tuple(codes)

    def poll(self, submission: KsefSubmission) -> KsefSubmission:
        """Read a sent invoice's status once and store what it says."""
        document_id, client_id = submission.document_id, submission.client_id
        assert submission.session_reference and submission.invoice_reference
        connection, credentials = self.open(client_id)
        cached = connection.tokens is not None
        try:
            tokens = self.connections.tokens(connection, credentials)
            status = connection.client.invoice_status(
                tokens, submission.session_reference, submission.invoice_reference
            )
            if status.pending:
                raise DeliveryError(
                    f"KSeF is processing it ({status.code})",
                    retry_after=self.settings.poll_seconds,
                )
            if status.accepted:
                upo = connection.client.invoice_upo(
                    tokens, submission.session_reference, submission.invoice_reference
                )
                return self._accepted(submission, status, upo)
        except KsefUnavailable as exc:
            self.note_error(client_id, str(exc))
            raise DeliveryError(str(exc), retry_after=exc.retry_after or 60.0) from exc
        except KsefRateLimited as exc:
            # Waiting out KSeF's limit (several worker processes may meet it together) never
            # uses up the message's attempts.
            raise DeliveryError(
                str(exc), retry_after=exc.retry_after or 60.0, deferred=True
            ) from exc
        except KsefAuthError as exc:
            raise self._auth_failed(client_id, exc, cached=cached) from exc
        details = status.details
        if status.code == DUPLICATE and status.original_ksef_number:
            # The same seller, type and number is already in KSeF: say under which number, so
            # staff can record it (a manual KSeF number) when that invoice is this one.
            details = (*details, f"KSeF: {status.original_ksef_number}")
        return self.port.mark_rejected(
            document_id, code=status.code, description=status.description, details=details
        )

    def _accepted(
        self, submission: KsefSubmission, status: InvoiceStatus, upo: bytes
    ) -> KsefSubmission:
        assert status.ksef_number
        xml = self.port.fa3_xml(submission.document_id)
        nip, issued = invoice_facts(xml)
        code = VerificationCode(
            url=qr.invoice_verification_url(self.qr_base(submission.client_id), nip, issued, xml),
            label=status.ksef_number,
            kind="invoice",
        )
        # An offline invoice keeps its KOD II (it was printed with it); KOD I now carries the
        # KSeF number.
        keep = tuple(c for c in submission.verification if c.kind == "certificate")
        return self.port.mark_accepted(
            submission.document_id,
            ksef_number=status.ksef_number,
            acquired_at=status.acquisition_date or self.port.now(),
            upo=upo,
            verification=(code, *keep),
        )

    # -- periodic passes ----------------------------------------------------------------------

    def periodic_tasks(self) -> list[PeriodicTask[Any]]:
        """Status polls of invoices whose messages gave up, recovery after an outage, and the
        plugin's other passes (receiving, connection checks)."""
        return [
            PeriodicTask(
                name="ksef.poll",
                interval_seconds=max(self.settings.poll_seconds * 6, 30.0),
                run=lambda sender: sender.poll_pass(),
            ),
            PeriodicTask(
                name="ksef.sessions",
                interval_seconds=SESSION_CHECK_SECONDS,
                run=lambda sender: sender.connections.close_idle(
                    SESSION_IDLE, lease=sender._try_lease
                ),
            ),
            PeriodicTask(
                name="ksef.recover",
                interval_seconds=self.settings.offline_seconds,
                run=lambda sender: sender.recovery_pass(),
            ),
            *self.extra_tasks,
        ]

    def poll_pass(self, *, limit: int = 100) -> int:
        """Poll sent invoices (their messages may have run out of attempts); how many moved."""
        moved = 0
        for submission in self.port.submissions(states=[KsefState.SENT], limit=limit):
            try:
                after = self.poll(submission)
            except DeliveryError:
                continue
            except Exception:
                log.exception("ksef: polling document %s failed", submission.document_id)
                continue
            moved += after.state is not KsefState.SENT
        return moved

    def recovery_pass(self, *, limit: int = 500) -> list[int]:
        """Re-queue offline invoices, and queued ones whose messages gave up, once their
        client's KSeF answers; the documents re-queued, oldest first (the nearest deadline).

        A document is re-queued at most once per :data:`REQUEUE_EVERY` (its new message is
        then tried with the outbox's backoff), so a client whose sends keep failing for
        another reason (its credentials) does not pile up messages."""
        now = self.port.now()
        recent = {
            int(key): at
            for key, at in (self.port.state(REQUEUED_KEY, {}) or {}).items()
            if isinstance(at, str) and datetime.fromisoformat(at) > now - REQUEUE_EVERY
        }
        requeued: list[int] = []
        reachable: dict[str, bool] = {}
        stale_before = now - timedelta(hours=1)
        waiting = self.port.submissions(states=[KsefState.OFFLINE, KsefState.QUEUED], limit=limit)
        for submission in waiting:
            if submission.document_id in recent:
                continue
            if submission.state is KsefState.QUEUED and (
                submission.queued_at is None or submission.queued_at > stale_before
            ):
                continue  # its own message is still being tried
            if self.vault.info(submission.client_id) is None:
                continue  # nothing can be sent before staff enter the credentials
            base = self.base_url(submission.client_id)
            if base not in reachable:
                reachable[base] = self._reachable(base)
            if not reachable[base]:
                continue
            if (
                submission.state is KsefState.OFFLINE
                and submission.send_by is None
                and submission.offline_mode is not None
            ):
                # The announced outage is over: its end starts the invoice's deadline.
                self.port.mark_offline(
                    submission.document_id,
                    reason="the announced outage ended",
                    offline_mode=submission.offline_mode,
                    ended=now.date(),
                )
            self.port.requeue(submission.document_id, reason="KSeF is reachable again")
            requeued.append(submission.document_id)
            recent[submission.document_id] = now.isoformat()
        if requeued:
            self.port.set_state(REQUEUED_KEY, {str(k): v for k, v in recent.items()})
        return requeued

    def _reachable(self, base_url: str) -> bool:
        """Whether KSeF at ``base_url`` answers (its public keys: no authentication, 60/s)."""
        try:
            if self._probe is not None:
                self._probe(base_url)
            else:
                probe = self.connections.new_client(base_url)
                try:
                    probe.public_keys()
                finally:
                    probe.close()
        except KsefError:
            return False
        return True

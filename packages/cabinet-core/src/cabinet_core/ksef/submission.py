"""A document's way through KSeF: its submission state, kept by the core, moved by the plugin.

One :class:`KsefSubmission` per document whose type has a ``ksef_kind``, created when it is issued
for a client with KSeF switched on (see ``docs/plugins/ksef.md``). The core never talks to KSeF:
the KSeF plugin moves the state through :class:`cabinet_core.ksef.port.KsefPort`, and every move
is written into the document's history (audit actions ``ksef.*``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import attrs

__all__ = [
    "OPEN_STATES",
    "TECHNICAL_CORRECTION_REFUSED",
    "KsefListItem",
    "KsefMode",
    "KsefOfflineMode",
    "KsefState",
    "KsefSubmission",
    "VerificationCode",
]


class KsefState(enum.StrEnum):
    """Where a document stands in KSeF."""

    #: Issued; the ``ksef.send`` message waits for the worker.
    QUEUED = "queued"
    #: KSeF took the file; its status is being polled.
    SENT = "sent"
    #: KSeF accepted it and gave it a KSeF number.
    ACCEPTED = "accepted"
    #: KSeF refused it; the document went back to be fixed.
    REJECTED = "rejected"
    #: Issued in offline24 mode; to be sent by the next business day.
    OFFLINE = "offline"


class KsefMode(enum.StrEnum):
    """How the invoice reached (or is to reach) KSeF."""

    ONLINE = "online"
    OFFLINE = "offline"
    #: Uploaded by hand outside the cabinet; a user typed its KSeF number.
    MANUAL = "manual"


class KsefOfflineMode(enum.StrEnum):
    """Why an invoice was issued outside KSeF, which decides when it must reach KSeF
    (ksef-api.md §11; each is sent later with ``offlineMode: true`` and both QR codes)."""

    #: The taxpayer's own choice (KSeF unreachable, nothing announced): by the next business
    #: day after the issue date (art. 106nda).
    OFFLINE24 = "offline24"
    #: KSeF unavailable, announced (BIP, Latarnia ``MAINTENANCE``): by the next business day
    #: after the unavailability ends (art. 106nh).
    UNAVAILABILITY = "unavailability"
    #: A failure KSeF announced (tryb awaryjny, Latarnia ``FAILURE``/``TOTAL_FAILURE``):
    #: within 7 business days after it ends (art. 106nf); an announcement while an invoice
    #: waits moves its deadline there.
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """A later announcement only ever moves an invoice up this order (never back)."""
        return list(KsefOfflineMode).index(self)

    def send_by(self, issued: date, ended: date | None) -> date | None:
        """The last day the invoice may reach KSeF: from the issue date for offline24, from
        the day the announced outage ``ended`` otherwise (``None`` while it lasts)."""
        from cabinet_core.fx import is_business_day

        if self is KsefOfflineMode.OFFLINE24:
            start, days = issued, 1
        elif ended is None:
            return None
        else:
            start, days = ended, 1 if self is KsefOfflineMode.UNAVAILABILITY else 7
        day = start
        while days:
            day += timedelta(days=1)
            if is_business_day(day):
                days -= 1
        return day


#: KSeF's status codes after which a rejected offline invoice may not be technically corrected:
#: a permission problem (410) is not technical (offline/korekta-techniczna.md).
TECHNICAL_CORRECTION_REFUSED = frozenset({410})


#: The states the staff list shows by default: everything not yet settled.
OPEN_STATES: tuple[KsefState, ...] = (
    KsefState.REJECTED,
    KsefState.QUEUED,
    KsefState.SENT,
    KsefState.OFFLINE,
)


@attrs.frozen(kw_only=True)
class VerificationCode:
    """One verification QR code printed on the invoice: ``url`` is what the code encodes,
    ``label`` what is printed under it (the KSeF number, or ``OFFLINE``/``CERTYFIKAT``).

    The KSeF plugin computes both (KOD I: seller's NIP, issue date, invoice hash; KOD II: the
    certificate) and hands them to the port; the core only stores and prints them."""

    url: str
    label: str
    #: ``invoice`` (KOD I) or ``certificate`` (KOD II, offline mode).
    kind: str = "invoice"


@attrs.frozen(kw_only=True)
class KsefSubmission:
    """The KSeF state of one document (table ``ksef_submissions``).

    ``upo`` bytes are not part of the entity (read them with ``upo(document_id)``): lists of
    submissions never carry them; ``has_upo`` says whether one is stored."""

    document_id: int
    client_id: int
    state: KsefState
    mode: KsefMode = KsefMode.ONLINE
    invoice_hash: str | None = None
    session_reference: str | None = None
    invoice_reference: str | None = None
    ksef_number: str | None = None
    acquired_at: datetime | None = None
    has_upo: bool = False
    error_code: int | None = None
    error_description: str = ""
    error_details: tuple[str, ...] = ()
    attempts: int = 0
    verification: tuple[VerificationCode, ...] = ()
    queued_at: datetime | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    #: Why it was issued outside KSeF (``mode`` offline); ``None`` for an online invoice.
    offline_mode: KsefOfflineMode | None = None
    #: The last day it may reach KSeF (offline; ``None`` while an announced outage lasts).
    send_by: date | None = None
    #: The hash of the rejected offline invoice this one technically corrects (KSeF's
    #: ``hashOfCorrectedInvoice``); ``None`` for an ordinary send.
    corrected_hash: str | None = None

    @property
    def technical_correction_possible(self) -> bool:
        """Rejected after it was issued offline (in circulation with its QR codes) for a
        technical reason: issued again, it goes as a technical correction of that file."""
        return (
            self.state is KsefState.REJECTED
            and self.mode is KsefMode.OFFLINE
            and bool(self.corrected_hash or self.invoice_hash)
            and self.error_code not in TECHNICAL_CORRECTION_REFUSED
        )


@attrs.frozen(kw_only=True)
class KsefListItem:
    """A row of the staff list: the submission with what identifies its document."""

    submission: KsefSubmission
    number: str | None
    doc_type: str
    status: str
    issue_date: date
    client_name: str
    buyer_name: str

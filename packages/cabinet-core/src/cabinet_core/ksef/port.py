"""The KSeF port: all the KSeF plugin may ask of the cabinet (``docs/plugins/ksef.md``).

The plugin gets it with ``cabinet.ksef_port()``. Reads are system reads; every write is one
transaction with its audit entry in the document's history (actor: none, ``source: "ksef"``),
and runs the effects the document's type declares for the KSeF event (the buyer's e-mail after
acceptance, the move back to be fixed after a rejection). The plugin never touches the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.entities import Client, Document
    from cabinet_core.ksef.submission import (
        KsefOfflineMode,
        KsefState,
        KsefSubmission,
        VerificationCode,
    )

__all__ = ["KsefPort"]


@runtime_checkable
class KsefPort(Protocol):
    """See ``docs/plugins/ksef.md`` for each method's contract."""

    @property
    def name(self) -> str:
        """``"ksef"``: the ``source`` of the port's audit entries."""
        ...

    def now(self) -> datetime:
        """The cabinet's clock (aware UTC)."""
        ...

    # -- documents --------------------------------------------------------------------------
    def document(self, document_id: int) -> Document | None: ...
    def document_type(self, key: str) -> DocumentType | None: ...
    def fa3_xml(self, document_id: int) -> bytes:
        """The document's FA(3) file (the one exporter; a correction names its original's KSeF
        number); :class:`~cabinet_core.errors.ValidationError` when it cannot be written yet,
        :class:`~cabinet_core.errors.NotFound` for no such document."""
        ...

    def submission(self, document_id: int) -> KsefSubmission | None: ...
    def submissions(
        self,
        *,
        states: Iterable[KsefState],
        client_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[KsefSubmission]:
        """Submissions in ``states``, least recently changed first."""
        ...

    def upo(self, document_id: int) -> bytes | None: ...

    # -- the document's way through KSeF -----------------------------------------------------
    def mark_sent(
        self,
        document_id: int,
        *,
        invoice_hash: str,
        session_reference: str,
        invoice_reference: str,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission: ...

    def mark_accepted(
        self,
        document_id: int,
        *,
        ksef_number: str,
        acquired_at: datetime,
        upo: bytes | None = None,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission: ...

    def store_upo(self, document_id: int, upo: bytes) -> KsefSubmission: ...

    def mark_rejected(
        self, document_id: int, *, code: int, description: str, details: Sequence[str] = ()
    ) -> KsefSubmission: ...

    def mark_offline(
        self,
        document_id: int,
        *,
        reason: str,
        verification: Sequence[VerificationCode] = (),
        offline_mode: KsefOfflineMode = ...,  # KsefOfflineMode.OFFLINE24
        ended: date | None = None,
    ) -> KsefSubmission:
        """Issued in an offline mode (or, reported again, moved to a more serious one / given
        the day an announced outage ended): the core computes the deadline ``send_by``."""
        ...

    def record_attempt(self, document_id: int, *, error: str) -> KsefSubmission: ...

    def requeue(self, document_id: int, *, reason: str) -> None: ...

    # -- purchases ---------------------------------------------------------------------------
    def import_purchase(
        self,
        client_id: int,
        xml: bytes,
        *,
        ksef_number: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[Document, bool]: ...

    def known_ksef_numbers(self, client_id: int, numbers: Iterable[str]) -> frozenset[str]: ...

    # -- clients and settings ----------------------------------------------------------------
    def client(self, client_id: int) -> Client | None: ...
    def clients_with_ksef(self) -> Sequence[Client]: ...
    def enabled(self, client_id: int) -> bool: ...
    def set_enabled(self, client_id: int, enabled: bool) -> None: ...
    def lease(self, client_id: int, holder: str, seconds: float) -> bool:
        """Take or renew the client's lease for ``holder`` for ``seconds``; whether it is
        ``holder``'s (one worker process at a time works for a client in KSeF)."""
        ...

    def release(self, client_id: int, holder: str) -> None: ...
    def client_state(self, client_id: int, key: str, default: Any = None) -> Any: ...
    def set_client_state(
        self, client_id: int, key: str, value: Any, *, secret: bool = False
    ) -> None: ...
    def state(self, key: str, default: Any = None) -> Any: ...
    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None: ...

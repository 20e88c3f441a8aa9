"""The cabinet's side of the KSeF seam: :class:`CabinetKsefPort` (``cabinet.ksef_port()``).

Reads are system reads, one short read-only transaction each; writes go through
``cabinet.ksef`` (the document's KSeF state, with its audit entry and the type's effects) and
``cabinet.invoicing`` (a received purchase invoice), so they keep their audit entries,
notifications and event hooks. The plugin's own values live in the settings table under
``ksef.<key>`` and, per client, ``ksef.client.<client_id>.<key>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cabinet_core.converter import json_value
from cabinet_core.entities import Actor, AuditEntry, Client, Document
from cabinet_core.errors import N_, NotFound, ValidationError
from cabinet_core.ksef.numbers import canonical_ksef_number
from cabinet_core.ksef.submission import (
    KsefOfflineMode,
    KsefState,
    KsefSubmission,
    VerificationCode,
)
from cabinet_core.sync import KSEF_SUBSCRIBER

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.doctypes import DocumentType

__all__ = ["CabinetKsefPort", "client_key"]


def client_key(client_id: int, key: str) -> str:
    """The settings key of the plugin's value ``key`` for one client."""
    return f"{KSEF_SUBSCRIBER}.client.{client_id}.{key}"


class CabinetKsefPort:
    """The :class:`~cabinet_core.ksef.port.KsefPort` of a cabinet."""

    def __init__(self, cabinet: Cabinet) -> None:
        self._cabinet = cabinet

    def __repr__(self) -> str:
        return "CabinetKsefPort()"

    @property
    def name(self) -> str:
        """``"ksef"``."""
        return KSEF_SUBSCRIBER

    def now(self) -> datetime:
        """The store's clock."""
        return self._cabinet.store.clock()

    # -- documents --------------------------------------------------------------------------
    def document(self, document_id: int) -> Document | None:
        """The document with its lines, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_document(document_id)

    def document_type(self, key: str) -> DocumentType | None:
        """A registered document type, or ``None``."""
        return self._cabinet.document_types.get(key)

    def fa3_xml(self, document_id: int) -> bytes:
        """The document's FA(3) file as the PDF embeds it and the download gives it."""
        from cabinet_core.printing import view_of

        with self._cabinet.store.transaction(readonly=True) as tx:
            document = tx.get_document(document_id)
            client = tx.get_client(document.client_id) if document is not None else None
        if document is None or client is None:
            raise NotFound(N_("Not found"), entity="document", id=document_id)
        view = view_of(self._cabinet, document, client)
        if view.fa3 is None:
            if view.fa3_errors:
                raise ValidationError(list(view.fa3_errors))
            raise ValidationError.single(
                "doc_type", "not_ksef", N_("This document does not go to KSeF.")
            )
        return view.fa3.content

    def submission(self, document_id: int) -> KsefSubmission | None:
        """The document's KSeF state, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.ksef.get(document_id)

    def submissions(
        self,
        *,
        states: Iterable[KsefState],
        client_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[KsefSubmission]:
        """Submissions in ``states``, least recently changed first."""
        return self._cabinet.ksef.waiting(
            frozenset(KsefState(s) for s in states), client_id=client_id, limit=limit
        )

    def upo(self, document_id: int) -> bytes | None:
        """The stored UPO, or ``None``."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.ksef.upo(document_id)

    # -- the document's way through KSeF (cabinet.ksef) --------------------------------------
    def mark_sent(
        self,
        document_id: int,
        *,
        invoice_hash: str,
        session_reference: str,
        invoice_reference: str,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission:
        return self._cabinet.ksef.mark_sent(
            document_id,
            invoice_hash=invoice_hash,
            session_reference=session_reference,
            invoice_reference=invoice_reference,
            verification=verification,
        )

    def mark_accepted(
        self,
        document_id: int,
        *,
        ksef_number: str,
        acquired_at: datetime,
        upo: bytes | None = None,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission:
        return self._cabinet.ksef.mark_accepted(
            document_id,
            ksef_number=ksef_number,
            acquired_at=acquired_at,
            upo=upo,
            verification=verification,
        )

    def store_upo(self, document_id: int, upo: bytes) -> KsefSubmission:
        return self._cabinet.ksef.store_upo(document_id, upo)

    def mark_rejected(
        self, document_id: int, *, code: int, description: str, details: Sequence[str] = ()
    ) -> KsefSubmission:
        return self._cabinet.ksef.mark_rejected(
            document_id, code=code, description=description, details=details
        )

    def mark_offline(
        self,
        document_id: int,
        *,
        reason: str,
        verification: Sequence[VerificationCode] = (),
        offline_mode: KsefOfflineMode = KsefOfflineMode.OFFLINE24,
        ended: date | None = None,
    ) -> KsefSubmission:
        return self._cabinet.ksef.mark_offline(
            document_id,
            reason=reason,
            verification=verification,
            offline_mode=offline_mode,
            ended=ended,
        )

    def record_attempt(self, document_id: int, *, error: str) -> KsefSubmission:
        return self._cabinet.ksef.record_attempt(document_id, error=error)

    def requeue(self, document_id: int, *, reason: str) -> None:
        self._cabinet.ksef.requeue(document_id, reason=reason)

    # -- purchases ---------------------------------------------------------------------------
    def import_purchase(
        self,
        client_id: int,
        xml: bytes,
        *,
        ksef_number: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[Document, bool]:
        """A purchase invoice received from KSeF as a cost-invoice draft awaiting the client's
        classification (the FA(3) import: the seller's stated PLN VAT kept); ``(document,
        False)`` when this KSeF number was imported already. Invalid files →
        :class:`ValidationError`, nothing saved. One worker imports a client at a time."""
        number = canonical_ksef_number(ksef_number)
        if number is None:
            raise ValueError(f"not a KSeF number: {ksef_number!r}")
        store = self._cabinet.store
        with store.transaction(readonly=True) as tx:
            known = tx.ksef.received_document(client_id, number)
            existing = tx.get_document(known) if known is not None else None
        if existing is not None:
            return existing, False
        result = self._cabinet.invoicing.import_fa3(
            Actor.system(), client_id, xml, filename=f"{number}.xml", ksef_number=number
        )
        document = result.document
        assert document.id is not None
        with store.transaction() as tx:
            if tx.ksef.received_document(client_id, number) is None:
                tx.ksef.add_received(client_id, number, document.id)
            tx.add_audit(
                AuditEntry(
                    at=self.now(),
                    actor_id=None,
                    client_id=client_id,
                    action="ksef.received",
                    entity="document",
                    entity_id=document.id,
                    detail={
                        "source": KSEF_SUBSCRIBER,
                        "ksef_number": number,
                        "metadata": json_value(dict(metadata or {})),
                    },
                )
            )
        return document, True

    def known_ksef_numbers(self, client_id: int, numbers: Iterable[str]) -> frozenset[str]:
        """Which of ``numbers`` the client already received from KSeF."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.ksef.known_numbers(client_id, numbers)

    # -- clients and settings ----------------------------------------------------------------
    def client(self, client_id: int) -> Client | None:
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_client(client_id)

    def clients_with_ksef(self) -> Sequence[Client]:
        """The clients with KSeF switched on, in id order."""
        with self._cabinet.store.transaction(readonly=True) as tx:
            found = (tx.get_client(client_id) for client_id in tx.ksef.enabled_client_ids())
            return [client for client in found if client is not None]

    def enabled(self, client_id: int) -> bool:
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.ksef.enabled(client_id)

    def set_enabled(self, client_id: int, enabled: bool) -> None:
        self._cabinet.ksef.set_enabled(client_id, enabled)

    def lease(self, client_id: int, holder: str, seconds: float) -> bool:
        """Take or renew the client's lease for ``holder`` (a worker process) for ``seconds``;
        whether ``holder`` has it now. While one holder has it, no other may send for the
        client nor use its online session (several ``cabinet worker`` processes)."""
        from datetime import timedelta

        with self._cabinet.store.transaction() as tx:
            return tx.ksef.take_lease(client_id, holder, self.now() + timedelta(seconds=seconds))

    def release(self, client_id: int, holder: str) -> None:
        """Give the client's lease up (no-op unless ``holder`` has it)."""
        with self._cabinet.store.transaction() as tx:
            tx.ksef.release_lease(client_id, holder)

    def client_state(self, client_id: int, key: str, default: Any = None) -> Any:
        return self.state(f"client.{client_id}.{key}", default)

    def set_client_state(
        self, client_id: int, key: str, value: Any, *, secret: bool = False
    ) -> None:
        self._set(client_key(client_id, key), value, secret=secret, client_id=client_id)

    def state(self, key: str, default: Any = None) -> Any:
        with self._cabinet.store.transaction(readonly=True) as tx:
            return tx.get_setting(f"{KSEF_SUBSCRIBER}.{key}", default)

    def set_state(self, key: str, value: Any, *, secret: bool = False) -> None:
        self._set(f"{KSEF_SUBSCRIBER}.{key}", value, secret=secret, client_id=None)

    def _set(self, key: str, value: Any, *, secret: bool, client_id: int | None) -> None:
        """Store ``value`` under ``key``, audited; a secret's value never
        reaches the audit trail."""
        stored = json_value(value)
        with self._cabinet.store.transaction() as tx:
            old = tx.get_setting(key)
            if old == stored:
                return
            tx.set_setting(key, stored)
            detail: dict[str, Any] = (
                {"key": key, "secret": True} if secret else {"key": key, "old": old, "new": stored}
            )
            tx.add_audit(
                AuditEntry(
                    at=self.now(),
                    actor_id=None,
                    client_id=client_id,
                    action="settings.set",
                    entity="setting",
                    entity_id=None,
                    detail={"source": KSEF_SUBSCRIBER, **detail},
                )
            )

"""``cabinet.ksef``: where each document stands in KSeF, for people and for the KSeF plugin.

People (pages, JSON API) read a document's KSeF state, download its UPO, list what KSeF rejected
or still holds across the clients they may see, and record the KSeF number of an invoice
uploaded by hand. The KSeF plugin moves a document's state through
:class:`~cabinet_core.services.ksef_port.CabinetKsefPort`, which calls the system methods here
(``mark_*``). Every change is one transaction with its audit entry on the document, and runs
the effects the document's type declares for the KSeF event
(:mod:`cabinet_core.doctypes.ksef_effects`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.doctypes.effects import KSEF_ACCEPTED, KSEF_OFFLINE, KSEF_REJECTED
from cabinet_core.entities import Actor, Document, Notification
from cabinet_core.errors import N_, Conflict, NotFound, ValidationError
from cabinet_core.ksef.numbers import canonical_ksef_number
from cabinet_core.ksef.submission import (
    OPEN_STATES,
    KsefListItem,
    KsefMode,
    KsefOfflineMode,
    KsefState,
    KsefSubmission,
    VerificationCode,
)
from cabinet_core.services._base import Service
from cabinet_core.storage import Page, Tx
from cabinet_core.sync import KSEF_SUBSCRIBER, KsefSendRequest, Topic

__all__ = ["MAX_LIST", "KsefOverview", "KsefService"]

#: The most rows one page of the KSeF list holds.
MAX_LIST = 200
#: What a description or a detail KSeF sent is cut to (a misbehaving answer stays bounded).
_MAX_TEXT = 2000

Update = Callable[[KsefSubmission | None, Document], KsefSubmission | None]


@attrs.frozen(kw_only=True)
class KsefOverview:
    """What a document page says about KSeF.

    ``applies``: the document is of a type that goes to KSeF and is numbered; ``enabled``: its
    client uses KSeF; ``submission``: where it stands (``None``: never sent to KSeF)."""

    applies: bool
    enabled: bool
    submission: KsefSubmission | None

    @property
    def not_sent(self) -> bool:
        """An invoice that should be in KSeF and is not: the page says so plainly."""
        return self.applies and self.submission is None


class KsefService(Service):
    """``cabinet.ksef``; see the module docstring."""

    # -- reads for people --------------------------------------------------------------------
    def _document(self, tx: Tx, actor: Actor, document_id: int, *, write: bool) -> Document:
        document = tx.get_document(document_id)
        if document is None:
            raise NotFound(N_("Not found"), entity="document", id=document_id)
        try:
            access.client_for(tx, actor, document.client_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="document", id=document_id) from None
        return document

    def _kind(self, document: Document) -> str | None:
        document_type = self.cabinet.document_types.get(document.doc_type)
        return document_type.ksef_kind if document_type is not None else None

    def overview(self, actor: Actor, document_id: int) -> KsefOverview:
        """The document's KSeF state as its page shows it."""
        with self.store.transaction(readonly=True) as tx:
            document = self._document(tx, actor, document_id, write=False)
            return KsefOverview(
                applies=self._kind(document) is not None and document.number is not None,
                enabled=tx.ksef.enabled(document.client_id),
                submission=tx.ksef.get(document_id),
            )

    def submission(self, actor: Actor, document_id: int) -> KsefSubmission | None:
        """The document's submission, or ``None``."""
        with self.store.transaction(readonly=True) as tx:
            self._document(tx, actor, document_id, write=False)
            return tx.ksef.get(document_id)

    def upo(self, actor: Actor, document_id: int) -> bytes:
        """The UPO (KSeF's official receipt) of an accepted document; :class:`NotFound` when
        none is stored."""
        with self.store.transaction(readonly=True) as tx:
            self._document(tx, actor, document_id, write=False)
            content = tx.ksef.upo(document_id)
        if content is None:
            raise NotFound(N_("No UPO is stored for this document"), document_id=document_id)
        return content

    def enabled(self, actor: Actor, client_id: int) -> bool:
        """Whether the client's invoices go to KSeF."""
        with self.store.transaction(readonly=True) as tx:
            access.client_for(tx, actor, client_id)
            return tx.ksef.enabled(client_id)

    def listing(
        self,
        actor: Actor,
        *,
        states: Iterable[KsefState | str] = OPEN_STATES,
        client_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[KsefListItem]:
        """The submissions in ``states`` across the clients ``actor`` may see (one client's with
        ``client_id``), most recently changed first. An unknown state → :class:`ValidationError`."""
        wanted = self._states(states)
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            client_ids = access.narrow_client_ids(
                visible, (client_id,) if client_id is not None else None
            )
            limit = max(1, min(limit, MAX_LIST))
            offset = max(0, offset)
            items, total = tx.ksef.listing(
                states=wanted, client_ids=client_ids, limit=limit, offset=offset
            )
        return Page(items=tuple(items), total=total, limit=limit, offset=offset)

    @staticmethod
    def _states(states: Iterable[KsefState | str]) -> tuple[KsefState, ...]:
        found: list[KsefState] = []
        for state in states:
            try:
                found.append(KsefState(state))
            except ValueError:
                raise ValidationError.single(
                    "state", "invalid", N_("Choose one of the KSeF states.")
                ) from None
        return tuple(dict.fromkeys(found)) or OPEN_STATES

    # -- a number typed by a person ------------------------------------------------------------
    def record_number(self, actor: Actor, document_id: int, ksef_number: str) -> KsefSubmission:
        """Record the KSeF number of an issued invoice the client uploaded to KSeF by hand.

        The number must match the official format (the OpenAPI ``KsefNumber`` pattern and its
        check digits) and start with the seller's NIP; the document must be an issued invoice
        of a type that goes to KSeF, not already accepted by KSeF through the cabinet, and the
        number must not be recorded on another document."""
        number = canonical_ksef_number(ksef_number or "")
        if number is None:
            raise ValidationError.single(
                "ksef_number",
                "invalid",
                N_("This is not a valid KSeF number (e.g. 5265877635-20250626-010080DD2B5E-26)."),
            )
        moved: builtins.list[tuple[Document, Document]] = []
        with self.store.transaction() as tx:
            document = self._document(tx, actor, document_id, write=True)
            document_type = self.cabinet.document_type(document.doc_type)
            if document_type.ksef_kind is None:
                raise Conflict(N_("This document does not go to KSeF"))
            if document.number is None or document_type.workflow.state(document.status).editable:
                raise Conflict(N_("Only an issued invoice can have a KSeF number"))
            seller_nip = self._seller_nip(tx, document)
            if seller_nip and not number.startswith(seller_nip):
                raise ValidationError.single(
                    "ksef_number",
                    "other_seller",
                    N_("This KSeF number belongs to another seller's invoice."),
                )
            other = tx.ksef.find_by_number(number)
            if other is not None and other.document_id != document_id:
                raise ValidationError.single(
                    "ksef_number",
                    "taken",
                    N_("This KSeF number is already recorded on another document."),
                )
            current = tx.ksef.get(document_id)
            if (
                current is not None
                and current.state is KsefState.ACCEPTED
                and current.mode is not KsefMode.MANUAL
            ):
                raise Conflict(N_("KSeF has already given this invoice its number"))
            stored = tx.ksef.put(
                KsefSubmission(
                    document_id=document_id,
                    client_id=document.client_id,
                    state=KsefState.ACCEPTED,
                    mode=KsefMode.MANUAL,
                    ksef_number=number,
                    attempts=current.attempts if current is not None else 0,
                    queued_at=current.queued_at if current is not None else None,
                    acquired_at=None,
                )
            )
            self.record(
                tx,
                actor,
                action="ksef.manual_number",
                entity="document",
                entity_id=document_id,
                client_id=document.client_id,
                detail={
                    "number": document.number,
                    "ksef_number": number,
                    "previous": current.ksef_number if current is not None else None,
                },
            )
        self.cabinet.documents.fire_moved(actor, moved)
        return stored

    @staticmethod
    def _seller_nip(tx: Tx, document: Document) -> str:
        if document.seller is not None and document.seller.nip:
            return document.seller.nip
        client = tx.get_client(document.client_id)
        return (client.nip or "") if client is not None else ""

    # -- the plugin's reports (through the KSeF port; system actor) ----------------------------
    def _change(
        self,
        document_id: int,
        update: Update,
        *,
        action: str,
        detail: Mapping[str, Any],
        event: str | None = None,
        context: Mapping[str, Any] | None = None,
        upo: bytes | None = None,
        after: Callable[[Tx, Document, KsefSubmission], None] | None = None,
    ) -> KsefSubmission:
        """One reported change: ``update`` gives the new submission (``None``: nothing to
        change, the report was a repeat), stored with its audit entry, the UPO, the type's
        effects of ``event`` and ``after``, in one transaction."""
        actor = Actor.system()
        moved: builtins.list[tuple[Document, Document]] = []
        with self.store.transaction() as tx:
            document = tx.get_document(document_id)
            if document is None:
                raise NotFound(N_("Not found"), entity="document", id=document_id)
            current = tx.ksef.get(document_id)
            changed = update(current, document)
            if changed is None:
                if current is None:
                    raise NotFound(N_("Not found"), entity="ksef_submission", id=document_id)
                return current
            stored = tx.ksef.put(changed)
            if upo is not None:
                tx.ksef.set_upo(document_id, upo)
                stored = attrs.evolve(stored, has_upo=True)
            self.record(
                tx,
                actor,
                action=action,
                entity="document",
                entity_id=document_id,
                client_id=document.client_id,
                detail={"source": KSEF_SUBSCRIBER, "number": document.number, **detail},
            )
            if event is not None:
                self.cabinet.documents.run_event_effects(
                    tx, actor, document, event, context or {}, moved
                )
            if after is not None:
                after(tx, document, stored)
        self.cabinet.documents.fire_moved(actor, moved)
        return stored

    @staticmethod
    def _base(current: KsefSubmission | None, document: Document) -> KsefSubmission:
        if current is not None:
            return current
        assert document.id is not None
        return KsefSubmission(
            document_id=document.id, client_id=document.client_id, state=KsefState.QUEUED
        )

    def mark_sent(
        self,
        document_id: int,
        *,
        invoice_hash: str,
        session_reference: str,
        invoice_reference: str,
        verification: Sequence[VerificationCode] = (),
    ) -> KsefSubmission:
        """KSeF took the file (HTTP 202); its status is to be polled. A report about an invoice
        already accepted changes nothing."""

        def update(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            if base.state is KsefState.ACCEPTED:
                return None
            if (
                base.state is KsefState.SENT
                and base.invoice_reference == invoice_reference
                and base.invoice_hash == invoice_hash
            ):
                return None
            return attrs.evolve(
                base,
                state=KsefState.SENT,
                invoice_hash=invoice_hash,
                session_reference=session_reference,
                invoice_reference=invoice_reference,
                sent_at=self.now(),
                attempts=base.attempts + 1,
                error_code=None,
                error_description="",
                error_details=(),
                verification=tuple(verification) or base.verification,
            )

        return self._change(
            document_id,
            update,
            action="ksef.sent",
            detail={
                "invoice_reference": invoice_reference,
                "session_reference": session_reference,
                "invoice_hash": invoice_hash,
            },
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
        """KSeF accepted the document: its number, acquisition time and UPO are stored, and the
        type's ``ksef.accepted`` effects run (the auto-send e-mail). The same number reported
        again changes nothing; a malformed number → :class:`ValueError`."""
        number = canonical_ksef_number(ksef_number)
        if number is None:
            raise ValueError(f"not a KSeF number: {ksef_number!r}")

        def update(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            if base.state is KsefState.ACCEPTED and base.ksef_number == number:
                return None
            return attrs.evolve(
                base,
                state=KsefState.ACCEPTED,
                ksef_number=number,
                acquired_at=acquired_at,
                error_code=None,
                error_description="",
                error_details=(),
                verification=tuple(verification) or base.verification,
            )

        return self._change(
            document_id,
            update,
            action="ksef.accepted",
            detail={"ksef_number": number, "acquired_at": acquired_at.isoformat()},
            event=KSEF_ACCEPTED,
            context={"ksef_number": number},
            upo=upo,
        )

    def store_upo(self, document_id: int, upo: bytes) -> KsefSubmission:
        """Store the UPO fetched after the acceptance."""
        if not upo:
            raise ValueError("an empty UPO")

        def update(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            if current is None:
                raise NotFound(N_("Not found"), entity="ksef_submission", id=document_id)
            return current

        return self._change(
            document_id, update, action="ksef.upo_stored", detail={"bytes": len(upo)}, upo=upo
        )

    def mark_rejected(
        self, document_id: int, *, code: int, description: str, details: Sequence[str] = ()
    ) -> KsefSubmission:
        """KSeF refused the document: its code and words are stored, the document goes back to
        be fixed (the type's ``ksef.rejected`` effects) and its author is told."""
        description = description.strip()[:_MAX_TEXT]
        kept = tuple(str(d)[:_MAX_TEXT] for d in details)[:20]

        def update(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            if (
                base.state is KsefState.REJECTED
                and base.error_code == code
                and base.error_description == description
            ):
                return None
            return attrs.evolve(
                base,
                state=KsefState.REJECTED,
                error_code=code,
                error_description=description,
                error_details=kept,
            )

        return self._change(
            document_id,
            update,
            action="ksef.rejected",
            detail={"code": code, "description": description, "details": list(kept)},
            event=KSEF_REJECTED,
            context={"code": code, "description": description, "details": kept},
            after=self._tell_author,
        )

    def _tell_author(self, tx: Tx, document: Document, submission: KsefSubmission) -> None:
        if document.created_by is None:
            return
        user = tx.get_user(document.created_by)
        if user is None or not user.active:
            return
        code = submission.error_code
        text = {
            "pl": f"KSeF odrzucił fakturę {document.number} (kod {code}): "
            f"{submission.error_description}. Popraw ją i wystaw ponownie.",
            "en": f"KSeF rejected invoice {document.number} (code {code}): "
            f"{submission.error_description}. Fix it and issue it again.",
        }["en" if user.language == "en" else "pl"]
        tx.add_notification(
            Notification(
                user_id=user.id or 0,
                kind="ksef.rejected",
                text=text[:_MAX_TEXT],
                link=f"/documents/{document.id}",
                created_at=self.now(),
            )
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
        """The document is issued in an offline mode: valid with its QR codes now, to be sent
        by the deadline the mode sets (:meth:`KsefOfflineMode.send_by`); the type's
        ``ksef.offline`` effects run (the e-mail goes now).

        Reported again for an invoice already offline: a more serious mode (an announced
        outage or failure while it waits) moves it there, and ``ended`` (the day an announced
        outage ended) fixes a deadline that waited for it; anything else changes nothing."""

        def first(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            if base.mode is KsefMode.OFFLINE or base.state is KsefState.ACCEPTED:
                return None
            return attrs.evolve(
                base,
                state=KsefState.OFFLINE,
                mode=KsefMode.OFFLINE,
                offline_mode=offline_mode,
                send_by=offline_mode.send_by(document.issue_date, ended),
                verification=tuple(verification) or base.verification,
            )

        def later(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            if base.mode is not KsefMode.OFFLINE or base.state is KsefState.ACCEPTED:
                return None
            mode = base.offline_mode or KsefOfflineMode.OFFLINE24
            if offline_mode.rank > mode.rank or (
                offline_mode is mode and base.send_by is None and ended is not None
            ):
                return attrs.evolve(
                    base,
                    offline_mode=offline_mode,
                    send_by=offline_mode.send_by(document.issue_date, ended),
                )
            return None

        stored = self._change(
            document_id,
            first,
            action="ksef.offline",
            detail={"reason": reason.strip()[:_MAX_TEXT], "offline_mode": offline_mode.value},
            event=KSEF_OFFLINE,
            context={"reason": reason},
        )
        if stored.offline_mode is offline_mode and stored.send_by is not None:
            return stored
        return self._change(
            document_id,
            later,
            action="ksef.offline_mode",
            detail={
                "reason": reason.strip()[:_MAX_TEXT],
                "offline_mode": offline_mode.value,
                "ended": ended.isoformat() if ended else None,
            },
        )

    def record_attempt(self, document_id: int, *, error: str) -> KsefSubmission:
        """A send that failed for a reason worth retrying (KSeF unreachable): counted and kept
        in the document's history; the state stays."""

        def update(current: KsefSubmission | None, document: Document) -> KsefSubmission | None:
            base = self._base(current, document)
            return attrs.evolve(
                base, attempts=base.attempts + 1, error_description=error.strip()[:_MAX_TEXT]
            )

        return self._change(
            document_id,
            update,
            action="ksef.attempt_failed",
            detail={"error": error.strip()[:_MAX_TEXT]},
        )

    def requeue(self, document_id: int, *, reason: str) -> None:
        """Queue the document for KSeF again (after an outage), with an audit entry."""
        actor = Actor.system()
        with self.store.transaction() as tx:
            document = tx.get_document(document_id)
            if document is None or document.number is None:
                raise NotFound(N_("Not found"), entity="document", id=document_id)
            kind = self._kind(document)
            if kind is None:
                raise ValueError("this document does not go to KSeF")
            self.record(
                tx,
                actor,
                action="ksef.requeued",
                entity="document",
                entity_id=document_id,
                client_id=document.client_id,
                detail={"source": KSEF_SUBSCRIBER, "reason": reason, "number": document.number},
            )
            self.queue(
                tx,
                Topic.KSEF_SEND,
                KsefSendRequest(
                    document_id=document_id,
                    client_id=document.client_id,
                    number=document.number,
                    ksef_kind=kind,
                    reason="requeue",
                ),
                entity="document",
                entity_id=document_id,
            )

    def waiting(
        self, states: Collection[KsefState], *, client_id: int | None, limit: int
    ) -> builtins.list[KsefSubmission]:
        """System read: submissions in ``states``, least recently changed first."""
        with self.store.transaction(readonly=True) as tx:
            return tx.ksef.waiting(states, client_id=client_id, limit=max(1, limit))

    def set_enabled(self, client_id: int, on: bool, *, actor: Actor | None = None) -> None:
        """Switch KSeF on or off for a client (the plugin's settings page), audited."""
        actor = actor or Actor.system()
        with self.store.transaction() as tx:
            access.client_for(tx, actor, client_id, write=True)
            if tx.ksef.set_enabled(client_id, on):
                self.record(
                    tx,
                    actor,
                    action="ksef.enabled",
                    entity="client",
                    entity_id=client_id,
                    client_id=client_id,
                    detail={"enabled": on},
                )

"""Effects: what a workflow move of a document type implies, run inside the move's transaction.

A document type declares ``effects``, a mapping of transition key → effects. When
``cabinet.documents.transition`` makes that move it calls each effect, in order, inside the same
unit of work as the move, its audit entry and its outbox row, so the move and what it implies
(an e-mail queued, a received correction linked) are saved together or not at all. An effect
that raises undoes the move.

An effect is any callable taking an :class:`EffectContext`; it returns the moved document as
stored after its own changes, or ``None`` when it left the document as it was.

Besides transition keys, ``effects`` may name the **KSeF events** below: ``cabinet.ksef`` runs
their effects inside the transaction that records the event (the plugin reported it through
the KSeF port), with ``ctx.transition`` the event's pseudo-move (``key`` the event name,
``source`` and ``target`` the document's unchanged state) and ``ctx.context`` the event's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from cabinet_core.doctypes.base import DocumentType, Transition
    from cabinet_core.entities import Actor, Document, OutboxMessage
    from cabinet_core.storage import Tx
    from cabinet_core.sync import Topic


#: KSeF accepted the document (``context``: ``ksef_number``).
KSEF_ACCEPTED = "ksef.accepted"
#: The document was issued in offline24 mode (``context``: ``reason``).
KSEF_OFFLINE = "ksef.offline"
#: KSeF rejected the document (``context``: ``code``, ``description``, ``details``).
KSEF_REJECTED = "ksef.rejected"
#: The key of the system-only move a KSeF type's workflow has from ``issued``/``sent`` back to
#: its editable ``ksef_rejected`` state.
KSEF_REJECT_TRANSITION = "ksef_reject"


class Recorder(Protocol):
    """Writes the audit entry and, with ``topic``, the outbox row of one change, in the move's
    transaction (the documents service's own ``record``)."""

    def __call__(
        self,
        tx: Tx,
        actor: Actor,
        *,
        action: str,
        entity: str,
        entity_id: int | None,
        client_id: int | None,
        detail: Mapping[str, Any] | None = None,
        topic: Topic | None = None,
        message: object = None,
    ) -> None: ...


class Queuer(Protocol):
    """Adds the outbox message of ``topic`` with its deliveries, in the move's transaction (the
    documents service's own ``queue``): the one place outbox messages are built."""

    def __call__(
        self,
        tx: Tx,
        topic: Topic,
        message: object,
        *,
        entity: str,
        entity_id: int | None,
        origin: str | None = None,
    ) -> OutboxMessage: ...


class Mover(Protocol):
    """Makes a workflow move on another document in the same transaction (``document`` as read
    in it), recorded like any move; the hooks hear of it after the commit. ``detail`` goes to
    the audit entry."""

    def __call__(self, document: Document, transition_key: str, /, **detail: Any) -> Document: ...


@attrs.frozen(kw_only=True)
class EffectContext:
    """What an effect sees: the move's transaction and actor, the document before and after
    the move, the transition made and the caller's ``context`` (``{"to": address, "message":
    text}`` when ``cabinet.invoicing.send`` makes a move that mails the document).

    ``record``, ``queue``, ``move`` and ``now`` let an effect write audited changes and move related
    documents without reaching for the whole cabinet.
    """

    tx: Tx
    actor: Actor
    before: Document
    after: Document
    transition: Transition
    context: Mapping[str, Any]
    now: datetime
    record: Recorder
    queue: Queuer
    move: Mover
    #: The document's type (what it declares: ``ksef_kind`` …).
    document_type: DocumentType | None = None


class Effect(Protocol):
    """One thing a workflow move implies; see the module docstring."""

    def __call__(self, ctx: EffectContext) -> Document | None:
        """Do it inside ``ctx.tx``; the document as stored now, or ``None`` if unchanged."""
        ...

"""The effects of the invoice types that go to KSeF (``ksef_kind``), on issue and on KSeF's word.

* ``issue`` (:func:`send_to_ksef_on_issue`): for a client with KSeF switched on, the document's
  submission becomes ``queued`` and one ``ksef.send`` outbox message is queued, in the issue's
  own transaction; the e-mail to the buyer waits for KSeF. For a client without KSeF, today's
  behaviour: the auto-send e-mail
  (:func:`~cabinet_core.doctypes.invoice_effects.auto_send_on_issue`).
* ``ksef.accepted`` (:func:`mail_after_acceptance`): KSeF accepted it; the auto-send e-mail goes
  now (unless it went already in offline mode).
* ``ksef.offline`` (:func:`mail_in_offline_mode`): issued offline24; the invoice is valid with
  its QR codes, so the auto-send e-mail goes at once.
* ``ksef.rejected`` (:func:`back_to_fix`): the document moves back to ``ksef_rejected``, editable
  and keeping its number, for the client to fix and issue again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from cabinet_core.doctypes.effects import (
    KSEF_ACCEPTED,
    KSEF_OFFLINE,
    KSEF_REJECT_TRANSITION,
    KSEF_REJECTED,
    Effect,
)
from cabinet_core.doctypes.invoice_effects import auto_send_on_issue
from cabinet_core.sync import KsefSendRequest, Topic

if TYPE_CHECKING:
    from cabinet_core.doctypes.effects import EffectContext
    from cabinet_core.entities import Document

__all__ = [
    "KSEF_SALES_EFFECTS",
    "back_to_fix",
    "mail_after_acceptance",
    "mail_in_offline_mode",
    "send_to_ksef_on_issue",
]


def send_to_ksef_on_issue(ctx: EffectContext) -> Document | None:
    """Queue the document for KSeF when its client uses KSeF; else mail it as before."""
    # Imported here: cabinet_core.ksef's package imports the FA(3) reader, which imports the
    # invoice types that import these effects.
    from cabinet_core.ksef.submission import KsefMode, KsefState, KsefSubmission

    document = ctx.after
    kind = ctx.document_type.ksef_kind if ctx.document_type is not None else None
    if kind is None or not ctx.tx.ksef.enabled(document.client_id):
        return auto_send_on_issue(ctx)
    assert document.id is not None and document.number is not None  # issued: stored, numbered
    previous = ctx.tx.ksef.get(document.id)
    reason = "reissue" if previous is not None else "issue"
    # A fixed and re-issued invoice starts afresh; the attempts so far stay counted. One that
    # was issued offline (in circulation with its QR codes) and rejected for a technical reason
    # goes as the technical correction of the rejected file (offline, KSeF links the old KOD I
    # to it), keeping its offline mode and deadline.
    queued = KsefSubmission(
        document_id=document.id,
        client_id=document.client_id,
        state=KsefState.QUEUED,
        mode=KsefMode.ONLINE,
        attempts=previous.attempts if previous is not None else 0,
        queued_at=ctx.now,
    )
    detail: dict[str, object] = {"number": document.number, "reason": reason}
    if previous is not None and previous.technical_correction_possible:
        queued = attrs.evolve(
            queued,
            mode=KsefMode.OFFLINE,
            offline_mode=previous.offline_mode,
            send_by=previous.send_by,
            corrected_hash=previous.corrected_hash or previous.invoice_hash,
            verification=previous.verification,
        )
        detail["technical_correction_of"] = queued.corrected_hash
    ctx.tx.ksef.put(queued)
    ctx.record(
        ctx.tx,
        ctx.actor,
        action="ksef.technical_correction" if queued.corrected_hash else "ksef.queued",
        entity="document",
        entity_id=document.id,
        client_id=document.client_id,
        detail=detail,
    )
    ctx.queue(
        ctx.tx,
        Topic.KSEF_SEND,
        KsefSendRequest(
            document_id=document.id,
            client_id=document.client_id,
            number=document.number,
            ksef_kind=kind,
            reason=reason,
        ),
        entity="document",
        entity_id=document.id,
    )
    return None


def mail_after_acceptance(ctx: EffectContext) -> Document | None:
    """The auto-send e-mail of an invoice KSeF accepted (an offline one went already)."""
    from cabinet_core.ksef.submission import KsefMode

    assert ctx.after.id is not None
    submission = ctx.tx.ksef.get(ctx.after.id)
    if submission is not None and submission.mode is KsefMode.OFFLINE:
        return None
    return auto_send_on_issue(ctx)


def mail_in_offline_mode(ctx: EffectContext) -> Document | None:
    """An offline24 invoice is valid with its QR codes: the auto-send e-mail goes now."""
    return auto_send_on_issue(ctx)


def back_to_fix(ctx: EffectContext) -> Document | None:
    """Move the rejected document back to its editable ``ksef_rejected`` state (number kept)."""
    if ctx.document_type is None:
        return None
    try:
        move = ctx.document_type.workflow.transition(KSEF_REJECT_TRANSITION)
    except KeyError:
        return None
    if ctx.after.status not in move.source:
        # Already back to be fixed (a repeated report), or in a state no rejection undoes.
        return None
    return ctx.move(
        ctx.after,
        KSEF_REJECT_TRANSITION,
        ksef_code=ctx.context.get("code"),
        ksef_description=str(ctx.context.get("description") or ""),
    )


#: The effects of a sales type that goes to KSeF.
KSEF_SALES_EFFECTS: Mapping[str, Sequence[Effect]] = {
    "issue": (send_to_ksef_on_issue,),
    KSEF_ACCEPTED: (mail_after_acceptance,),
    KSEF_OFFLINE: (mail_in_offline_mode,),
    KSEF_REJECTED: (back_to_fix,),
}

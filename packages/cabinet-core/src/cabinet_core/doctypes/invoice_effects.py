"""The effects the built-in invoicing types declare on their workflow moves.

* ``issue`` of a sales document (:func:`auto_send_on_issue`): when the client has auto-send on,
  the e-mail to the buyer is queued; without a usable buyer address the issue stands, the skip
  is audited and the issuer is told;
* ``send`` of a correction request (:func:`mail_on_send`): its e-mail to the seller is queued,
  to the address and with the message ``cabinet.invoicing.send`` passed as the move's context;
* ``submit`` of a cost invoice (:func:`link_received_correction`): a received correcting
  invoice is linked to the invoice it corrects, and the open correction requests for that
  invoice become ``accepted``.

Each runs inside the move's transaction (see :mod:`cabinet_core.doctypes.effects`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from cabinet_core.doctypes.effects import Effect
from cabinet_core.entities import Notification, OutboxMessage
from cabinet_core.identifiers import is_valid_email
from cabinet_core.sync import MailRequest, Topic

if TYPE_CHECKING:
    from cabinet_core.doctypes.effects import EffectContext, Mover, Queuer, Recorder
    from cabinet_core.entities import Actor, Document
    from cabinet_core.storage import Tx

#: The outbox topic of a document to e-mail (the worker hands it to ``cabinet.mail_delivery``).
MAIL_TOPIC = Topic.MAIL_DOCUMENT
#: The most cost invoices (or requests) one link search reads: a client's invoices from one
#: seller, narrowed by the seller's NIP first.
SEARCH_LIMIT = 500


def default_address(document: Document, *, client_is_buyer: bool) -> str:
    """Where a document goes by default: to the other party, the seller when the client is the
    buyer (``extra["seller_email"]`` first, as a correction request stores it), else the buyer."""
    if client_is_buyer:
        stored = str(document.extra.get("seller_email") or "").strip()
        return stored or (document.seller.email if document.seller is not None else "")
    return document.buyer.email if document.buyer is not None else ""


def queue_mail(
    tx: Tx,
    actor: Actor,
    document: Document,
    *,
    to: str,
    message: str,
    auto: bool,
    record: Recorder,
    queue: Queuer,
) -> OutboxMessage:
    """The ``mail.document`` outbox message (its one delivery: the cabinet's mail delivery)
    and its ``document.send`` audit entry, in ``tx``."""
    assert document.id is not None  # a stored document
    record(
        tx,
        actor,
        action="document.send",
        entity="document",
        entity_id=document.id,
        client_id=document.client_id,
        detail={"to": to, "auto": auto, "number": document.number},
    )
    request = MailRequest(
        document_id=document.id,
        to=to,
        message=message.strip(),
        language=document.language,
        requested_by=actor.user_id,
    )
    return queue(tx, MAIL_TOPIC, request, entity="document", entity_id=document.id)


def _usable(address: str) -> bool:
    return bool(address) and is_valid_email(address)


def auto_send_on_issue(ctx: EffectContext) -> Document | None:
    """Queue the e-mail to the buyer when the client sends its documents on issue."""
    document = ctx.after
    client = ctx.tx.get_client(document.client_id)
    if client is None or not client.auto_send:
        return None
    address = default_address(document, client_is_buyer=False).strip()
    if _usable(address):
        queue_mail(
            ctx.tx,
            ctx.actor,
            document,
            to=address,
            message="",
            auto=True,
            record=ctx.record,
            queue=ctx.queue,
        )
    else:
        _cannot_auto_send(ctx)
    return None


def _cannot_auto_send(ctx: EffectContext) -> None:
    document, actor = ctx.after, ctx.actor
    user_id = actor.user_id or document.created_by
    ctx.record(
        ctx.tx,
        actor,
        action="document.send_skipped",
        entity="document",
        entity_id=document.id,
        client_id=document.client_id,
        detail={"reason": "no_buyer_email", "number": document.number},
    )
    if user_id is None:
        return
    user = ctx.tx.get_user(user_id)
    language = user.language if user is not None and user.language in ("pl", "en") else "pl"
    text = {
        "pl": f"Dokument {document.number} wystawiony, ale nie wysłany: "
        "nabywca nie ma adresu e-mail.",
        "en": f"Document {document.number} was issued but not sent: "
        "the buyer has no e-mail address.",
    }[language]
    ctx.tx.add_notification(
        Notification(
            user_id=user_id,
            kind="document.not_sent",
            text=text,
            link=f"/documents/{document.id}",
            created_at=ctx.now,
        )
    )


def mail_on_send(ctx: EffectContext) -> Document | None:
    """Queue the e-mail of a document whose ``send`` move mails it (a correction request to
    its seller): to ``context["to"]`` with ``context["message"]``, else to the default address.
    Without a usable address the move records a document handed over another way."""
    document = ctx.after
    address = (
        str(ctx.context.get("to") or "").strip()
        or default_address(document, client_is_buyer=True).strip()
    )
    if _usable(address):
        queue_mail(
            ctx.tx,
            ctx.actor,
            document,
            to=address,
            message=str(ctx.context.get("message") or ""),
            auto=False,
            record=ctx.record,
            queue=ctx.queue,
        )
    return None


def link_received_correction(ctx: EffectContext) -> Document | None:
    """On submitting a received correcting invoice, link it to the invoice it corrects."""
    linked = link_correction(ctx.tx, ctx.actor, ctx.after, move=ctx.move, now=ctx.now)
    return linked if linked is not ctx.after else None


def link_correction(
    tx: Tx, actor: Actor, document: Document, *, move: Mover, now: datetime
) -> Document:
    """Link a received correcting invoice to the invoice it corrects (same seller NIP, that
    seller's invoice number) and mark the open correction requests for it accepted (by
    ``move``). Returns ``document`` as stored (linked when an original was found)."""
    from cabinet_core.storage import DocumentQuery

    corrected = str(document.extra.get("corrected_number") or "").strip()
    if not corrected or document.related_id is not None:
        return document
    found = same_sellers_invoices(tx, document, corrected)
    if not found:
        return document
    original = found[0]
    document = tx.update_document(attrs.evolve(document, related_id=original.id))
    requests = tx.list_documents(
        DocumentQuery(
            client_ids=(document.client_id,),
            # The requests the client sent the seller (cabinet.invoicing.request_correction).
            doc_types=("correction_request",),
            statuses=("sent",),
            related_id=original.id,
            limit=SEARCH_LIMIT,
        )
    )
    for request in requests.items:
        accepted = move(request, "accept", correction_id=document.id)
        _tell_requester(tx, actor, accepted, document, now)
    return document


def same_sellers_invoices(tx: Tx, document: Document, number: str) -> list[Document]:
    """The client's other documents of ``document``'s type from its seller numbered ``number``
    by that seller (the list is narrowed by the seller's NIP, then matched exactly)."""
    from cabinet_core.storage import DocumentQuery

    seller_nip = document.seller.nip if document.seller is not None else None
    if not number or not seller_nip:
        return []
    query = DocumentQuery(
        client_ids=(document.client_id,),
        doc_types=(document.doc_type,),
        search=seller_nip,
        limit=SEARCH_LIMIT,
    )
    return [
        candidate
        for candidate in tx.list_documents(query).items
        if candidate.id != document.id
        and str(candidate.extra.get("seller_invoice_number") or "").strip() == number
        and (candidate.seller.nip if candidate.seller is not None else None) == seller_nip
    ]


def _tell_requester(
    tx: Tx, actor: Actor, request: Document, correction: Document, now: datetime
) -> None:
    """The author of a correction request hears that the seller's correction arrived."""
    if request.created_by is None or request.created_by == actor.user_id:
        return
    user = tx.get_user(request.created_by)
    if user is None or not user.active:
        return
    number = str(correction.extra.get("seller_invoice_number") or "")
    text = {
        "pl": f"Prośba o korektę {request.number}: sprzedawca wystawił korektę {number}.",
        "en": f"Correction request {request.number}: the seller issued correction {number}.",
    }["en" if user.language == "en" else "pl"]
    tx.add_notification(
        Notification(
            user_id=user.id or 0,
            kind="correction_request.accepted",
            text=text,
            link=f"/documents/{correction.id}",
            created_at=now,
        )
    )


#: The sales types' effects: the e-mail to the buyer on issue when the client wants it.
SALES_EFFECTS: Mapping[str, Sequence[Effect]] = {"issue": (auto_send_on_issue,)}

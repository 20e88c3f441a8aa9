"""Documents: create, edit, delete, list and move through their type's workflow.

Saving validates (the common rules and the type's own), computes the totals with the VAT rules
in force on the issue date, and fixes the exchange rate of a foreign-currency document (NBP
table A through ``cabinet.rate_provider``) on the document itself, so a saved document never
changes when rates do. A workflow move that assigns a number takes it from the client's series
in the same transaction as the move, its audit entry and its outbox row.

Split payment (MPP, poland.md §2.4): on every save of a document whose type declares
``split_payment`` (a VAT invoice, correcting invoice or proforma), ``extra["split_payment"]``
becomes True when the law requires the marking (a line from annex 15 and a total above
15 000.00 PLN, a foreign currency converted at the document's fixed rate; for a correction, the
corrected state's total). It is never switched off by the
service: when the rule does not require it, the value the user sent is kept, so a client may
tick it by hand (the goods are in annex 15 although no line says so), and a flag set earlier
stays until the user clears it. The FA(3) file and the PDF still print the marker only when the
threshold is passed.

The CRM may move documents too (``apply_crm_status``/``apply_crm_payment``): staff change the
stage in the CRM, the cabinet follows without a workflow transition, and the outbox row says
where the change came from so the CRM backend does not echo it back.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.doctypes import BaseDocumentType, DocumentType, Transition
from cabinet_core.doctypes.effects import EffectContext
from cabinet_core.entities import (
    Actor,
    Client,
    Document,
    DocumentTotals,
    ExchangeRate,
    Notification,
    OutboxMessage,
    Party,
    PartyKind,
    PaymentMethod,
    PaymentStatus,
)
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.limits import decimal_errors, text_errors
from cabinet_core.money import round_money
from cabinet_core.nip import is_valid_nip, validate_nip
from cabinet_core.numbering_pattern import format_number, series_key
from cabinet_core.services._base import Service, payload, raise_if
from cabinet_core.storage import DocumentQuery, Page, Tx
from cabinet_core.vat import (
    TaxRules,
    compute_correction,
    compute_totals,
    split_payment_applies,
)

MAX_PAGE = 500
_ZERO = Decimal("0.00")

#: Outbox topics of e-mails about a document (the rest go to the CRM backends).
MAIL_TOPIC_PREFIX = "mail."


def tax_point(document: Document) -> date:
    """The day whose preceding business day gives the exchange rate (art. 31a VAT Act).

    The tax obligation normally arises on the sale; an invoice issued before the sale takes
    the rate of the day before its issue date (ust. 2).
    """
    if document.sale_date is None:
        return document.issue_date
    return min(document.sale_date, document.issue_date)


def party_of_client(client: Client) -> Party:
    """The client as printed on its own documents."""
    return Party(
        kind=PartyKind.COMPANY,
        name=client.name,
        nip=client.nip,
        address=client.address,
        email=client.email,
    )


def _flag(document_type: DocumentType, name: str) -> bool:
    # Plugin types need only the protocol; the built-ins' extra flags default to off.
    return bool(getattr(document_type, name, False))


class DocumentService(Service):
    """``cabinet.documents``: every read and write of documents goes through here."""

    # -- helpers --------------------------------------------------------------------------------
    def _type(self, key: str) -> DocumentType:
        try:
            return self.cabinet.document_type(key)
        except NotFound:
            raise ValidationError.single(
                "doc_type", "unknown", N_("Unknown document type.")
            ) from None

    def _rules(self, on: date) -> TaxRules:
        return self.cabinet.tax_rules_on(on)

    def _visible(self, tx: Tx, actor: Actor, doc_id: int, *, write: bool) -> Document:
        document = tx.get_document(doc_id)
        if document is None:
            raise NotFound(N_("Not found"), entity="document", id=doc_id)
        try:
            access.client_for(tx, actor, document.client_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="document", id=doc_id) from None
        return document

    def _complete(
        self, tx: Tx, document: Document, document_type: DocumentType, client: Client
    ) -> Document:
        """Fill what the client's own data implies (parties, bank account, template) and put
        NIPs and typed extra fields in their stored form."""
        changes: dict[str, Any] = {}
        client_is_buyer = document_type.client_is_buyer
        own, other = ("buyer", "seller") if client_is_buyer else ("seller", "buyer")
        if getattr(document, own) is None:
            changes[own] = party_of_client(client)
        if document.counterparty_id is not None and getattr(document, other) is None:
            counterparty = tx.get_counterparty(document.counterparty_id)
            if counterparty is not None and counterparty.client_id == client.id:
                changes[other] = Party(
                    kind=counterparty.kind,
                    name=counterparty.name,
                    nip=counterparty.nip,
                    vat_eu=counterparty.vat_eu,
                    address=counterparty.address,
                    email=counterparty.email,
                )
        if (
            own == "seller"
            and document_type.has_lines
            and document.bank_account is None
            and document.payment_method is PaymentMethod.TRANSFER
        ):
            accounts = [a for a in client.bank_accounts if a.currency == document.currency]
            if accounts:
                changes["bank_account"] = accounts[0]
        for side in ("seller", "buyer"):
            party: Party | None = changes.get(side, getattr(document, side))
            if party is not None and party.nip and is_valid_nip(party.nip):
                changes[side] = attrs.evolve(party, nip=validate_nip(party.nip))
        default = client.default_template
        if (
            document.template is None
            and default is not None
            and self._template_allowed(default, document.doc_type, client)
        ):
            changes["template"] = default
        if isinstance(document_type, BaseDocumentType):
            changes["extra"] = document_type.normalise_extra(document.extra)
        return attrs.evolve(document, **changes)

    def _errors(
        self, tx: Tx, document: Document, document_type: DocumentType, client: Client
    ) -> list[FieldError]:
        """The type's rules plus what only the store knows (ownership of linked records)."""
        rules = self._rules(document.issue_date)
        if isinstance(document_type, BaseDocumentType):
            errors = list(document_type.validate(document, vat_codes=rules.codes))
        else:
            errors = list(document_type.validate(document))
        own = "buyer" if document_type.client_is_buyer else "seller"
        own_party: Party | None = getattr(document, own)
        if (
            own_party is not None
            and own_party.nip
            and client.nip
            and is_valid_nip(own_party.nip)
            and validate_nip(own_party.nip) != client.nip
        ):
            errors.append(
                FieldError(
                    field=f"{own}.nip",
                    code="not_own",
                    message=N_("This must be your own company's NIP."),
                )
            )
        if not client.active:
            errors.append(
                FieldError(
                    field="client_id", code="inactive", message=N_("This client is not active.")
                )
            )
        if document.template is not None and not self._template_allowed(
            document.template, document.doc_type, client
        ):
            errors.append(
                FieldError(
                    field="template",
                    code="not_allowed",
                    message=N_("This template is not available for this document."),
                )
            )
        if document.counterparty_id is not None:
            counterparty = tx.get_counterparty(document.counterparty_id)
            if counterparty is None or counterparty.client_id != client.id:
                errors.append(
                    FieldError(
                        field="counterparty_id",
                        code="unknown",
                        message=N_("Choose one of your counterparties."),
                    )
                )
        if document.related_id is not None:
            related = tx.get_document(document.related_id)
            if related is None or related.client_id != client.id or related.id == document.id:
                errors.append(
                    FieldError(
                        field="related_id",
                        code="unknown",
                        message=N_("Choose one of your documents."),
                    )
                )
        return errors

    def _template_allowed(self, key: str, doc_type: str, client: Client) -> bool:
        """A registered template for this type, among the client's allowed ones if it has any."""
        template = self.cabinet.templates.get(key)
        if template is None or doc_type not in template.document_types:
            return False
        return not client.allowed_templates or key in client.allowed_templates

    def _totals(self, document: Document, document_type: DocumentType) -> DocumentTotals | None:
        # An imported advance/settlement/margin invoice states totals its lines cannot give;
        # summing the lines again on a later save would turn them into zeros.
        stated = getattr(document_type, "stated_totals", None)
        if stated is not None and (kept := stated(document)) is not None:
            return kept  # type: ignore[no-any-return]
        rules = self._rules(document.issue_date)
        if document_type.has_lines:
            options: dict[str, Any] = {
                "currency": document.currency,
                "price_mode": document.price_mode,
                "vat_method": document.vat_method,
                "exchange_rate": document.exchange_rate,
                "rules": rules,
            }
            if _flag(document_type, "corrects"):
                return compute_correction(document.lines, **options).difference
            return compute_totals(document.lines, **options)
        amount = (
            document_type.amount(document) if isinstance(document_type, BaseDocumentType) else None
        )
        if amount is None:
            return None
        rounded = round_money(amount, document.currency)
        return DocumentTotals(currency=document.currency, net=rounded, vat=_ZERO, gross=rounded)

    def _exchange_rate(
        self, document: Document, document_type: DocumentType, previous: Document | None
    ) -> ExchangeRate | None:
        """The rate to fix on the document: kept from ``previous`` while currency and tax point
        stay, else fetched anew; none for PLN or for documents without amounts per line."""
        if document.currency == "PLN" or not document_type.has_lines:
            return None
        if (
            previous is not None
            and previous.exchange_rate is not None
            and previous.currency == document.currency
            and tax_point(previous) == tax_point(document)
        ):
            return previous.exchange_rate
        return self.cabinet.rate_provider.rate_for(document.currency, tax_point(document))

    def _prepare(
        self,
        actor: Actor,
        document: Document,
        document_type: DocumentType,
        previous: Document | None,
    ) -> Document:
        """Complete, validate, fix the exchange rate and compute the totals (no writes)."""
        # Numbers no column can hold (NaN, 1e40, 9 decimals) stop here, before any arithmetic;
        # over-long texts are reported with the type's own errors.
        raise_if(decimal_errors(document))
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, document.client_id, write=True)
            document = self._complete(tx, document, document_type, client)
            errors = list(text_errors(document))
            too_long = {error.field for error in errors}
            errors += [
                e
                for e in self._errors(tx, document, document_type, client)
                if e.field not in too_long
            ]
            raise_if(errors)
        # Outside any transaction: the rate may come over the network.
        rate = self._exchange_rate(document, document_type, previous)
        document = attrs.evolve(document, exchange_rate=rate)
        document = attrs.evolve(document, totals=self._totals(document, document_type))
        return self._mark_split_payment(document, document_type)

    def _mark_split_payment(self, document: Document, document_type: DocumentType) -> Document:
        """Set ``extra["split_payment"]`` when the MPP rule requires it (module docstring)."""
        if not document_type.split_payment or not document_type.has_lines:
            return document
        rules = self._rules(document.issue_date)
        if not split_payment_applies(document, rules=rules, by_flag=False):
            return document
        return attrs.evolve(document, extra={**document.extra, "split_payment": True})

    def _for_create(self, actor: Actor, document: Document) -> Document:
        """A new document as ``create`` would save it (prepared, in its first state)."""
        if actor.client_id is not None:
            document = attrs.evolve(document, client_id=actor.client_id)
        document_type = self._type(document.doc_type)
        document = attrs.evolve(
            document,
            id=None,
            number=None,
            series=None,
            created_by=actor.user_id,
            created_at=None,
            updated_at=None,
            version=1,
            payment_status=self._payment_status(document, document_type, None),
        )
        document = self._prepare(actor, document, document_type, None)
        initial = (
            document_type.initial_status(document)
            if isinstance(document_type, BaseDocumentType)
            else document_type.workflow.initial
        )
        return attrs.evolve(document, status=initial)

    def _for_update(self, actor: Actor, document: Document) -> Document:
        """Changes to a document as ``update`` would save them (editable state, same client)."""
        if document.id is None:
            raise NotFound(N_("Not found"), entity="document", id=None)
        with self.store.transaction(readonly=True) as tx:
            current = self._visible(tx, actor, document.id, write=True)
        document_type = self._type(current.doc_type)
        if not document_type.workflow.state(current.status).editable:
            raise Conflict(N_("This document can no longer be changed"), status=current.status)
        document = attrs.evolve(
            document,
            client_id=current.client_id,
            doc_type=current.doc_type,
            status=current.status,
            number=current.number,
            series=current.series,
            payment_status=self._payment_status(document, document_type, current),
            created_by=current.created_by,
            created_at=current.created_at,
        )
        return self._prepare(actor, document, document_type, current)

    def _payment_status(
        self, document: Document, document_type: DocumentType, current: Document | None
    ) -> PaymentStatus:
        """What the client says for documents it received (a cost invoice it already paid);
        for its own sales documents the workflow decides (unpaid until marked paid)."""
        if document_type.client_is_buyer:
            return document.payment_status
        return current.payment_status if current is not None else PaymentStatus.UNPAID

    # -- the API --------------------------------------------------------------------------------
    def validate(self, actor: Actor, document: Document) -> Document:
        """The document as ``create`` (no ``id``) or ``update`` (with ``id``) would save it:
        completed, checked, with its rate and totals; raises like they do and writes nothing.

        The form calls it before creating what the document depends on (a new counterparty, a
        product saved to the catalogue), so nothing is half-saved when the document is invalid.
        """
        if document.id is None:
            return self._for_create(actor, document)
        return self._for_update(actor, document)

    def create(self, actor: Actor, document: Document) -> Document:
        """Validate and save a new document in its workflow's first state."""
        document = self._for_create(actor, document)
        with self.store.transaction() as tx:
            access.client_for(tx, actor, document.client_id, write=True)
            stored = tx.add_document(document)
            self.record(
                tx,
                actor,
                action="document.create",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"doc_type": stored.doc_type, "status": stored.status},
                topic="document.created",
                message=payload(stored),
            )
        self.fire("document_saved", document=stored, actor=actor, created=True)
        return stored

    def update(self, actor: Actor, document: Document) -> Document:
        """Save changes to a document whose state is editable; ``document.version`` must be the
        stored one (else :class:`Conflict`: somebody changed it meanwhile)."""
        document = self._for_update(actor, document)
        with self.store.transaction() as tx:
            access.client_for(tx, actor, document.client_id, write=True)
            stored = tx.update_document(document)
            self.record(
                tx,
                actor,
                action="document.update",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"version": stored.version},
                topic="document.updated",
                message=payload(stored),
            )
        self.fire("document_saved", document=stored, actor=actor, created=False)
        return stored

    def delete(self, actor: Actor, doc_id: int) -> None:
        """Delete a draft (a numbered or moved-on document stays for the record)."""
        with self.store.transaction() as tx:
            current = self._visible(tx, actor, doc_id, write=True)
            document_type = self._type(current.doc_type)
            if current.status != document_type.workflow.initial or current.number is not None:
                raise Conflict(N_("Only drafts can be deleted"), status=current.status)
            tx.delete_document(doc_id)
            self.record(
                tx,
                actor,
                action="document.delete",
                entity="document",
                entity_id=doc_id,
                client_id=current.client_id,
                detail={"doc_type": current.doc_type},
                topic="document.deleted",
                message=payload(current),
            )

    def get(self, actor: Actor, doc_id: int) -> Document:
        """A document of a client the actor may see (others are "not found")."""
        with self.store.transaction(readonly=True) as tx:
            return self._visible(tx, actor, doc_id, write=False)

    def list(self, actor: Actor, query: DocumentQuery) -> Page[Document]:
        """A page of documents, narrowed to the clients the actor may see."""
        with self.store.transaction(readonly=True) as tx:
            visible = access.visible_client_ids(tx, actor)
            query = attrs.evolve(
                query,
                client_ids=access.narrow_client_ids(visible, query.client_ids),
                limit=max(1, min(query.limit, MAX_PAGE)),
                offset=max(0, query.offset),
            )
            return tx.list_documents(query)

    def transitions(self, actor: Actor, doc_id: int) -> tuple[Transition, ...]:
        """The workflow moves the actor may make on the document now."""
        document = self.get(actor, doc_id)
        workflow = self._type(document.doc_type).workflow
        return workflow.available(document.status, actor.role)

    def transition(
        self,
        actor: Actor,
        doc_id: int,
        transition_key: str,
        *,
        comment: str = "",
        context: Mapping[str, Any] | None = None,
    ) -> Document:
        """Make one workflow move; a numbering move takes the next number of the series.

        The effects the type declares for the move (``DocumentType.effects``) run in the same
        transaction and get ``context`` (``{"to": address, "message": text}`` when the move
        mails the document); an effect that fails undoes the move."""
        moved: builtins.list[tuple[Document, Document]] = []
        with self.store.transaction() as tx:
            document = self._visible(tx, actor, doc_id, write=False)
            document_type = self._type(document.doc_type)
            workflow = document_type.workflow
            try:
                move = workflow.transition(transition_key)
            except KeyError:
                raise Conflict(
                    N_("This action is not available for this document"),
                    transition=transition_key,
                ) from None
            access.require(access.can_make_transition(actor, move.roles))
            if document.status not in move.source:
                raise Conflict(
                    N_("This action is not possible in the document's current state"),
                    transition=transition_key,
                    status=document.status,
                )
            if move.needs_comment and not comment.strip():
                raise ValidationError.single("comment", "required", N_("Please say why."))
            changes: dict[str, Any] = {"status": move.target}
            if move.assigns_number and document.number is None:
                changes.update(self._number(tx, document, document_type))
            if move.target == "paid":
                changes["payment_status"] = PaymentStatus.PAID
            stored = tx.update_document(attrs.evolve(document, **changes))
            self.record(
                tx,
                actor,
                action="document.transition",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={
                    "transition": move.key,
                    "from": document.status,
                    "to": stored.status,
                    "number": stored.number,
                    "comment": comment.strip(),
                },
                topic="document.status_changed",
                message={
                    "document": payload(stored),
                    "transition": move.key,
                    "old_status": document.status,
                    "new_status": stored.status,
                    "comment": comment.strip(),
                },
            )
            self._notify(tx, actor, stored, document_type, comment.strip())
            stored = self._run_effects(
                tx, actor, document_type, move, document, stored, context or {}, moved
            )
        self.fire(
            "document_status_changed",
            document=stored,
            old_status=document.status,
            new_status=stored.status,
            actor=actor,
        )
        for before, after in moved:
            self.fire(
                "document_status_changed",
                document=after,
                old_status=before.status,
                new_status=after.status,
                actor=actor,
            )
        return stored

    def _run_effects(
        self,
        tx: Tx,
        actor: Actor,
        document_type: DocumentType,
        move: Transition,
        before: Document,
        after: Document,
        context: Mapping[str, Any],
        moved: builtins.list[tuple[Document, Document]],
    ) -> Document:
        """The type's effects of ``move``, in order, each seeing the document as the previous
        one left it; the related documents they move are collected in ``moved``."""

        def move_other(other: Document, key: str, /, **detail: Any) -> Document:
            result = self.move_in(tx, actor, other, key, **detail)
            moved.append((other, result))
            return result

        for effect in document_type.effects.get(move.key, ()):
            ctx = EffectContext(
                tx=tx,
                actor=actor,
                before=before,
                after=after,
                transition=move,
                context=context,
                now=self.now(),
                record=self.record,
                move=move_other,
            )
            after = effect(ctx) or after
        return after

    def move_in(
        self, tx: Tx, actor: Actor, document: Document, transition_key: str, **detail: Any
    ) -> Document:
        """Apply one of the type's transitions on ``document`` (read in ``tx``) as a consequence
        of another change (no role check: the change that implies it was checked), recorded as
        :meth:`transition` records its moves; ``detail`` joins the audit entry."""
        move = self._type(document.doc_type).workflow.transition(transition_key)
        if document.status not in move.source:
            raise Conflict(
                N_("This action is not possible in the document's current state"),
                transition=transition_key,
                status=document.status,
            )
        stored = tx.update_document(attrs.evolve(document, status=move.target))
        self.record(
            tx,
            actor,
            action="document.transition",
            entity="document",
            entity_id=stored.id,
            client_id=stored.client_id,
            detail={"transition": move.key, "from": document.status, "to": stored.status, **detail},
            topic="document.status_changed",
            message={
                "document": payload(stored),
                "transition": move.key,
                "old_status": document.status,
                "new_status": stored.status,
                "comment": "",
            },
        )
        return stored

    def _notify(
        self, tx: Tx, actor: Actor, document: Document, document_type: DocumentType, comment: str
    ) -> None:
        """Tell the document's author when somebody else moved it (returned, approved …)."""
        if document.created_by is None or document.created_by == actor.user_id:
            return
        author = tx.get_user(document.created_by)
        if author is None or not author.active:
            return
        language = author.language if author.language in ("pl", "en") else "pl"
        state = document_type.workflow.state(document.status).label.get(language, document.status)
        name = document_type.label.get(language, document_type.key)
        text = f"{name} {document.number or ''}".strip() + f": {state}"
        if comment:
            text += f" — {comment}"
        tx.add_notification(
            Notification(
                user_id=document.created_by,
                kind="document.status_changed",
                text=text,
                link=f"/documents/{document.id}",
                created_at=self.now(),
            )
        )

    # -- deliveries and the CRM's side -----------------------------------------------------------
    def deliveries(self, actor: Actor, doc_id: int) -> builtins.list[OutboxMessage]:
        """What was sent about the document, newest first: every e-mail (``mail.*`` topics,
        queued, sent, retrying or failed) and, for staff only, the newest CRM delivery (a
        client's user has no business with the firm's CRM errors)."""
        with self.store.transaction(readonly=True) as tx:
            self._visible(tx, actor, doc_id, write=False)
            messages = tx.outbox_for("document", doc_id)
        mails = [m for m in messages if m.topic.startswith(MAIL_TOPIC_PREFIX)]
        crm = [m for m in messages if not m.topic.startswith(MAIL_TOPIC_PREFIX)]
        if actor.role.is_staff and crm:
            mails.append(crm[0])
        return sorted(mails, key=lambda message: message.id or 0, reverse=True)

    def apply_crm_status(
        self, doc_id: int, status: str, *, comment: str = "", source: str = "crm"
    ) -> Document | None:
        """Move the document to ``status`` because staff moved it in the CRM (a system call).

        Any state of the document's workflow is accepted, with or without a transition leading
        there; a state that assigns numbers (``issued``) numbers a document that has none yet.
        Returns ``None`` when the document is already there; raises :class:`ValueError` for a
        state its workflow does not know and :class:`NotFound` for a missing document. The
        outbox row carries ``"origin": source`` so the CRM backend skips echoing it back.
        """
        system = Actor.system()
        comment = comment.strip()
        with self.store.transaction() as tx:
            document = tx.get_document(doc_id)
            if document is None:
                raise NotFound(N_("Not found"), entity="document", id=doc_id)
            document_type = self._type(document.doc_type)
            workflow = document_type.workflow
            try:
                workflow.state(status)
            except KeyError:
                raise ValueError(
                    f"{status!r} is not a state of the {document.doc_type} workflow"
                ) from None
            if document.status == status:
                return None
            changes: dict[str, Any] = {"status": status}
            numbering = any(t.assigns_number and t.target == status for t in workflow.transitions)
            if numbering and document.number is None:
                changes.update(self._number(tx, document, document_type))
            if status == "paid":
                changes["payment_status"] = PaymentStatus.PAID
            stored = tx.update_document(attrs.evolve(document, **changes))
            self.record(
                tx,
                system,
                action="document.crm_status",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={
                    "from": document.status,
                    "to": stored.status,
                    "number": stored.number,
                    "comment": comment,
                    "source": source,
                },
                topic="document.status_changed",
                message={
                    "document": payload(stored),
                    "transition": None,
                    "old_status": document.status,
                    "new_status": stored.status,
                    "comment": comment,
                    "origin": source,
                },
            )
            self._notify(tx, system, stored, document_type, comment)
        self.fire(
            "document_status_changed",
            document=stored,
            old_status=document.status,
            new_status=stored.status,
            actor=system,
        )
        return stored

    def apply_crm_payment(
        self, doc_id: int, payment_status: PaymentStatus | str, *, source: str = "crm"
    ) -> Document | None:
        """Record the payment status the CRM reports (a system call); ``None`` when unchanged.

        Only ``payment_status`` changes: the workflow state is :meth:`apply_crm_status`'s
        business. An unknown value raises :class:`ValueError`. The outbox row (topic
        ``document.payment_changed``) carries ``"origin": source`` like a status change.
        """
        wanted = PaymentStatus(payment_status)
        system = Actor.system()
        with self.store.transaction() as tx:
            document = tx.get_document(doc_id)
            if document is None:
                raise NotFound(N_("Not found"), entity="document", id=doc_id)
            if document.payment_status is wanted:
                return None
            stored = tx.update_document(attrs.evolve(document, payment_status=wanted))
            self.record(
                tx,
                system,
                action="document.crm_payment",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={
                    "from": document.payment_status.value,
                    "to": wanted.value,
                    "source": source,
                },
                topic="document.payment_changed",
                message={
                    "document": payload(stored),
                    "old_payment_status": document.payment_status.value,
                    "new_payment_status": wanted.value,
                    "origin": source,
                },
            )
        return stored

    def _number(self, tx: Tx, document: Document, document_type: DocumentType) -> dict[str, Any]:
        """The next number of the document's series (taken in ``tx``)."""
        on = (
            document_type.numbering_date(document)
            if isinstance(document_type, BaseDocumentType)
            else document.issue_date
        )
        series = series_key(document_type.series_pattern, on)
        sequence = tx.next_number(document.client_id, series)
        number = format_number(document_type.series_pattern, sequence, on)
        return {"series": series, "number": number}

    def preview_totals(self, document: Document) -> DocumentTotals:
        """The totals ``document`` would have if saved (pure: no store, no rate fetching)."""
        document_type = self._type(document.doc_type)
        raise_if(decimal_errors(document))
        if isinstance(document_type, BaseDocumentType):
            document = attrs.evolve(document, extra=document_type.normalise_extra(document.extra))
        totals = self._totals(document, document_type)
        return totals or DocumentTotals(currency=document.currency)

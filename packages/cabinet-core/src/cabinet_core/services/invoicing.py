"""Invoicing use cases built on the documents: convert a proforma, correct an invoice, ask a
seller for a correction, import a received FA(3) file, and send documents by e-mail.

Each use case writes its documents, the workflow move it implies, the audit entries and the
outbox rows in one transaction, so nothing is half done. Sending only queues a ``mail.document``
outbox row; :mod:`cabinet_core.services.mail_delivery` renders and mails it from the worker
and moves the document ``issued → sent`` once the mail is out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from cabinet_core import access
from cabinet_core.converter import to_json_dict
from cabinet_core.doctypes import invoice_effects
from cabinet_core.doctypes.correction_request import CorrectionRequest
from cabinet_core.doctypes.invoices import (
    KSEF_CORRECTION_KINDS,
    CorrectingInvoice,
    CostInvoice,
    Proforma,
    VatInvoice,
)
from cabinet_core.entities import (
    Actor,
    Counterparty,
    Document,
    DocumentLine,
    OutboxMessage,
    Party,
)
from cabinet_core.errors import N_, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.identifiers import email_lookup_key, is_valid_nip, validate_nip
from cabinet_core.ksef import find_ksef_number, is_ksef_number, parse_fa3
from cabinet_core.ksef.fa3_import import MAX_FA3_BYTES
from cabinet_core.services._base import Service, email_errors, raise_if
from cabinet_core.services.documents import party_of_client
from cabinet_core.storage.queries import DocumentQuery
from cabinet_core.sync import Topic

if TYPE_CHECKING:
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.entities import Client
    from cabinet_core.storage import Tx

#: The outbox topic of a document to e-mail (the worker hands it to ``cabinet.mail_delivery``).
MAIL_TOPIC = invoice_effects.MAIL_TOPIC
_CONVERTIBLE = ("issued", "sent")
_CORRECTABLE = ("issued", "sent", "paid")
#: The flow each built-in type starts from (see :meth:`InvoicingService.available`).
_FLOWS = {
    Proforma.key: "convert",
    VatInvoice.key: "correct",
    CorrectingInvoice.key: "correct",
    CostInvoice.key: "request_correction",
}


@attrs.frozen(kw_only=True)
class ImportResult:
    """A saved cost-invoice draft and what the import noticed (English msgids with params)."""

    document: Document
    warnings: tuple[FieldError, ...] = ()


def _warning_json(warning: FieldError) -> dict[str, Any]:
    return {
        "field": warning.field,
        "code": warning.code,
        "message": warning.message,
        "params": {key: str(value) for key, value in warning.params.items()},
    }


def _describe(party: Party | None) -> str:
    if party is None:
        return "—"
    ident = party.nip or party.vat_eu or ""
    return f"{party.name} ({ident})" if ident else party.name or "—"


class InvoicingService(Service):
    """``cabinet.invoicing``: the invoicing flows of issue #3 (points 5, 6, 8, 9, 12)."""

    # -- helpers --------------------------------------------------------------------------------
    def _document(self, tx: Tx, actor: Actor, doc_id: int, *, doc_types: Iterable[str]) -> Document:
        document = tx.get_document(doc_id)
        if document is None:
            raise NotFound(N_("Not found"), entity="document", id=doc_id)
        try:
            access.client_for(tx, actor, document.client_id, write=True)
        except NotFound:
            raise NotFound(N_("Not found"), entity="document", id=doc_id) from None
        if document.doc_type not in set(doc_types):
            raise Conflict(
                N_("This action is not available for this document"), doc_type=document.doc_type
            )
        return document

    def _prepared(self, actor: Actor, draft: Document) -> Document:
        """``draft`` completed, validated and with its rate and totals, as ``documents.create``
        would save it (nothing written yet)."""
        return self.cabinet.documents.validate(actor, attrs.evolve(draft, id=None))

    def _add(self, tx: Tx, actor: Actor, document: Document, action: str) -> Document:
        stored = tx.add_document(document)
        self.record(
            tx,
            actor,
            action=action,
            entity="document",
            entity_id=stored.id,
            client_id=stored.client_id,
            detail={"doc_type": stored.doc_type, "related_id": stored.related_id},
            topic=Topic.DOCUMENT_CREATED,
            message=stored,
        )
        return stored

    def _move(
        self, tx: Tx, actor: Actor, document: Document, transition_key: str, **detail: Any
    ) -> Document:
        """Apply one of the type's transitions on ``document`` (read in ``tx``), recorded as
        ``documents.transition`` records its moves."""
        return self.cabinet.documents.move_in(tx, actor, document, transition_key, **detail)

    def _status_changed(self, actor: Actor, old: Document, new: Document) -> None:
        self.fire(
            "document_status_changed",
            document=new,
            old_status=old.status,
            new_status=new.status,
            actor=actor,
        )

    # -- proforma → VAT invoice -----------------------------------------------------------------
    def convert_proforma(self, actor: Actor, proforma_id: int) -> Document:
        """A ``vat_invoice`` draft made from an issued or sent proforma (its parties, lines,
        currency, language, template and payment terms; ``related_id`` → the proforma), which
        becomes ``converted``. A proforma is converted once; again → :class:`Conflict`."""
        with self.store.transaction(readonly=True) as tx:
            proforma = self._document(tx, actor, proforma_id, doc_types=(Proforma.key,))
        if proforma.status not in _CONVERTIBLE:
            raise Conflict(
                N_("Only an issued proforma can be converted to an invoice"),
                status=proforma.status,
            )
        draft = Document(
            client_id=proforma.client_id,
            doc_type=VatInvoice.key,
            currency=proforma.currency,
            language=proforma.language,
            issue_date=self.now().date(),
            sale_date=proforma.sale_date,
            due_date=proforma.due_date,
            payment_method=proforma.payment_method,
            seller=proforma.seller,
            buyer=proforma.buyer,
            counterparty_id=proforma.counterparty_id,
            bank_account=proforma.bank_account,
            lines=proforma.lines,
            price_mode=proforma.price_mode,
            vat_method=proforma.vat_method,
            template=self._template_for(proforma.template, VatInvoice.key),
            notes=proforma.notes,
            # A split-payment marking ticked by hand on the proforma holds for its invoice.
            extra={
                "split_payment": bool(proforma.extra.get("split_payment", False)),
                # Exempt lines keep their legal basis on the invoice (art. 106e ust. 1 pkt 19).
                **(
                    {"exemption_basis": proforma.extra["exemption_basis"]}
                    if proforma.extra.get("exemption_basis")
                    else {}
                ),
            },
            related_id=proforma.id,
        )
        # The due date of an old proforma may precede today's issue date; it is kept only
        # when still valid, else the user sets a new one on the draft.
        if draft.due_date is not None and draft.due_date < draft.issue_date:
            draft = attrs.evolve(draft, due_date=None)
        prepared = self._prepared(actor, draft)
        with self.store.transaction() as tx:
            # Read again under the write: a concurrent conversion or cancellation wins once,
            # and the version check in update_document refuses the other.
            current = self._document(tx, actor, proforma_id, doc_types=(Proforma.key,))
            if current.status not in _CONVERTIBLE:
                raise Conflict(
                    N_("Only an issued proforma can be converted to an invoice"),
                    status=current.status,
                )
            invoice = self._add(tx, actor, prepared, "document.convert")
            converted = self._move(tx, actor, current, "convert", invoice_id=invoice.id)
        self.fire("document_saved", document=invoice, actor=actor, created=True)
        self._status_changed(actor, current, converted)
        return invoice

    def _template_for(self, template: str | None, doc_type: str) -> str | None:
        """Keep the source's template when it also prints ``doc_type`` (else the default)."""
        if template is None:
            return None
        known = self.cabinet.templates.get(template)
        return template if known is not None and doc_type in known.document_types else None

    # -- correcting invoice (KOR) ----------------------------------------------------------------
    def correct(self, actor: Actor, invoice_id: int, *, reason: str = "") -> Document:
        """A ``correcting_invoice`` draft for an issued, sent or paid VAT invoice, or for an
        issued correcting invoice (a correction of a correction).

        Each line of the invoice as it stands now appears twice: as its "before" row (FA(3)
        ``StanPrzed``) and, right after it, as the editable "after" row, so the draft starts
        as a correction by zero that the user edits (issuing it needs a change and a reason).
        "As it stands now" is after the corrections already issued: a second correction
        starts from the first one's "after" rows, not from the original lines. ``extra`` names
        the corrected invoice (number, issue date, KSeF number) and the reason.
        """
        with self.store.transaction(readonly=True) as tx:
            invoice = self._document(tx, actor, invoice_id, doc_types=_CORRECTED_TYPES)
            submission = tx.ksef.get(invoice_id)
            current_lines = _state_after_corrections(tx, invoice)
        # The KSeF number the invoice has now (accepted, or typed after a manual upload); one
        # it gets later is filled in when the correction's FA(3) is written.
        ksef_number = (
            submission.ksef_number
            if submission is not None and submission.state.value == "accepted"
            else None
        )
        if invoice.status not in _CORRECTABLE or invoice.number is None:
            raise Conflict(N_("Only an issued invoice can be corrected"), status=invoice.status)
        lines: list[DocumentLine] = []
        for line in current_lines:
            lines.append(attrs.evolve(line, before=True))
            lines.append(attrs.evolve(line, before=False))
        extra = {
            "corrected_number": invoice.number,
            "corrected_issue_date": invoice.issue_date.isoformat(),
            "corrected_ksef_number": ksef_number or str(invoice.extra.get("ksef_number") or ""),
            "reason": reason.strip(),
            "split_payment": bool(invoice.extra.get("split_payment", False)),
        }
        draft = Document(
            client_id=invoice.client_id,
            doc_type=CorrectingInvoice.key,
            currency=invoice.currency,
            language=invoice.language,
            issue_date=max(self.now().date(), invoice.issue_date),
            sale_date=invoice.sale_date,
            payment_method=invoice.payment_method,
            seller=invoice.seller,
            buyer=invoice.buyer,
            counterparty_id=invoice.counterparty_id,
            bank_account=invoice.bank_account,
            lines=tuple(lines),
            price_mode=invoice.price_mode,
            vat_method=invoice.vat_method,
            # The corrected invoice's rate: a correction's differences are converted with the
            # rate of the invoice it corrects.
            exchange_rate=invoice.exchange_rate,
            template=self._template_for(invoice.template, CorrectingInvoice.key),
            extra=extra,
            related_id=invoice.id,
        )
        prepared = self._prepared(actor, draft)
        if invoice.exchange_rate is not None and prepared.currency == invoice.currency:
            prepared = attrs.evolve(
                prepared,
                exchange_rate=invoice.exchange_rate,
                totals=self.cabinet.documents.totals(
                    attrs.evolve(prepared, exchange_rate=invoice.exchange_rate)
                ),
            )
        with self.store.transaction() as tx:
            self._document(tx, actor, invoice_id, doc_types=_CORRECTED_TYPES)
            stored = self._add(tx, actor, prepared, "document.correct")
        self.fire("document_saved", document=stored, actor=actor, created=True)
        return stored

    # -- correction request to a seller ----------------------------------------------------------
    def request_correction(
        self,
        actor: Actor,
        cost_invoice_id: int,
        *,
        reason: str,
        lines: tuple[DocumentLine, ...] | None = None,
        seller_email: str,
    ) -> Document:
        """A ``correction_request`` draft to the seller of a cost invoice (``related_id`` → it).

        ``reason`` says what is wrong; ``lines``, when given, are the invoice's lines as they
        should be (stored after "before" copies of the invoice's lines, so the request shows
        the differences). Its ``send`` move numbers it and e-mails it to ``seller_email``.
        """
        errors = email_errors(seller_email, "seller_email")
        if not reason.strip():
            errors.append(
                FieldError(field="reason", code="required", message=N_("This field is required."))
            )
        raise_if(errors)
        with self.store.transaction(readonly=True) as tx:
            invoice = self._document(tx, actor, cost_invoice_id, doc_types=(CostInvoice.key,))
        if invoice.status == "draft":
            # A draft is only being typed in; the request refers to a registered invoice.
            raise Conflict(
                N_("Submit the invoice before asking the seller to correct it"),
                status=invoice.status,
            )
        request_lines: tuple[DocumentLine, ...] = ()
        if lines is not None:
            before = tuple(
                attrs.evolve(line, before=True) for line in invoice.lines if not line.before
            )
            request_lines = before + tuple(attrs.evolve(line, before=False) for line in lines)
        seller = invoice.seller
        if seller is not None:
            seller = attrs.evolve(seller, email=email_lookup_key(seller_email))
        draft = Document(
            client_id=invoice.client_id,
            doc_type=CorrectionRequest.key,
            currency=invoice.currency,
            language=invoice.language,
            issue_date=self.now().date(),
            seller=seller,
            buyer=invoice.buyer,
            counterparty_id=invoice.counterparty_id,
            lines=request_lines,
            price_mode=invoice.price_mode,
            vat_method=invoice.vat_method,
            exchange_rate=invoice.exchange_rate,
            extra={
                "kind": "request",
                "original_number": str(invoice.extra.get("seller_invoice_number") or ""),
                "original_issue_date": invoice.issue_date.isoformat(),
                "original_ksef_number": str(invoice.extra.get("ksef_number") or ""),
                "requested_correction": reason.strip(),
                "seller_email": seller_email.strip(),
            },
            related_id=invoice.id,
        )
        prepared = self._prepared(actor, draft)
        with self.store.transaction() as tx:
            self._document(tx, actor, cost_invoice_id, doc_types=(CostInvoice.key,))
            stored = self._add(tx, actor, prepared, "document.request_correction")
        self.fire("document_saved", document=stored, actor=actor, created=True)
        return stored

    def _link_correction(
        self,
        tx: Tx,
        actor: Actor,
        document: Document,
        moved: list[tuple[Document, Document]],
    ) -> Document:
        """Link a received correcting cost invoice to the invoice it corrects and accept the
        open correction requests for it (see :func:`invoice_effects.link_correction`); each
        ``(before, after)`` of those moves is appended to ``moved`` for the hooks."""

        def move(other: Document, key: str, /, **detail: Any) -> Document:
            result = self._move(tx, actor, other, key, **detail)
            moved.append((other, result))
            return result

        return invoice_effects.link_correction(tx, actor, document, move=move, now=self.now())

    # -- FA(3) import ---------------------------------------------------------------------------
    def import_fa3(
        self,
        actor: Actor,
        client_id: int,
        xml: bytes,
        *,
        filename: str = "",
        ksef_number: str | None = None,
    ) -> ImportResult:
        """A cost-invoice draft from a received FA(3) file (the client is its buyer).

        The seller becomes one of the client's counterparties (created when its NIP is new);
        the seller's number and KSeF number are kept; totals are recomputed from the lines and
        every difference from the file's own totals is a warning stored on the document
        (``extra["import_warnings"]``). Kinds whose amounts are not line sums (advance ZAL,
        settlement ROZ, their corrections, corrections stating only differences) and
        margin-scheme invoices keep the totals the file states. An empty file, one larger than
        KSeF allows (:data:`~cabinet_core.ksef.fa3_import.MAX_FA3_BYTES`), one that is not
        FA(3) or breaks the schema → :class:`ValidationError` on ``file``; nothing is saved.

        The KSeF number is not inside the file: it is ``ksef_number`` when given (checked:
        shape, check digits, the seller's NIP), else found in ``filename`` (KSeF downloads are
        named after it) when it is the seller's.
        """
        # What the upload alone shows is said before anything is read.
        if not xml:
            raise ValidationError.single("file", "required", N_("Choose an FA(3) XML file."))
        if len(xml) > MAX_FA3_BYTES:
            raise ValidationError.single(
                "file",
                "too_large",
                N_("The file is larger than KSeF allows for an invoice (%(limit)s MB)."),
                limit=MAX_FA3_BYTES // (1024 * 1024),
            )
        if actor.client_id is not None:
            # A client's user imports into its own client, as documents.create does.
            client_id = actor.client_id
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id, write=True)
        imported = parse_fa3(xml, client_id=client_id)
        warnings = list(imported.warning_details)
        document = imported.document
        extra = dict(document.extra)
        extra["ksef_kind"] = imported.kind
        number = self._ksef_number(ksef_number, filename, document.seller)
        if number is not None:
            extra["ksef_number"] = number
        if imported.kind in KSEF_CORRECTION_KINDS and imported.corrected:
            extra["corrected_number"] = imported.corrected[0].number
            extra["corrected_issue_date"] = imported.corrected[0].issue_date.isoformat()
        lines, margin = self._margin_lines(document.lines, warnings)
        buyer = self._buyer(document.buyer, client, warnings)
        document = attrs.evolve(
            document,
            buyer=buyer,
            lines=lines,
            receipt_date=max(self.now().date(), document.issue_date),
            totals=None,
            extra=extra | {"import_warnings": [_warning_json(w) for w in warnings]},
        )
        # Not documents.validate: that would replace the seller's exchange rate with today's
        # NBP one, and a received invoice is booked with the rate and PLN VAT it states.
        documents = self.cabinet.documents
        document = attrs.evolve(document, created_by=actor.user_id)
        with self.store.transaction(readonly=True) as tx:
            client = access.client_for(tx, actor, client_id, write=True)
            document, errors = documents.check(tx, document, client)
        if errors:
            # The upload form has one field: say there that the file's content is the problem,
            # and keep the precise errors after it for the API and the log.
            fields = ", ".join(dict.fromkeys(error.field for error in errors))
            summary = FieldError(
                field="file",
                code="invalid_content",
                message=N_(
                    "The invoice in this file has data the cabinet cannot accept: %(fields)s."
                ),
                params={"fields": fields},
            )
            raise ValidationError([summary, *errors])
        # What the cabinet can recompute it does; otherwise the file's own totals stand. Lines
        # at different exchange rates (MF example 21) leave the document without one rate to
        # recompute with: the seller's stated VAT in PLN is kept, as the import warning says.
        per_line_rates = len(set(imported.line_exchange_rates)) > 1
        line_totals = imported.computed_totals is not None and not margin and not per_line_rates
        if line_totals:
            totals = documents.totals(document)
        else:
            totals = imported.stated_totals
            # Kept with the document so that a later save keeps them too.
            document = attrs.evolve(
                document, extra={**document.extra, "stated_totals": to_json_dict(totals)}
            )
        initial = self.cabinet.document_type(document.doc_type).workflow.initial
        document = attrs.evolve(document, totals=totals, status=initial)
        with self.store.transaction() as tx:
            access.client_for(tx, actor, client_id, write=True)
            self._warn_if_known(tx, document, warnings)
            document = attrs.evolve(
                document,
                extra={
                    **document.extra,
                    "import_warnings": [_warning_json(w) for w in warnings],
                },
            )
            counterparty = self._counterparty(tx, actor, client_id, document.seller)
            if counterparty is not None:
                document = attrs.evolve(document, counterparty_id=counterparty.id)
            moved: list[tuple[Document, Document]] = []
            stored = self._link_correction(tx, actor, tx.add_document(document), moved)
            self.record(
                tx,
                actor,
                action="document.import_fa3",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={
                    "filename": filename,
                    "kind": imported.kind,
                    "seller_invoice_number": extra.get("seller_invoice_number"),
                    "warnings": len(warnings),
                },
                topic=Topic.DOCUMENT_CREATED,
                message=stored,
            )
        self.fire("document_saved", document=stored, actor=actor, created=True)
        for before, after in moved:
            self._status_changed(actor, before, after)
        return ImportResult(document=stored, warnings=tuple(warnings))

    @staticmethod
    def _ksef_number(given: str | None, filename: str, seller: Party | None) -> str | None:
        seller_nip = seller.nip if seller is not None else None
        if given is not None and given.strip():
            number = given.strip().upper()
            if not is_ksef_number(number):
                raise ValidationError.single(
                    "ksef_number", "invalid", N_("This is not a valid KSeF number.")
                )
            if seller_nip is not None and not number.startswith(seller_nip):
                raise ValidationError.single(
                    "ksef_number",
                    "other_seller",
                    N_("This KSeF number belongs to another seller's invoice."),
                )
            return number
        found = find_ksef_number(filename)
        if found is not None and seller_nip is not None and found.startswith(seller_nip):
            return found
        return None

    def _warn_if_known(self, tx: Tx, document: Document, warnings: list[FieldError]) -> None:
        """KSeF refuses a second invoice with the same seller, kind and number; a file imported
        twice is most likely the same invoice, so say so (the import itself goes ahead)."""
        number = str(document.extra.get("seller_invoice_number") or "").strip()
        kind = document.extra.get("ksef_kind")
        for known in invoice_effects.same_sellers_invoices(tx, document, number):
            if known.extra.get("ksef_kind", kind) == kind:
                warnings.append(
                    FieldError(
                        field="file",
                        code="duplicate",
                        message=N_(
                            "This seller's invoice %(number)s is already in the cabinet "
                            "(%(existing)s)."
                        ),
                        params={"number": number, "existing": known.number or f"#{known.id}"},
                    )
                )
                return

    def _margin_lines(
        self, lines: tuple[DocumentLine, ...], warnings: list[FieldError]
    ) -> tuple[tuple[DocumentLine, ...], bool]:
        """Lines without a VAT rate (margin-scheme sales: no VAT for the buyer to deduct) as
        ``zw`` lines, each with a warning instead of the parser's "choose a rate" one."""
        result = []
        margin = False
        for index, line in enumerate(lines):
            if line.vat_rate:
                result.append(line)
                continue
            margin = True
            result.append(attrs.evolve(line, vat_rate="zw"))
            field = f"lines.{index}.vat_rate"
            warnings[:] = [
                w for w in warnings if not (w.field == field and w.code == "no_vat_rate")
            ]
            warnings.append(
                FieldError(
                    field=field,
                    code="margin_scheme",
                    message=N_(
                        "Line %(line)s is sold under the margin scheme, which gives the buyer "
                        "no VAT to deduct; it is recorded without VAT (zw)."
                    ),
                    params={"line": index + 1},
                )
            )
        return tuple(result), margin

    def _buyer(self, buyer: Party | None, client: Client, warnings: list[FieldError]) -> Party:
        """The client is the buyer: keep the file's buyer when it is the client (by NIP) and
        named, else print the client and warn when the file names somebody else."""
        own = party_of_client(client)
        file_nip = buyer.nip if buyer is not None else None
        same = (
            file_nip is not None
            and client.nip is not None
            and is_valid_nip(file_nip)
            and validate_nip(file_nip) == client.nip
        )
        if not same:
            warnings.append(
                FieldError(
                    field="buyer.nip",
                    code="not_own",
                    message=N_(
                        "The invoice is addressed to %(buyer)s, not to %(client)s; check that "
                        "it is yours."
                    ),
                    params={"buyer": _describe(buyer), "client": _describe(own)},
                )
            )
            return own
        assert buyer is not None
        return buyer if buyer.name.strip() else own

    def _counterparty(
        self, tx: Tx, actor: Actor, client_id: int, seller: Party | None
    ) -> Counterparty | None:
        """The client's counterparty with the seller's NIP (or EU VAT number), created if new."""
        if seller is None or not (seller.nip or seller.vat_eu):
            return None
        search = seller.nip or seller.vat_eu
        for candidate in tx.list_counterparties(client_id, search=search, limit=50).items:
            if (seller.nip and candidate.nip == seller.nip) or (
                not seller.nip and candidate.vat_eu == seller.vat_eu
            ):
                return candidate
        created = tx.add_counterparty(
            Counterparty(
                client_id=client_id,
                kind=seller.kind,
                name=seller.name,
                nip=seller.nip,
                vat_eu=seller.vat_eu,
                address=seller.address,
                email=seller.email,
            )
        )
        self.record(
            tx,
            actor,
            action="counterparty.create",
            entity="counterparty",
            entity_id=created.id,
            client_id=client_id,
            detail={"name": created.name, "source": "fa3_import"},
        )
        return created

    # -- sending by e-mail ---------------------------------------------------------------------
    def send(
        self, actor: Actor, doc_id: int, *, to: str | None = None, message: str = ""
    ) -> OutboxMessage:
        """Queue an e-mail of the document (PDF, and FA(3) XML for VAT/KOR) to ``to``.

        Default address: the other party's e-mail (the seller's when the client is the buyer,
        as on a correction request). A document is sent in one of its type's
        ``sendable_states`` (sending again is allowed and recorded each time); from a state
        where the type's ``send`` move itself mails it (a draft correction request) that move
        is made, numbering the document and queueing the mail in one transaction.
        """
        with self.store.transaction(readonly=True) as tx:
            document = self._sendable(tx, actor, doc_id)
        document_type = self.cabinet.document_type(document.doc_type)
        if document.status not in document_type.sendable_states:
            if not _mails_on_send(document_type, document.status):
                raise Conflict(N_("Issue the document before sending it"), status=document.status)
            address = self._address(document, to)
            self.cabinet.documents.transition(
                actor, doc_id, "send", context={"to": address, "message": message}
            )
            return self._latest_mail(doc_id, address)
        address = self._address(document, to)
        with self.store.transaction() as tx:
            document = self._sendable(tx, actor, doc_id)
            self._not_waiting_for_ksef(tx, document)
            queued = invoice_effects.queue_mail(
                tx,
                actor,
                document,
                to=address,
                message=message,
                auto=False,
                record=self.record,
                queue=self.queue,
            )
        return queued

    def available(self, document: Document) -> frozenset[str]:
        """The invoicing actions ``document``'s state allows: ``send``, ``convert`` (an issued
        proforma), ``correct`` (an issued VAT invoice), ``request_correction`` (a registered
        cost invoice). Pages show only these buttons; the actions check access again."""
        try:
            document_type = self.cabinet.document_type(document.doc_type)
        except NotFound:
            return frozenset()
        found = set()
        if can_be_sent(document_type, document.status) and not self._waits_for_ksef(
            document, document_type
        ):
            found.add("send")
        action = _FLOWS.get(document.doc_type)
        allowed = {
            "convert": document.status in _CONVERTIBLE,
            "correct": document.status in _CORRECTABLE,
            # A draft is only being typed in; a request refers to a registered invoice.
            "request_correction": document.status != document_type.workflow.initial,
        }
        if action is not None and allowed[action]:
            found.add(action)
        return frozenset(found)

    def _sendable(self, tx: Tx, actor: Actor, doc_id: int) -> Document:
        """The document, when its type is ever e-mailed (else :class:`Conflict`)."""
        sendable = [
            key
            for key, document_type in self.cabinet.document_types.items()
            if document_type.sendable_states
        ]
        return self._document(tx, actor, doc_id, doc_types=sendable)

    def _waits_for_ksef(self, document: Document, document_type: DocumentType) -> bool:
        """Whether ``document`` is on its way to KSeF (not e-mailed before KSeF accepts it)."""
        if document_type.ksef_kind is None or document.id is None:
            return False
        with self.store.transaction(readonly=True) as tx:
            submission = tx.ksef.get(document.id)
        return submission is not None and submission.state.value in _WAITING_FOR_KSEF

    @staticmethod
    def _not_waiting_for_ksef(tx: Tx, document: Document) -> None:
        """An invoice on its way to KSeF is not issued yet (art. 106na): it is e-mailed once
        KSeF accepts it (or at once in offline mode, with its QR codes), never before."""
        assert document.id is not None
        submission = tx.ksef.get(document.id)
        if submission is not None and submission.state.value in _WAITING_FOR_KSEF:
            raise Conflict(
                N_("This invoice waits for KSeF: it can be e-mailed once KSeF has accepted it"),
                ksef_state=submission.state.value,
            )

    def _address(self, document: Document, to: str | None) -> str:
        if to is None or not to.strip():
            client_is_buyer = self.cabinet.document_type(document.doc_type).client_is_buyer
            to = invoice_effects.default_address(document, client_is_buyer=client_is_buyer)
        raise_if(email_errors(to, "to"))
        return email_lookup_key(to)

    def _latest_mail(self, doc_id: int, address: str) -> OutboxMessage:
        with self.store.transaction(readonly=True) as tx:
            for queued in tx.outbox_for("document", doc_id):  # newest first
                if queued.topic == Topic.MAIL_DOCUMENT and queued.payload.get("to") == address:
                    return queued
        raise NotFound(N_("Not found"), entity="outbox", id=doc_id)


#: The types a correcting invoice may correct: a VAT invoice, and a correcting invoice itself.
_CORRECTED_TYPES = (VatInvoice.key, CorrectingInvoice.key)


def _state_after_corrections(tx: Tx, invoice: Document) -> tuple[DocumentLine, ...]:
    """The lines ``invoice`` has after the corrections issued for it (the newest one's "after"
    rows, followed down a chain of corrections of corrections), else its own lines."""
    seen = {invoice.id}
    current = invoice
    while True:
        assert current.id is not None
        found = tx.list_documents(
            DocumentQuery(
                related_id=current.id,
                doc_types=(CorrectingInvoice.key,),
                statuses=_CORRECTABLE,
                order="-id",
                limit=1,
            )
        ).items
        if not found or found[0].id in seen:
            break
        latest = tx.get_document(found[0].id) if found[0].id is not None else None
        if latest is None:
            break
        seen.add(latest.id)
        current = latest
    return tuple(line for line in current.lines if not line.before)


#: The KSeF states of an invoice that is not an invoice yet: it is never e-mailed in them.
_WAITING_FOR_KSEF = frozenset({"queued", "sent", "rejected"})


def can_be_sent(document_type: DocumentType, status: str) -> bool:
    """Whether a document of ``document_type`` in ``status`` may be e-mailed now: in one of
    its ``sendable_states``, or where its ``send`` move mails it (a draft correction request)."""
    return status in document_type.sendable_states or _mails_on_send(document_type, status)


def _mails_on_send(document_type: DocumentType, status: str) -> bool:
    """Whether the type's ``send`` move can be made from ``status`` and has effects (it mails
    the document itself, as a correction request's does)."""
    if not document_type.effects.get("send"):
        return False
    return any(t.key == "send" and status in t.source for t in document_type.workflow.transitions)

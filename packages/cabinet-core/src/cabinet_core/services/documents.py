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
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from cabinet_core import access
from cabinet_core.doctypes import BaseDocumentType, DocumentType, Transition
from cabinet_core.doctypes.common import ComputationDrift, date_range_errors, in_date_range
from cabinet_core.doctypes.effects import EffectContext
from cabinet_core.entities import (
    Actor,
    Client,
    Counterparty,
    Document,
    DocumentTotals,
    ExchangeRate,
    OutboxMessage,
    Party,
    PartyKind,
    PaymentMethod,
    PaymentStatus,
    Product,
    Role,
    User,
)
from cabinet_core.errors import N_, CabinetError, Conflict, FieldError, NotFound, ValidationError
from cabinet_core.fx import RateProvider, RateUnavailable
from cabinet_core.identifiers import is_valid_nip, validate_nip
from cabinet_core.limits import decimal_errors, text_errors
from cabinet_core.money import SUPPORTED_CURRENCIES, round_money
from cabinet_core.numbering_pattern import format_number, series_key
from cabinet_core.services._base import Service, raise_if
from cabinet_core.storage import DocumentQuery, Page, Tx
from cabinet_core.sync import (
    MAIL_SUBSCRIBER,
    DocumentPaymentChange,
    DocumentStatusChange,
    Topic,
)
from cabinet_core.vat import (
    TaxRules,
    compute_correction,
    compute_totals,
    split_payment_applies,
)

MAX_PAGE = 500
_ZERO = Decimal("0.00")


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


@attrs.frozen(kw_only=True)
class SavedDocument:
    """What one :meth:`DocumentService.save` wrote, in its one transaction."""

    #: The document as stored, after the workflow move when one was made.
    document: Document
    #: True for a new document, False for an edit.
    created: bool
    #: The new counterparty the document is linked to, when one was given.
    counterparty: Counterparty | None = None
    #: The catalogue products made from the document's lines.
    products: tuple[Product, ...] = ()
    #: The workflow move made after saving, if any.
    transition: str | None = None


@attrs.frozen(kw_only=True)
class DocumentPreview:
    """The totals a draft would have if saved now, with the NBP rate saving would fix."""

    totals: DocumentTotals
    #: None for PLN, for documents without lines, and when the NBP cannot be reached.
    exchange_rate: ExchangeRate | None = None


class _RateBook:
    """Exchange rates fetched before a save's transaction opens.

    A failure is kept and raised only when the document turns out to need that rate (an edit
    that keeps its fixed rate never does); a rate nobody foresaw is fetched when asked for.
    """

    def __init__(self, provider: RateProvider) -> None:
        self._provider = provider
        self._known: dict[tuple[str, date], ExchangeRate | CabinetError] = {}

    def fetch(self, currency: str, on: date) -> None:
        try:
            self._known[(currency, on)] = self._provider.rate_for(currency, on)
        except CabinetError as exc:
            self._known[(currency, on)] = exc

    def rate_for(self, currency: str, on: date) -> ExchangeRate:
        known = self._known.get((currency, on))
        if known is None:
            return self._provider.rate_for(currency, on)
        if isinstance(known, CabinetError):
            raise known
        return known


def _first_per_field(errors: Iterable[FieldError]) -> builtins.list[FieldError]:
    # A party typed on the document and saved as a counterparty is checked twice; one message
    # per field is what the form can show.
    seen: set[str] = set()
    kept = []
    for error in errors:
        if error.field not in seen:
            seen.add(error.field)
            kept.append(error)
    return kept


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
                party = changes[side] = attrs.evolve(party, nip=validate_nip(party.nip))
            country = party.address.country if party is not None else ""
            if party is not None and country != country.strip().upper():
                # Codes as the FA(3) file writes them; the type's check refuses unknown ones.
                address = attrs.evolve(party.address, country=country.strip().upper())
                changes[side] = attrs.evolve(party, address=address)
        default = client.default_template
        if (
            document.template is None
            and default is not None
            and self._template_allowed(default, document.doc_type, client)
        ):
            changes["template"] = default
        if isinstance(document_type, BaseDocumentType):
            extra = dict(document.extra)
            source = self._made_from(tx, document, document_type, client)
            if source is not None:
                # A bill made from a contract: the contract's terms and contractor, unless given.
                extra = {**document_type.taken_from(source), **extra}
                if changes.get(other, getattr(document, other)) is None:
                    changes[other] = getattr(source, other)
            changes["extra"] = document_type.normalise_extra(extra)
        return attrs.evolve(document, **changes)

    def _made_from(
        self, tx: Tx, document: Document, document_type: BaseDocumentType, client: Client
    ) -> Document | None:
        """The client's document a new one is made from (its ``related_id`` names one of the
        type's :attr:`~BaseDocumentType.made_from` types); an edit keeps what it has."""
        if document.id is not None or document.related_id is None or not document_type.made_from:
            return None
        source = tx.get_document(document.related_id)
        if source is None or source.client_id != client.id:
            return None  # reported by _errors
        return source if source.doc_type in document_type.made_from else None

    def _errors(
        self, tx: Tx, document: Document, document_type: DocumentType, client: Client
    ) -> list[FieldError]:
        """The type's rules plus what only the store knows (ownership of linked records)."""
        rules = self._rules(document.issue_date)
        if isinstance(document_type, BaseDocumentType):
            errors = list(document_type.validate(document, vat_codes=rules.codes))
        else:
            errors = list(document_type.validate(document))
        if _flag(document_type, "issued_no_later_than_today"):
            errors.extend(self._future_issue_date(document))
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
        errors.extend(self._product_errors(tx, document, client))
        return errors

    def _product_errors(
        self, tx: Tx, document: Document, client: Client
    ) -> builtins.list[FieldError]:
        """Lines that name a product outside the client's catalogue. Another client's product
        is answered exactly like an id that does not exist, so the answer tells nothing about
        other clients (and the foreign key never gets the chance to fail with a 500)."""
        errors: builtins.list[FieldError] = []
        owned: dict[int, bool] = {}
        for index, line in enumerate(document.lines):
            if line.product_id is None:
                continue
            if line.product_id not in owned:
                product = tx.get_product(line.product_id)
                owned[line.product_id] = product is not None and product.client_id == client.id
            if not owned[line.product_id]:
                errors.append(
                    FieldError(
                        field=f"lines.{index}.product_id",
                        code="unknown",
                        message=N_("Choose one of your products."),
                    )
                )
        return errors

    def _future_issue_date(self, document: Document) -> builtins.list[FieldError]:
        """An invoice dated after today: KSeF refuses it (the issue date is the day it is
        sent), and its number would come from a month that has not started."""
        if document.issue_date <= self.now().date():
            return []
        return [
            FieldError(
                field="issue_date",
                code="in_future",
                message=N_("The issue date cannot be later than today."),
            )
        ]

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
        self,
        document: Document,
        document_type: DocumentType,
        previous: Document | None,
        rates: _RateBook,
    ) -> ExchangeRate | None:
        """The rate to fix on the document: kept from ``previous`` while currency and tax point
        stay, else the NBP one; none for PLN or for documents without amounts per line."""
        if document.currency == "PLN" or not document_type.has_lines:
            return None
        if (
            previous is not None
            and previous.exchange_rate is not None
            and previous.currency == document.currency
            and tax_point(previous) == tax_point(document)
        ):
            return previous.exchange_rate
        return rates.rate_for(document.currency, tax_point(document))

    def _rates_ahead(self, document: Document) -> _RateBook:
        """The NBP rate a foreign-currency draft will need, fetched before any transaction
        opens: the rate may come over the network, and SQLite's writer lock must not wait
        for it."""
        rates = _RateBook(self.cabinet.rate_provider)
        try:
            has_lines = self.cabinet.document_type(document.doc_type).has_lines
        except NotFound:
            return rates
        if (
            has_lines
            and document.currency != "PLN"
            and document.currency in SUPPORTED_CURRENCIES
            and in_date_range(tax_point(document))
        ):
            # A date out of range is reported by the checks; the NBP is not asked about it.
            rates.fetch(document.currency, tax_point(document))
        return rates

    def _target(
        self, tx: Tx, actor: Actor, document: Document
    ) -> tuple[Client, DocumentType, Document | None]:
        """What saving ``document`` writes to: the client (checked for writing), the type and,
        for an edit, the stored document (whose state must still allow changes)."""
        if document.id is None:
            document_type = self._type(document.doc_type)
            client = access.client_for(tx, actor, document.client_id, write=True)
            return client, document_type, None
        current = tx.get_document(document.id)
        if current is None:
            raise NotFound(N_("Not found"), entity="document", id=document.id)
        try:
            client = access.client_for(tx, actor, current.client_id, write=True)
        except NotFound:
            raise NotFound(N_("Not found"), entity="document", id=document.id) from None
        document_type = self._type(current.doc_type)
        if not document_type.workflow.state(current.status).editable:
            raise Conflict(N_("This document can no longer be changed"), status=current.status)
        return client, document_type, current

    def _draft(
        self,
        actor: Actor,
        document: Document,
        document_type: DocumentType,
        current: Document | None,
    ) -> Document:
        """``document`` with what the server decides put back: a new one's author and first
        version, an edit's client, type, state, number and creation."""
        payment_status = self._payment_status(document, document_type, current)
        if current is None:
            return attrs.evolve(
                document,
                id=None,
                number=None,
                series=None,
                created_by=actor.user_id,
                created_at=None,
                updated_at=None,
                version=1,
                payment_status=payment_status,
            )
        return attrs.evolve(
            document,
            client_id=current.client_id,
            doc_type=current.doc_type,
            status=current.status,
            number=current.number,
            series=current.series,
            payment_status=payment_status,
            created_by=current.created_by,
            created_at=current.created_at,
        )

    def _checked(
        self, tx: Tx, document: Document, document_type: DocumentType, client: Client
    ) -> tuple[Document, builtins.list[FieldError]]:
        """The document completed from the client's data, and every error found in it."""
        document = self._complete(tx, document, document_type, client)
        # Over-long texts are reported once, not again with the type's own errors.
        errors = list(text_errors(document))
        too_long = {error.field for error in errors}
        errors += [
            e for e in self._errors(tx, document, document_type, client) if e.field not in too_long
        ]
        if not errors and isinstance(document_type, BaseDocumentType):
            earlier = self._earlier(tx, document, document_type)
            try:
                document = document_type.derive(
                    document, self.cabinet.tax_years.bill_settings(tx), earlier
                )
            except ValidationError as invalid:
                errors += invalid.errors
        return document, errors

    def _earlier(
        self, tx: Tx, document: Document, document_type: BaseDocumentType
    ) -> builtins.list[Document]:
        """The client's other documents of ``document``'s type in the period its type's
        computation reads (:meth:`~BaseDocumentType.earlier_period`), oldest first."""
        period = document_type.earlier_period(document)
        if period is None:
            return []
        return [
            item
            for item in self._of_type_in(tx, document.client_id, document_type.key, period)
            if item.id is None or item.id != document.id
        ]

    def _of_type_in(
        self, tx: Tx, client_id: int, doc_type: str, period: tuple[date, date]
    ) -> builtins.list[Document]:
        """The client's documents of ``doc_type`` issued in ``period``, oldest first (without
        their lines)."""
        found: builtins.list[Document] = []
        query = DocumentQuery(
            client_ids=(client_id,),
            doc_types=(doc_type,),
            date_from=period[0],
            date_to=period[1],
            order="issue_date",
            limit=500,
            summary=True,
        )
        while True:
            batch = tx.list_documents(query).items
            found += batch
            if len(batch) < query.limit:
                return found
            query = attrs.evolve(query, offset=query.offset + query.limit)

    def _restate(
        self, tx: Tx, actor: Actor, changed: Iterable[Document]
    ) -> builtins.list[Document]:
        """Derive again the drafts whose computation reads one of the ``changed`` documents (as
        they were and as they are: an edit may move a bill to another date or year), in
        ``tx``: a later bill of the same contractor counts an earlier one for the yearly caps.
        A draft whose result is unchanged is left alone; one that cannot be derived now (its
        tax year lost its parameters) stays as it was and its page shows the drift
        (:meth:`drift`). Issued documents are never rewritten. The restated drafts, oldest
        first."""
        starts: dict[tuple[str, int, date], tuple[date, int | None]] = {}
        for document in changed:
            document_type = self._type(document.doc_type)
            if not isinstance(document_type, BaseDocumentType):
                continue
            period = document_type.restate_period(document)
            if period is None:
                continue
            key = (document.doc_type, document.client_id, period[1])
            known = starts.get(key)
            starts[key] = (min(known[0], period[0]) if known else period[0], document.id)
        restated: builtins.list[Document] = []
        for (doc_type, client_id, end), (start, changed_id) in starts.items():
            restated += self._restate_period(
                tx, actor, doc_type, client_id, (start, end), changed_id
            )
        return restated

    def _restate_period(
        self,
        tx: Tx,
        actor: Actor,
        doc_type: str,
        client_id: int,
        period: tuple[date, date],
        changed_id: int | None,
    ) -> builtins.list[Document]:
        document_type = self._type(doc_type)
        if not isinstance(document_type, BaseDocumentType):
            return []
        drafts = [
            item
            for item in self._of_type_in(tx, client_id, doc_type, period)
            # The changed draft too: a later place in the year may make it count drafts that
            # were restated before it.
            if item.status == document_type.workflow.initial
        ]
        reads = [p for p in map(document_type.earlier_period, drafts) if p is not None]
        if not drafts or not reads:
            return []
        # Everything the drafts' computations read, read once.
        context = self._of_type_in(tx, client_id, doc_type, (min(p[0] for p in reads), period[1]))
        current = {item.id: item for item in context}
        settings = self.cabinet.tax_years.bill_settings(tx)
        restated: builtins.list[Document] = []
        for draft in sorted(drafts, key=lambda d: (d.issue_date, d.id or 0)):
            item = current.get(draft.id, draft)
            others = [other for key, other in current.items() if key != item.id]
            try:
                derived = document_type.derive(item, settings, others)
            except ValidationError:
                continue
            if derived.extra == item.extra:
                continue
            derived = attrs.evolve(derived, totals=self._totals(derived, self._type(doc_type)))
            stored = tx.update_document(derived, lines=False)
            self.record(
                tx,
                actor,
                action="document.update",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"version": stored.version, "restated_after": changed_id},
                topic=Topic.DOCUMENT_UPDATED,
                message=stored,
            )
            current[item.id] = stored
            restated.append(stored)
        return restated

    def drift(self, actor: Actor, document: Document) -> ComputationDrift | None:
        """How ``document``'s stored computation differs from what the earlier documents it
        read give now (:meth:`BaseDocumentType.drift`): an issued bill computed before an
        earlier bill of its contractor changed. ``None`` when nothing moved."""
        if document.id is None:
            return None
        with self.store.transaction(readonly=True) as tx:
            stored = self._visible(tx, actor, document.id, write=False)
            document_type = self._type(stored.doc_type)
            if not isinstance(document_type, BaseDocumentType):
                return None
            return document_type.drift(stored, self._earlier(tx, stored, document_type))

    def _finish(
        self,
        document: Document,
        document_type: DocumentType,
        current: Document | None,
        rates: _RateBook,
    ) -> Document:
        """A checked document with its exchange rate, totals, MPP flag and (new) first state."""
        rate = self._exchange_rate(document, document_type, current, rates)
        document = attrs.evolve(document, exchange_rate=rate)
        document = attrs.evolve(document, totals=self._totals(document, document_type))
        document = self._mark_split_payment(document, document_type)
        if current is not None:
            return document
        initial = (
            document_type.initial_status(document)
            if isinstance(document_type, BaseDocumentType)
            else document_type.workflow.initial
        )
        return attrs.evolve(document, status=initial)

    def _mark_split_payment(self, document: Document, document_type: DocumentType) -> Document:
        """Set ``extra["split_payment"]`` when the MPP rule requires it (module docstring)."""
        if not document_type.split_payment or not document_type.has_lines:
            return document
        rules = self._rules(document.issue_date)
        if not split_payment_applies(document, rules=rules, by_flag=False):
            return document
        return attrs.evolve(document, extra={**document.extra, "split_payment": True})

    def _payment_status(
        self, document: Document, document_type: DocumentType, current: Document | None
    ) -> PaymentStatus:
        """What the client says for documents it received (a cost invoice it already paid);
        for its own sales documents the workflow decides (unpaid until marked paid)."""
        if document_type.client_is_buyer:
            return document.payment_status
        return current.payment_status if current is not None else PaymentStatus.UNPAID

    def _new_counterparty(
        self, actor: Actor, document: Document, document_type: DocumentType, given: Counterparty
    ) -> tuple[Counterparty | None, Document, builtins.list[FieldError]]:
        """The checked new counterparty, the document with its party filled from it when none
        was typed on the document, and its errors under the document's side (``buyer.nip``)."""
        side = "seller" if _flag(document_type, "client_is_buyer") else "buyer"
        errors: builtins.list[FieldError] = []
        if document.counterparty_id is not None:
            errors.append(
                FieldError(
                    field="counterparty_id",
                    code="unknown",
                    message=N_("Choose one of your counterparties."),
                )
            )
        checked: Counterparty | None = None
        try:
            checked = self.cabinet.counterparties.check_new(
                actor, attrs.evolve(given, client_id=document.client_id)
            )
        except ValidationError as exc:
            errors += [attrs.evolve(e, field=f"{side}.{e.field}") for e in exc.errors]
        if getattr(document, side) is None:
            # Even a refused one stands on the document, so that the document's own checks
            # speak of the same party (and no "seller required" comes on top).
            source = checked or given
            party = Party(
                kind=source.kind,
                name=source.name,
                nip=source.nip,
                vat_eu=source.vat_eu,
                address=source.address,
                email=source.email,
            )
            if side == "seller":
                document = attrs.evolve(document, seller=party)
            else:
                document = attrs.evolve(document, buyer=party)
        return checked, document, errors

    def _catalogue(
        self, actor: Actor, document: Document, line_indexes: Collection[int]
    ) -> tuple[builtins.list[Product], builtins.list[FieldError]]:
        """Catalogue products made from the document's lines ``line_indexes`` (a line picked
        from the catalogue already has one), with their errors under the line (``lines.2.unit``)."""
        products: builtins.list[Product] = []
        errors: builtins.list[FieldError] = []
        for index in sorted(set(line_indexes)):
            if not 0 <= index < len(document.lines):
                raise ValueError(f"the document has no line {index}")
            line = document.lines[index]
            if line.product_id is not None:
                continue
            product = Product(
                client_id=document.client_id,
                name=line.name.strip(),
                unit=line.unit.strip(),
                unit_price=line.unit_price,
                currency=document.currency,
                vat_rate=line.vat_rate,
                gtu=line.gtu,
                procedures=line.procedures,
            )
            try:
                products.append(self.cabinet.products.check_new(actor, product))
            except ValidationError as exc:
                errors += [attrs.evolve(e, field=f"lines.{index}.{e.field}") for e in exc.errors]
        return products, errors

    # -- the API --------------------------------------------------------------------------------
    def validate(self, actor: Actor, document: Document) -> Document:
        """The document as ``create`` (no ``id``) or ``update`` (with ``id``) would save it:
        completed, checked, with its rate and totals; raises like they do and writes nothing."""
        if document.id is None and actor.client_id is not None:
            document = attrs.evolve(document, client_id=actor.client_id)
        with self.store.transaction(readonly=True) as tx:
            client, document_type, current = self._target(tx, actor, document)
            # Numbers no column can hold (NaN, 1e40, 9 decimals) stop here, before arithmetic.
            raise_if(decimal_errors(document))
            draft = self._draft(actor, document, document_type, current)
            draft, errors = self._checked(tx, draft, document_type, client)
            raise_if(errors)
        # Outside any transaction: the rate may come over the network.
        return self._finish(draft, document_type, current, _RateBook(self.cabinet.rate_provider))

    def save(
        self,
        actor: Actor,
        document: Document,
        *,
        new_counterparty: Counterparty | None = None,
        catalogue_lines: Collection[int] = (),
        transition: str | None = None,
        comment: str = "",
    ) -> SavedDocument:
        """Save a document with what it brings along, in one transaction, prepared once.

        The drafts whose computation reads the document (a later bill of the same contractor)
        are derived again in the same transaction (:meth:`_restate`).

        ``document`` without ``id`` is created in its workflow's first state; with ``id`` it
        replaces the stored one, whose ``version`` it must carry (else :class:`Conflict`).
        ``new_counterparty`` joins the client's counterparties and the document is linked to
        it (its party is filled from it when the document has none on that side);
        ``catalogue_lines`` are indexes of lines whose goods join the client's catalogue (a
        line picked from the catalogue is skipped); ``transition`` is a workflow move made
        right after saving (``submit``, ``issue``), with ``comment`` when it needs one.

        Every problem of the document, the counterparty (under the document's side:
        ``buyer.nip``) and the products (under their line: ``lines.1.unit``) comes in one
        :class:`ValidationError`, and nothing is saved; a refused move saves nothing either.
        The audit entries, outbox rows and events are those of the separate calls
        (``counterparties.create``, ``create``/``update``, ``products.create``,
        ``transition``), in that order; the events fire after the commit.
        """
        if document.id is None and actor.client_id is not None:
            # A client's user always saves into its own client.
            document = attrs.evolve(document, client_id=actor.client_id)
        rates = self._rates_ahead(document)
        with self.store.transaction() as tx:
            client, document_type, current = self._target(tx, actor, document)
            draft = self._draft(actor, document, document_type, current)
            errors = list(decimal_errors(draft))
            # Only numbers every column can hold reach the arithmetic of the checks.
            numbers_ok = not errors
            counterparty: Counterparty | None = None
            if new_counterparty is not None:
                counterparty, draft, found = self._new_counterparty(
                    actor, draft, document_type, new_counterparty
                )
                errors += found
            products: builtins.list[Product] = []
            if numbers_ok:
                draft, found = self._checked(tx, draft, document_type, client)
                errors += found
                products, found = self._catalogue(actor, draft, catalogue_lines)
                errors += found
            raise_if(_first_per_field(errors))
            prepared = self._finish(draft, document_type, current, rates)
            if counterparty is not None:
                counterparty = self.cabinet.counterparties.add(tx, actor, counterparty)
                # The party snapshot stands on the document; the link lets lists find it.
                prepared = attrs.evolve(prepared, counterparty_id=counterparty.id)
            stored = self._write(tx, actor, prepared)
            saved_products = tuple(self.cabinet.products.add(tx, actor, p) for p in products)
            moved: Document | None = None
            related: builtins.list[tuple[Document, Document]] = []
            if transition is not None:
                moved = self._move(tx, actor, stored, transition, comment, {}, related)
            changed = [moved or stored] if current is None else [current, moved or stored]
            restated = self._restate(tx, actor, changed)
            again = {item.id: item for item in restated}
            stored = again.pop(stored.id, stored) if moved is None else stored
            moved = again.pop(moved.id, moved) if moved is not None else None
        self.fire("document_saved", document=stored, actor=actor, created=current is None)
        if moved is not None:
            self._fire_moved(actor, stored, moved, related)
        self._fire_restated(actor, again.values())
        return SavedDocument(
            document=moved or stored,
            created=current is None,
            counterparty=counterparty,
            products=saved_products,
            transition=transition,
        )

    def _write(self, tx: Tx, actor: Actor, document: Document) -> Document:
        """Store a prepared document (new or edited) with its audit entry and outbox row."""
        if document.id is None:
            stored = tx.add_document(document)
            self.record(
                tx,
                actor,
                action="document.create",
                entity="document",
                entity_id=stored.id,
                client_id=stored.client_id,
                detail={"doc_type": stored.doc_type, "status": stored.status},
                topic=Topic.DOCUMENT_CREATED,
                message=stored,
            )
            return stored
        stored = tx.update_document(document)
        self.record(
            tx,
            actor,
            action="document.update",
            entity="document",
            entity_id=stored.id,
            client_id=stored.client_id,
            detail={"version": stored.version},
            topic=Topic.DOCUMENT_UPDATED,
            message=stored,
        )
        return stored

    def create(self, actor: Actor, document: Document) -> Document:
        """Validate and save a new document in its workflow's first state."""
        return self.save(actor, attrs.evolve(document, id=None)).document

    def update(self, actor: Actor, document: Document) -> Document:
        """Save changes to a document whose state is editable; ``document.version`` must be the
        stored one (else :class:`Conflict`: somebody changed it meanwhile)."""
        if document.id is None:
            raise NotFound(N_("Not found"), entity="document", id=None)
        return self.save(actor, document).document

    def delete(self, actor: Actor, doc_id: int) -> None:
        """Delete a draft (a numbered or moved-on document stays for the record); the later
        drafts that counted it are derived again in the same transaction."""
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
                topic=Topic.DOCUMENT_DELETED,
                message=current,
            )
            restated = self._restate(tx, actor, [current])
        self._fire_restated(actor, restated)

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
            stored = self._move(tx, actor, document, transition_key, comment, context or {}, moved)
            # A cancelled bill no longer counts for the later drafts of its contractor.
            restated = self._restate(tx, actor, [stored])
            again = {item.id: item for item in restated}
            stored = again.pop(stored.id, stored)
        self._fire_moved(actor, document, stored, moved)
        self._fire_restated(actor, again.values())
        return stored

    def _fire_restated(self, actor: Actor, restated: Iterable[Document]) -> None:
        """The ``document_saved`` hooks of the drafts a committed change derived again."""
        for document in restated:
            self.fire("document_saved", document=document, actor=actor, created=False)

    def _move(
        self,
        tx: Tx,
        actor: Actor,
        document: Document,
        transition_key: str,
        comment: str,
        context: Mapping[str, Any],
        moved: builtins.list[tuple[Document, Document]],
    ) -> Document:
        """Make one workflow move on ``document`` (as read in ``tx``) and record it there, then
        the type's effects of the move; the related documents they move land in ``moved``."""
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
        if move.assigns_number and isinstance(document_type, BaseDocumentType):
            # What the document must say before it is final (a correction's reason).
            raise_if(list(document_type.check_issue(document)))
        changes: dict[str, Any] = {"status": move.target}
        if move.assigns_number and document.number is None:
            changes.update(self._number(tx, document, document_type))
        if move.target == "paid":
            changes["payment_status"] = PaymentStatus.PAID
        stored = self._store_move(
            tx,
            actor,
            document,
            changes,
            action="document.transition",
            transition=move.key,
            comment=comment.strip(),
        )
        self._notify(tx, actor, stored, document_type, comment.strip())
        return self._run_effects(tx, actor, document_type, move, document, stored, context, moved)

    def _fire_moved(
        self,
        actor: Actor,
        before: Document,
        after: Document,
        moved: Iterable[tuple[Document, Document]] = (),
    ) -> None:
        """The event hooks of a committed move and of the related moves its effects made."""
        self.fire(
            "document_status_changed",
            document=after,
            old_status=before.status,
            new_status=after.status,
            actor=actor,
        )
        for other_before, other_after in moved:
            self.fire(
                "document_status_changed",
                document=other_after,
                old_status=other_before.status,
                new_status=other_after.status,
                actor=actor,
            )

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
        *,
        key: str | None = None,
    ) -> Document:
        """The type's effects of ``move`` (of ``key`` when given), in order, each seeing the
        document as the previous one left it; the related documents they move are collected in
        ``moved``."""

        def move_other(other: Document, key: str, /, **detail: Any) -> Document:
            result = self.move_in(tx, actor, other, key, **detail)
            moved.append((other, result))
            return result

        for effect in document_type.effects.get(key or move.key, ()):
            ctx = EffectContext(
                tx=tx,
                actor=actor,
                before=before,
                after=after,
                transition=move,
                context=context,
                now=self.now(),
                record=self.record,
                queue=self.queue,
                move=move_other,
                document_type=document_type,
            )
            after = effect(ctx) or after
        return after

    def run_event_effects(
        self,
        tx: Tx,
        actor: Actor,
        document: Document,
        event: str,
        context: Mapping[str, Any],
        moved: builtins.list[tuple[Document, Document]],
    ) -> Document:
        """Run the effects ``document``'s type declares for ``event`` (a KSeF event, see
        :mod:`cabinet_core.doctypes.effects`) in ``tx``, as a move's effects run; the document
        as they left it. The related moves they make land in ``moved`` (their hooks fire after
        the commit: :meth:`fire_moved`)."""
        document_type = self._type(document.doc_type)
        if event not in document_type.effects:
            return document
        # The event's pseudo-move: it names the event and leaves the state where it is.
        pseudo = Transition(
            key=event,
            source=(document.status,),
            target=document.status,
            roles=frozenset(),
            label={"pl": event, "en": event},
        )
        return self._run_effects(
            tx, actor, document_type, pseudo, document, document, context, moved, key=event
        )

    def fire_moved(self, actor: Actor, moved: Iterable[tuple[Document, Document]]) -> None:
        """The ``document_status_changed`` hooks of moves made in a committed transaction."""
        for before, after in moved:
            self.fire(
                "document_status_changed",
                document=after,
                old_status=before.status,
                new_status=after.status,
                actor=actor,
            )

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
        return self._store_move(
            tx,
            actor,
            document,
            {"status": move.target},
            action="document.transition",
            transition=move.key,
            detail=detail,
        )

    def _store_move(
        self,
        tx: Tx,
        actor: Actor,
        document: Document,
        changes: Mapping[str, Any],
        *,
        action: str,
        transition: str | None,
        comment: str | None = None,
        detail: Mapping[str, Any] | None = None,
        origin: str | None = None,
    ) -> Document:
        """Store a move of ``document`` (read in ``tx``; ``changes`` hold its new status and
        what comes with it, its lines stay) with its audit entry and ``document.status_changed``
        message: the one record of a state change, whoever made it. ``comment`` (``None``:
        the move takes none) and ``detail`` join the audit entry."""
        stored = tx.move_document(document, changes)
        audited: dict[str, Any] = {"from": document.status, "to": stored.status}
        if transition is not None:
            audited = {"transition": transition, **audited}
        if comment is not None:
            audited.update(number=stored.number, comment=comment)
        self.record(
            tx,
            actor,
            action=action,
            entity="document",
            entity_id=stored.id,
            client_id=stored.client_id,
            detail={**audited, **(detail or {})},
            topic=Topic.DOCUMENT_STATUS_CHANGED,
            message=DocumentStatusChange(
                document=stored,
                transition=transition,
                old_status=document.status,
                new_status=stored.status,
                comment=comment or "",
            ),
            origin=origin,
        )
        return stored

    def _accountants_of(self, tx: Tx, client_id: int) -> builtins.list[User]:
        """Who serves ``client_id``: its assigned accountant, else every accountant."""
        client = tx.get_client(client_id)
        if client is not None and client.accountant_id is not None:
            assigned = tx.get_user(client.accountant_id)
            if assigned is not None and assigned.active:
                return [assigned]
        return tx.list_users(role=Role.ACCOUNTANT)

    def _notify(
        self, tx: Tx, actor: Actor, document: Document, document_type: DocumentType, comment: str
    ) -> None:
        """Tell the people a move concerns, in each one's language.

        * a document now waiting for the firm (the type's ``review_states``: a submitted cost
          invoice) → the client's assigned accountant, or every active accountant when none is
          assigned (or the assigned one is no longer active);
        * a move by the firm or a CRM (approved, returned, booked, paid …) → every active user
          of the client, not only the author;
        * a client's user's own move → its author, when someone else made it.

        The one who moved it is never told.
        """
        recipients: list[User]
        kind = "document.status_changed"
        if document.status in document_type.review_states:
            kind = "document.submitted"
            recipients = self._accountants_of(tx, document.client_id)
        elif actor.role is not Role.CLIENT:
            recipients = tx.list_users(client_id=document.client_id)
        elif document.created_by is None or document.created_by == actor.user_id:
            # The author moved its own document: nobody to tell (and nothing to read).
            return
        else:
            author = tx.get_user(document.created_by)
            recipients = [author] if author is not None else []
        client_name = ""
        if kind == "document.submitted":
            client = tx.get_client(document.client_id)
            client_name = client.name if client is not None else ""

        def text(language: str) -> str:
            state = document_type.workflow.state(document.status).label.get(
                language, document.status
            )
            name = document_type.label.get(language, document_type.key)
            said = f"{name} {document.number or ''}".strip() + f": {state}"
            if client_name:
                said += f" ({client_name})"
            if comment:
                said += f" — {comment}"
            return said

        self.notify(
            tx,
            recipients,
            kind=kind,
            text=text,
            link=f"/documents/{document.id}",
            skip=actor.user_id,
        )

    # -- deliveries and the CRM's side -----------------------------------------------------------
    def deliveries(self, actor: Actor, doc_id: int) -> builtins.list[OutboxMessage]:
        """What was sent about the document, newest first, one entry per delivery: every
        e-mail (queued, sent, retrying or failed) and, for staff only, the newest delivery to
        each CRM backend (a client's user has no business with the firm's CRM errors)."""
        with self.store.transaction(readonly=True) as tx:
            self._visible(tx, actor, doc_id, write=False)
            messages = tx.outbox_for("document", doc_id)  # newest first
        shown = [m for m in messages if m.subscriber == MAIL_SUBSCRIBER]
        if actor.role.is_staff:
            newest: dict[str, OutboxMessage] = {}
            for message in messages:
                if message.subscriber is not None and message.subscriber != MAIL_SUBSCRIBER:
                    newest.setdefault(message.subscriber, message)
            shown.extend(newest.values())
        return sorted(shown, key=lambda message: message.id or 0, reverse=True)

    def apply_crm_status(
        self, doc_id: int, status: str, *, comment: str = "", source: str = "crm"
    ) -> Document | None:
        """Move the document to ``status`` because staff moved it in the CRM (a system call).

        Any state of the document's workflow is accepted, with or without a transition leading
        there; a state that assigns numbers (``issued``) numbers a document that has none yet.
        Returns ``None`` when the document is already there; raises :class:`ValueError` for a
        state its workflow does not know and :class:`NotFound` for a missing document. The
        outbox message's ``origin`` is ``source``, the name of the CRM backend whose change
        this is: that backend gets no delivery of it (no echo), every other active one does.
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
            stored = self._store_move(
                tx,
                system,
                document,
                changes,
                action="document.crm_status",
                transition=None,
                comment=comment,
                detail={"source": source},
                origin=source,
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
        ``document.payment_changed``) has ``origin`` ``source`` like a status change.
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
                topic=Topic.DOCUMENT_PAYMENT_CHANGED,
                message=DocumentPaymentChange(
                    document=stored,
                    old_payment_status=document.payment_status,
                    new_payment_status=wanted,
                ),
                origin=source,
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

    def check(
        self, tx: Tx, document: Document, client: Client
    ) -> tuple[Document, builtins.list[FieldError]]:
        """``document`` completed from ``client``'s data and every problem in it (numbers and
        texts no column holds, its type's rules, ownership of what it links to), read in the
        caller's transaction ``tx``; writes nothing.

        For use cases that save a document in their own unit of work with a rate and totals of
        their own, such as an imported invoice, which keeps what its file states.
        """
        document, errors = self._checked(tx, document, self._type(document.doc_type), client)
        return document, [*decimal_errors(document), *errors]

    def totals(self, document: Document) -> DocumentTotals | None:
        """The totals ``document`` has by its type's rules: its lines summed with the VAT rules
        of its issue date at its exchange rate, or the amount of a type without lines (pure)."""
        return self._totals(document, self._type(document.doc_type))

    def preview(self, document: Document) -> DocumentPreview:
        """The totals ``document`` would have if saved now, with the NBP rate saving would fix
        for a foreign currency (the last business day before the tax point, art. 31a).

        Nothing is read or written and the document is not validated (a form being typed is
        seldom valid); a rate that cannot be had (the NBP is down) leaves the PLN amounts out,
        not the totals. An unsupported currency or a number no column holds is a
        :class:`ValidationError`, as saving would say.
        """
        if document.currency not in SUPPORTED_CURRENCIES:
            raise ValidationError.single(
                "currency", "unsupported", N_("Documents can be issued in PLN, EUR or USD.")
            )
        document_type = self._type(document.doc_type)
        # A date out of range gets no rate and no rules: say so at its field, as saving would.
        raise_if(date_range_errors(document))
        rate: ExchangeRate | None = None
        if document.currency != "PLN" and document_type.has_lines:
            try:
                rate = self.cabinet.rate_provider.rate_for(document.currency, tax_point(document))
            except RateUnavailable:
                rate = None
            document = attrs.evolve(document, exchange_rate=rate)
        return DocumentPreview(totals=self.preview_totals(document), exchange_rate=rate)

    def preview_totals(self, document: Document) -> DocumentTotals:
        """The totals ``document`` would have if saved (pure: no store, no rate fetching)."""
        document_type = self._type(document.doc_type)
        raise_if(decimal_errors(document))
        if isinstance(document_type, BaseDocumentType):
            document = attrs.evolve(document, extra=document_type.normalise_extra(document.extra))
            if not document_type.validate(document):
                # What saving would compute (a bill's payout after ZUS and tax).
                with self.store.transaction(readonly=True) as tx:
                    settings = self.cabinet.tax_years.bill_settings(tx)
                document = document_type.derive(document, settings)
        totals = self._totals(document, document_type)
        return totals or DocumentTotals(currency=document.currency)

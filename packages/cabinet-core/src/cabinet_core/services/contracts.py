"""``cabinet.contracts``: a contract made from a template in one call.

The client (the ordering party, *zamawiający*) picks an active template, names the contractor
(a person with a PESEL or a company with a NIP) and types the values; :meth:`ContractService.create`
checks the contractor, then saves the contract through the documents service (its access rule,
its validation, one transaction with the audit entry and the outbox row). The contract keeps the
template *version* it was made from, so later edits of the template never change its text.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import attrs
from stdnum.pl import pesel as stdnum_pesel

from cabinet_core.contract_templates import FIELDS_OF_EXPLOITATION
from cabinet_core.contract_text import Block
from cabinet_core.entities import Actor, Address, Document, Party, PartyKind
from cabinet_core.errors import N_, FieldError, NotFound, ValidationError
from cabinet_core.identifiers import validate_nip
from cabinet_core.services._base import Service, raise_if
from cabinet_core.services.contract_templates import templated_type
from cabinet_core.storage import DocumentQuery, Page

#: Where the documents service's errors show on the contract form.
_FIELD_NAMES = {
    "extra.contractor_pesel": "contractor.pesel",
    "buyer.name": "contractor.name",
    "buyer.nip": "contractor.nip",
    "buyer": "contractor.name",
}


@attrs.frozen(kw_only=True)
class Contractor:
    """The other party: a natural person (``pesel``) or a company (``nip``)."""

    kind: PartyKind = PartyKind.PERSON
    name: str = ""
    pesel: str = ""
    nip: str = ""
    address: Address = attrs.field(factory=Address)
    email: str = ""


@attrs.frozen(kw_only=True)
class ContractOrder:
    """What the "New contract" form and ``POST /api/v1/contracts`` send."""

    client_id: int | None = None
    template_id: int | None = None
    #: One of the client's own counterparties as the contractor (its data fill ``contractor``;
    #: a person's PESEL still comes from ``contractor.pesel``).
    counterparty_id: int | None = None
    contractor: Contractor = attrs.field(factory=Contractor)
    subject: str = ""
    date_from: date | None = None
    date_to: date | None = None
    rate_type: str = "lump_sum"
    amount: Decimal | None = None
    hourly_rate: Decimal | None = None
    currency: str = "PLN"
    copyright_transfer: bool = False
    fields_of_exploitation: tuple[str, ...] = ()
    issue_date: date | None = None


def contractor_errors(contractor: Contractor) -> tuple[Contractor, list[FieldError]]:
    """The contractor with its identifier normalised, and the problems at their fields."""
    errors: list[FieldError] = []
    if not contractor.name.strip():
        errors.append(
            FieldError(
                field="contractor.name", code="required", message=N_("This field is required.")
            )
        )
    if contractor.kind is PartyKind.PERSON:
        pesel = stdnum_pesel.compact(contractor.pesel)
        if not pesel:
            errors.append(
                FieldError(
                    field="contractor.pesel",
                    code="required",
                    message=N_("A person's PESEL is required."),
                )
            )
        elif not stdnum_pesel.is_valid(pesel):
            errors.append(
                FieldError(
                    field="contractor.pesel",
                    code="invalid_pesel",
                    message=N_("This is not a valid PESEL number."),
                )
            )
        return attrs.evolve(contractor, pesel=pesel, name=contractor.name.strip()), errors
    if not contractor.nip.strip():
        errors.append(
            FieldError(
                field="contractor.nip", code="required", message=N_("This field is required.")
            )
        )
        return contractor, errors
    try:
        nip = validate_nip(contractor.nip, field="contractor.nip")
    except ValidationError as error:
        return contractor, [*errors, *error.errors]
    return attrs.evolve(contractor, nip=nip, pesel="", name=contractor.name.strip()), errors


def _renamed(errors: Iterable[FieldError]) -> list[FieldError]:
    """The documents service's errors under the contract form's field names."""
    renamed = []
    for error in errors:
        field = _FIELD_NAMES.get(error.field)
        if field is None and error.field.startswith("extra."):
            field = error.field.removeprefix("extra.")
        renamed.append(attrs.evolve(error, field=field or error.field))
    return renamed


class ContractService(Service):
    """Contracts made from templates (the documents service stores and moves them)."""

    @property
    def doc_type(self) -> str:
        """The key of the document type contracts are stored as."""
        return templated_type(self.cabinet.document_types).key

    def may_make(self, actor: Actor) -> bool:
        """Whether ``actor``'s role may make contracts (the roles of the type's workflow)."""
        document_type = templated_type(self.cabinet.document_types)
        return any(actor.role in move.roles for move in document_type.workflow.transitions)

    def list(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> Page[Document]:
        """The contracts the actor may see, newest first."""
        query = DocumentQuery(doc_types=(self.doc_type,), limit=limit, offset=offset, summary=True)
        return self.cabinet.documents.list(actor, query)

    def _with_counterparty(
        self, actor: Actor, order: ContractOrder, client_id: int | None
    ) -> tuple[ContractOrder, builtins.list[FieldError]]:
        """``order`` with its contractor taken from the client's counterparty, if it names one."""
        if order.counterparty_id is None:
            return order, []
        try:
            party = self.cabinet.counterparties.get(actor, order.counterparty_id)
        except NotFound:
            party = None
        if party is None or party.client_id != client_id:
            return order, [
                FieldError(
                    field="counterparty_id",
                    code="not_found",
                    message=N_("Choose one of the client's counterparties."),
                )
            ]
        contractor = Contractor(
            kind=party.kind,
            name=party.name,
            pesel=order.contractor.pesel,
            nip=party.nip or "",
            address=party.address,
            email=party.email,
        )
        return attrs.evolve(order, contractor=contractor), []

    def text(self, actor: Actor, doc_id: int) -> tuple[Document, tuple[Block, ...] | None]:
        """A contract the actor may see and its text (``None``: made without a template)."""
        document = self.cabinet.documents.get(actor, doc_id)
        if document.doc_type != self.doc_type:
            raise NotFound(N_("Not found"), entity="document", id=doc_id)
        with self.store.transaction(readonly=True) as tx:
            client = tx.get_client(document.client_id)
        if client is None:
            raise NotFound(N_("Not found"), entity="client", id=document.client_id)
        return document, self.cabinet.contract_templates.text_of(document, client)

    def create(self, actor: Actor, order: ContractOrder) -> Document:
        """Make a draft contract from ``order``; every problem in one :class:`ValidationError`
        (under the order's field names), nothing saved."""
        document_type = templated_type(self.cabinet.document_types)
        errors: list[FieldError] = []
        template = None
        if order.template_id is None:
            errors.append(
                FieldError(field="template_id", code="required", message=N_("Choose a template."))
            )
        else:
            try:
                template = self.cabinet.contract_templates.get(actor, order.template_id)
            except NotFound:
                template = None
            if template is None or not template.active:
                errors.append(
                    FieldError(
                        field="template_id",
                        code="inactive",
                        message=N_("This template is not available."),
                    )
                )
                template = None
        if template is None:
            raise ValidationError(errors)
        client_id = order.client_id if order.client_id is not None else actor.client_id
        order, errors = self._with_counterparty(actor, order, client_id)
        contractor, found = contractor_errors(order.contractor)
        errors += found
        unknown = [key for key in order.fields_of_exploitation if key not in FIELDS_OF_EXPLOITATION]
        if unknown:
            errors.append(
                FieldError(
                    field="fields_of_exploitation",
                    code="invalid_choice",
                    message=N_("Choose fields of exploitation from the list."),
                )
            )
        if client_id is None:
            errors.append(
                FieldError(field="client_id", code="required", message=N_("Choose a client."))
            )
        hourly = order.rate_type == "hourly"
        draft = Document(
            client_id=client_id or 0,
            doc_type=document_type.key,
            issue_date=order.issue_date or self.now().date(),
            language=template.language,
            currency=order.currency,
            counterparty_id=order.counterparty_id,
            buyer=Party(
                kind=contractor.kind,
                name=contractor.name,
                nip=contractor.nip or None,
                address=contractor.address,
                email=contractor.email,
            ),
            extra={
                "contract_kind": template.contract_kind,
                "subject": order.subject,
                "date_from": order.date_from.isoformat() if order.date_from else None,
                "date_to": order.date_to.isoformat() if order.date_to else None,
                "rate_type": order.rate_type,
                "amount": None if hourly or order.amount is None else str(order.amount),
                "hourly_rate": str(order.hourly_rate)
                if hourly and order.hourly_rate is not None
                else None,
                "copyright_transfer": order.copyright_transfer,
                "contractor_pesel": contractor.pesel or None,
                "fields_of_exploitation": list(order.fields_of_exploitation)
                if order.copyright_transfer
                else [],
                "template_version_id": template.version_id,
            },
        )
        # The contract's own checks too, so the form shows every problem at once.
        checked = attrs.evolve(draft, extra=document_type.normalise_extra(draft.extra))
        seen = {(error.field, error.code) for error in errors}
        for error in _renamed(document_type.validate(checked)):
            if (error.field, error.code) not in seen and error.field != "contractor.pesel":
                errors.append(error)
        raise_if(errors)
        try:
            return self.cabinet.documents.save(actor, draft).document
        except ValidationError as error:
            raise ValidationError(_renamed(error.errors)) from None

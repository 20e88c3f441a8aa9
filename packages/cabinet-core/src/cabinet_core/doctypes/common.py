"""What the built-in document types share: typed ``extra`` fields, the common checks and the
two workflows most documents follow (a cost invoice's approval path and a sales document's life).

A plugin's own document type may subclass :class:`BaseDocumentType` too; only the
:class:`~cabinet_core.doctypes.DocumentType` protocol is required.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from cabinet_core.doctypes.base import FieldSpec, Gender, State, Transition, Workflow
from cabinet_core.doctypes.effects import KSEF_REJECT_TRANSITION, Effect
from cabinet_core.entities import Document, Party, Role
from cabinet_core.errors import N_, FieldError, ValidationError
from cabinet_core.identifiers import is_valid_nip, validate_country
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.vat import TaxRules, rules_on
from cabinet_core.vat_statement.markers import GTU_CODES, procedure_errors

if TYPE_CHECKING:
    from cabinet_core.settings import Settings

CLIENT_SIDE = frozenset({Role.CLIENT, Role.MANAGER, Role.ADMIN})
BOOKKEEPING = frozenset({Role.ACCOUNTANT, Role.ADMIN})
EVERYONE = frozenset(Role)
LANGUAGES = ("pl", "en", "pl+en")
#: Art. 106i ust. 7: an invoice may be issued at most 60 days before the supply.
MAX_DAYS_ISSUED_BEFORE_SALE = 60
#: The range of dates a document may carry. The VAT rates the cabinet knows start on
#: 1 January 2011 and the NBP lookup walks back from a date, so nothing earlier is accepted
#: (year 1 would overflow it); the end keeps date arithmetic (a due date + days) in range.
EARLIEST_DATE = date(2011, 1, 1)
LATEST_DATE = date(2099, 12, 31)
#: A document's own date fields, each held to that range.
DATE_FIELDS = ("issue_date", "sale_date", "receipt_date", "due_date")


def pl_en(pl: str, en: str) -> Mapping[str, str]:
    """A label in both UI languages."""
    return {"pl": pl, "en": en}


def _error(field: str, code: str, message: str, **params: Any) -> FieldError:
    return FieldError(field=field, code=code, message=message, params=params)


# -- typed extra fields ------------------------------------------------------------------------


def parse_field(spec: FieldSpec, value: Any) -> Any:
    """``value`` as the Python type of ``spec.kind`` (``date``, ``Decimal`` …), or raise ValueError.

    Stored documents hold JSON (dates and decimals as strings); forms send strings; both read
    back through here.
    """
    kind = spec.kind
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            raise ValueError("text expected")
        return value.strip()
    if kind == "date":
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            return date.fromisoformat(value.strip())
        raise ValueError("date expected")
    if kind in ("decimal", "money"):
        # Floats are refused: a binary float has already lost the amount's exact value.
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise ValueError("decimal expected")
        try:
            number = (
                Decimal(value.strip().replace(",", "."))
                if isinstance(value, str)
                else Decimal(value)
            )
        except InvalidOperation:
            raise ValueError("decimal expected") from None
        if not number.is_finite():
            raise ValueError("decimal expected")
        return number
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("integer expected")
        return int(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "on", "yes", "false", "0", ""):
            return value.lower() in ("true", "1", "on", "yes")
        raise ValueError("yes/no expected")
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise ValueError("unknown choice")
        return value
    raise ValueError(f"unknown field kind {kind!r}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_of(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- the common checks ---------------------------------------------------------------------------


def date_range_errors(document: Document) -> list[FieldError]:
    """Each of the document's own dates outside :data:`EARLIEST_DATE` … :data:`LATEST_DATE`,
    as a field error (a type's extra date fields are checked with the type's fields)."""
    return [
        _out_of_range(name) for name in DATE_FIELDS if not in_date_range(getattr(document, name))
    ]


def in_date_range(value: date | None) -> bool:
    """Whether ``value`` (``None``: no date) is one a document may carry."""
    return value is None or EARLIEST_DATE <= value <= LATEST_DATE


def _out_of_range(field: str, earliest: date = EARLIEST_DATE) -> FieldError:
    return _error(
        field,
        "out_of_range",
        N_("Enter a date between %(earliest)s and %(latest)s."),
        earliest=earliest.isoformat(),
        latest=LATEST_DATE.isoformat(),
    )


def check_dates(document: Document) -> list[FieldError]:
    """The due date not before the issue date; an invoice at most 60 days before the sale."""
    errors = date_range_errors(document)
    if errors:
        # Comparisons between dates out of range say nothing more.
        return errors
    if document.due_date is not None and document.due_date < document.issue_date:
        errors.append(
            _error(
                "due_date", "before_issue_date", N_("The due date cannot be before the issue date.")
            )
        )
    if document.sale_date is not None and document.sale_date > document.issue_date + timedelta(
        days=MAX_DAYS_ISSUED_BEFORE_SALE
    ):
        errors.append(
            _error(
                "sale_date",
                "too_far_after_issue",
                N_("An invoice may be issued at most 60 days before the sale."),
            )
        )
    return errors


def check_party(party: Party | None, field: str, *, required: bool) -> list[FieldError]:
    """A seller or buyer: a name when present (or required), a NIP with a valid check digit and
    an address country the FA(3) schema accepts (blank is Poland)."""
    if party is None:
        if required:
            return [_error(field, "required", N_("This field is required."))]
        return []
    errors = []
    if not party.name.strip():
        errors.append(_error(f"{field}.name", "required", N_("This field is required.")))
    if party.nip and not is_valid_nip(party.nip):
        errors.append(
            _error(f"{field}.nip", "nip_checksum", N_("This NIP is not valid (wrong check digit)."))
        )
    if party.address.country.strip():
        try:
            validate_country(party.address.country, field=f"{field}.address.country")
        except ValidationError as error:
            errors += error.errors
    return errors


def check_lines(
    document: Document, vat_codes: Collection[str], *, allow_zero_quantity: bool = False
) -> list[FieldError]:
    """At least one line; names, positive quantities, non-negative prices, known VAT codes."""
    errors = []
    if not any(not line.before for line in document.lines):
        errors.append(_error("lines", "required", N_("Add at least one line.")))
    for index, line in enumerate(document.lines):
        prefix = f"lines.{index}"
        if not line.name.strip():
            errors.append(_error(f"{prefix}.name", "required", N_("This field is required.")))
        if line.quantity < 0 or (line.quantity == 0 and not allow_zero_quantity):
            errors.append(
                _error(
                    f"{prefix}.quantity",
                    "not_positive",
                    N_("The quantity must be greater than zero."),
                )
            )
        if line.unit_price < 0:
            errors.append(
                _error(f"{prefix}.unit_price", "negative", N_("The price cannot be negative."))
            )
        if line.vat_rate not in vat_codes:
            errors.append(
                _error(
                    f"{prefix}.vat_rate",
                    "unknown_vat_rate",
                    N_("Unknown VAT rate."),
                    vat_rate=line.vat_rate,
                )
            )
        if line.gtu is not None and line.gtu not in GTU_CODES:
            errors.append(_error(f"{prefix}.gtu", "unknown", N_("Choose GTU_01 … GTU_13.")))
        errors += procedure_errors(line.procedures, f"{prefix}.procedures")
    return errors


def vat_codes_on(on: date, rules: Sequence[TaxRules] = ()) -> frozenset[str]:
    """The VAT rate codes in force on ``on`` under the registered rule sets ``rules`` (pass
    ``cabinet.tax_rules``, so plugin-registered rates count); none given: the built-in rules."""
    return frozenset(rules_on(rules, on).codes)


# -- workflows -------------------------------------------------------------------------------------

DRAFT = State(key="draft", label=pl_en("Szkic", "Draft"), editable=True)


#: Where a document KSeF rejected waits to be fixed: editable, its number kept (an invoice KSeF
#: refused was never issued, so the corrected one takes the same number; docs/plugins/ksef.md).
def ksef_rejected_state(gender: Gender = Gender.FEMININE) -> State:
    """The state ``ksef_rejected`` in words that agree with the type's ``gender``."""
    rejected = gender.pick("Odrzucony", "Odrzucona", "Odrzucone")
    return State(
        key="ksef_rejected",
        label=pl_en(f"{rejected} przez KSeF – do poprawy", "Rejected by KSeF – to fix"),
        editable=True,
    )


KSEF_REJECTED_STATE = ksef_rejected_state()


def sales_workflow(
    *,
    cancellable_from: tuple[str, ...] = (),
    extra_states: tuple[State, ...] = (),
    extra_transitions: tuple[Transition, ...] = (),
    ksef: bool = False,
    gender: Gender = Gender.MASCULINE,
) -> Workflow:
    """draft → issued (numbered) → sent → paid; optionally cancelled from the given states;
    ``extra_states``/``extra_transitions`` add a type's own moves (a proforma's conversion).

    ``ksef`` (a type with a ``ksef_kind``) adds the state ``ksef_rejected`` and the move
    ``ksef_reject`` (``issued``/``sent`` → ``ksef_rejected``) that nobody makes by hand: the
    KSeF service makes it when KSeF refuses the document; ``issue`` then leads back from there.

    The Polish words agree with ``gender``, the type's :attr:`DocumentType.gender` ("Faktura
    VAT – Wystawiona", "Rachunek – Wystawiony").
    """
    g = gender.pick
    states = [
        DRAFT,
        State(key="issued", label=pl_en(g("Wystawiony", "Wystawiona", "Wystawione"), "Issued")),
        State(key="sent", label=pl_en(g("Wysłany", "Wysłana", "Wysłane"), "Sent")),
        State(key="paid", label=pl_en(g("Opłacony", "Opłacona", "Opłacone"), "Paid"), final=True),
        *extra_states,
    ]
    transitions = [
        Transition(
            key="issue",
            source=("draft", KSEF_REJECTED_STATE.key) if ksef else ("draft",),
            target="issued",
            roles=CLIENT_SIDE,
            label=pl_en("Wystaw", "Issue"),
            assigns_number=True,
        ),
        # Sending by e-mail (cabinet.invoicing.send) makes this move once the mail is out;
        # made by hand it records a document handed over some other way.
        Transition(
            key="send",
            source=("issued",),
            target="sent",
            roles=CLIENT_SIDE,
            label=pl_en(
                g("Oznacz jako wysłany", "Oznacz jako wysłaną", "Oznacz jako wysłane"),
                "Mark as sent",
            ),
        ),
        Transition(
            key="mark_paid",
            source=("issued", "sent"),
            target="paid",
            roles=EVERYONE,
            label=pl_en(
                g("Oznacz jako opłacony", "Oznacz jako opłaconą", "Oznacz jako opłacone"),
                "Mark as paid",
            ),
        ),
    ]
    transitions.extend(extra_transitions)
    if ksef:
        states.append(ksef_rejected_state(gender))
        transitions.append(
            Transition(
                key=KSEF_REJECT_TRANSITION,
                source=("issued", "sent"),
                target=KSEF_REJECTED_STATE.key,
                roles=frozenset(),
                label=pl_en(
                    g("Odrzucony", "Odrzucona", "Odrzucone") + " przez KSeF", "Rejected by KSeF"
                ),
            )
        )
    if cancellable_from:
        cancelled = g("Anulowany", "Anulowana", "Anulowane")
        states.append(State(key="cancelled", label=pl_en(cancelled, "Cancelled"), final=True))
        transitions.append(
            Transition(
                key="cancel",
                source=cancellable_from,
                target="cancelled",
                roles=CLIENT_SIDE,
                label=pl_en("Anuluj", "Cancel"),
                needs_comment=True,
            )
        )
    return Workflow(states=tuple(states), transitions=tuple(transitions))


# -- the base class ------------------------------------------------------------------------------


#: The side of the books (``ledger``) of each VAT register.
_LEDGER_OF_REGISTER: Mapping[str, str] = MappingProxyType(
    {"sales": "sales", "purchase": "purchases"}
)


def _template_version(document: Document) -> bool:
    value = document.extra.get("template_version_id")
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@attrs.frozen(kw_only=True)
class EarlierDocument:
    """One of the earlier documents a computed document read (a bill the yearly caps counted),
    named as the page names it: its number, else its issue date (a draft)."""

    id: int | None
    number: str | None
    issue_date: date


@attrs.frozen(kw_only=True)
class ComputationDrift:
    """How a stored computation differs from what the earlier documents give now: ``changed``
    are the earlier documents that changed, appeared or went since (empty when the stored
    computation did not keep them), ``differences`` each year-to-date figure's change (now
    less then), only those that moved."""

    changed: tuple[EarlierDocument, ...]
    differences: Mapping[str, Decimal]


class BaseDocumentType:
    """Common behaviour: typed ``extra`` fields, required fields and the shared checks.

    Subclasses set the class attributes and override :meth:`check` for their own rules.
    """

    key: ClassVar[str]
    label: ClassVar[Mapping[str, str]]
    #: The grammatical gender of the Polish label ("dokument" is masculine, hence the default);
    #: a type whose workflow says its own words declares theirs agree with it.
    gender: ClassVar[Gender] = Gender.MASCULINE
    series_pattern: ClassVar[str]
    workflow: ClassVar[Workflow]
    fields: ClassVar[Sequence[FieldSpec]] = ()
    has_lines: ClassVar[bool] = False
    vat_bearing: ClassVar[bool] = False
    #: ``extra`` keys a type accepts without a form field (structured data sent through the API).
    structured_extra: ClassVar[tuple[str, ...]] = ()
    #: Whether the buyer or the seller party must be given.
    buyer_required: ClassVar[bool] = False
    seller_required: ClassVar[bool] = False
    #: The client is the buyer (a cost invoice, a correction request), else the seller.
    client_is_buyer: ClassVar[bool] = False
    #: The FA(3) ``RodzajFaktury`` the type is written to KSeF as; ``None``: never in KSeF.
    ksef_kind: ClassVar[str | None] = None
    #: States in which the document may be e-mailed to its party (none: never e-mailed).
    sendable_states: ClassVar[frozenset[str]] = frozenset()
    #: Whether the split-payment (MPP) rule applies to the type's documents.
    split_payment: ClassVar[bool] = False
    #: Offered under "New" in the documents list.
    offer_new: ClassVar[bool] = False
    #: Its text comes from a contract template (``extra["template_version_id"]``).
    from_template: ClassVar[bool] = False
    #: Transition key → effects run inside that move's transaction.
    effects: ClassVar[Mapping[str, Sequence[Effect]]] = MappingProxyType({})
    #: The totals are a correction's differences (after − before, per rate).
    corrects: ClassVar[bool] = False
    #: Types whose documents this type is made from (a bill from a contract): their pages offer
    #: "Issue …", and a new document whose ``related_id`` names one takes :meth:`taken_from`.
    made_from: ClassVar[tuple[str, ...]] = ()
    #: The VAT register the documents go to (``"sales"``, ``"purchase"``) or ``None``.
    vat_register: ClassVar[str | None] = None
    #: The states in which a document counts in its VAT register.
    vat_register_states: ClassVar[frozenset[str]] = frozenset()
    #: The date field whose month is the document's VAT period (the issue date when empty).
    vat_period_basis: ClassVar[str] = "issue_date"
    #: The states in which a document waits for the firm to act on it (a submitted cost
    #: invoice to approve): the staff dashboard counts them.
    review_states: ClassVar[frozenset[str]] = frozenset()
    #: The states in which a document is back with the client to be fixed (a returned cost
    #: invoice): the client's and the staff dashboard count them.
    returned_states: ClassVar[frozenset[str]] = frozenset()
    #: Which side of the books reports count the type on: ``"sales"`` (documents the client
    #: issued), ``"purchases"`` (documents it received) or ``None`` (other: not an account).
    #: Worked out from ``vat_register`` unless a type sets it (see ``__init_subclass__``).
    ledger: ClassVar[str | None] = None
    #: The issue date may not be later than today (an invoice: KSeF refuses it, and it would
    #: take a number in a month that has not started).
    issued_no_later_than_today: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A type in a VAT register is on that side of the books: one declaration, not two
        # that could disagree (a type outside any register may still set ``ledger`` itself).
        super().__init_subclass__(**kwargs)
        if "ledger" not in cls.__dict__ and cls.vat_register is not None:
            cls.ledger = _LEDGER_OF_REGISTER.get(cls.vat_register)

    @property
    def deliverable_states(self) -> frozenset[str]:
        """States in which a mail queued earlier may still go out: the sendable ones (a type
        whose documents move on after sending, like a converted proforma, widens this)."""
        return self.sendable_states

    def field(self, name: str) -> FieldSpec:
        """The declared field ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def value(self, document: Document, name: str) -> Any:
        """The typed value of extra field ``name`` (its default when absent or unreadable)."""
        spec = self.field(name)
        raw = document.extra.get(name)
        if _blank(raw):
            return spec.default
        try:
            return parse_field(spec, raw)
        except ValueError:
            return spec.default

    def normalise_extra(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """``extra`` with declared fields in their stored JSON form; unreadable values left as
        they are so :meth:`validate` can report them. Defaults fill absent fields."""
        result: dict[str, Any] = {}
        for spec in self.fields:
            raw = extra.get(spec.name)
            if _blank(raw):
                if spec.default is not None:
                    result[spec.name] = _json_of(spec.default)
                continue
            try:
                result[spec.name] = _json_of(parse_field(spec, raw))
            except ValueError:
                result[spec.name] = raw
        for key in self.structured_extra:
            if key in extra:
                result[key] = extra[key]
        for key, raw in extra.items():
            result.setdefault(key, raw)
        return result

    def amount(self, document: Document) -> Decimal | None:
        """The amount a document without lines stands for (a bill's gross), shown in lists."""
        return None

    def taken_from(self, source: Document) -> dict[str, Any]:
        """The ``extra`` values a new document takes over from ``source`` (one of the types in
        :attr:`made_from`); the document's own values win."""
        return {}

    def breakdown(self, document: Document) -> Mapping[str, Any] | None:
        """A computed breakdown the printable view shows (a bill's ZUS and PIT); none here."""
        return None

    def earlier_period(self, document: Document) -> tuple[date, date] | None:
        """The issue dates of the client's other documents of this type that :meth:`derive`
        reads (a bill: its year so far, for the yearly caps); ``None`` when it reads none."""
        return None

    def restate_period(self, document: Document) -> tuple[date, date] | None:
        """The issue dates of the client's documents of this type whose :meth:`derive` may read
        ``document`` (a bill: the rest of its year); when ``document`` changes, the documents
        service derives the drafts among them again. ``None``: no other document reads it."""
        return None

    def drift(self, document: Document, earlier: Sequence[Document]) -> ComputationDrift | None:
        """How ``document``'s stored computation differs from what ``earlier`` (as for
        :meth:`derive`) gives now, ``None`` when it does not (or the type computes nothing)."""
        return None

    def derive(
        self, document: Document, settings: Settings, earlier: Sequence[Document] = ()
    ) -> Document:
        """``document`` with what the type computes once its fields are valid, under the
        installation's ``settings`` (a bill's ZUS and PIT). ``earlier`` are the client's other
        documents of this type issued in :meth:`earlier_period`. Raises ``ValidationError``
        when it cannot (no tax parameters for the year)."""
        return document

    def numbering_date(self, document: Document) -> date:
        """The date whose month and year the document's number carries (the issue date)."""
        return document.issue_date

    def initial_status(self, document: Document) -> str:
        """The state a new ``document`` starts in (the workflow's first state by default)."""
        return self.workflow.initial

    def validate(
        self, document: Document, *, vat_codes: Collection[str] | None = None
    ) -> Sequence[FieldError]:
        """Every problem with ``document``; ``vat_codes`` defaults to the built-in Polish rates."""
        errors: list[FieldError] = []
        if document.doc_type != self.key:
            errors.append(_error("doc_type", "mismatch", N_("Wrong document type.")))
        if document.currency not in SUPPORTED_CURRENCIES:
            errors.append(
                _error(
                    "currency",
                    "unsupported",
                    N_("Documents can be issued in PLN, EUR or USD."),
                    currency=document.currency,
                )
            )
        if document.language not in LANGUAGES:
            errors.append(_error("language", "unsupported", N_("Choose Polish, English or both.")))
        errors.extend(self._check_extra(document))
        errors.extend(check_dates(document))
        errors.extend(check_party(document.buyer, "buyer", required=self.buyer_required))
        errors.extend(check_party(document.seller, "seller", required=self.seller_required))
        if self.has_lines:
            codes = vat_codes if vat_codes is not None else vat_codes_on(document.issue_date)
            errors.extend(self.check_lines(document, codes))
        elif document.lines:
            errors.append(_error("lines", "not_allowed", N_("This document has no lines.")))
        if self.vat_register != "purchase":
            errors += [
                _error(
                    f"lines.{index}.non_deductible",
                    "not_a_purchase",
                    N_("Only a purchase line can be marked not deductible."),
                )
                for index, line in enumerate(document.lines)
                if line.non_deductible
            ]
        errors.extend(self.check(document))
        if self.from_template and document.id is None and not _template_version(document):
            # A contract's clauses come from its template: none is made without one.
            errors.append(
                _error(
                    "extra.template_version_id",
                    "template_required",
                    N_("A contract is made from a template: choose one under New contract."),
                )
            )
        return errors

    def check_lines(self, document: Document, vat_codes: Collection[str]) -> list[FieldError]:
        """The line checks (a correcting invoice allows zero quantities)."""
        return check_lines(document, vat_codes)

    def _check_extra(self, document: Document) -> list[FieldError]:
        errors = []
        declared = {spec.name for spec in self.fields} | set(self.structured_extra)
        for key in document.extra:
            if key not in declared:
                errors.append(_error(f"extra.{key}", "unknown", N_("Unknown field.")))
        for spec in self.fields:
            raw = document.extra.get(spec.name)
            if _blank(raw):
                if spec.required and spec.default is None:
                    errors.append(
                        _error(f"extra.{spec.name}", "required", N_("This field is required."))
                    )
                continue
            try:
                value = parse_field(spec, raw)
            except ValueError:
                errors.append(
                    _error(f"extra.{spec.name}", "invalid", _INVALID_MESSAGES.get(spec.kind, _BAD))
                )
                continue
            earliest = spec.earliest or EARLIEST_DATE
            if isinstance(value, date) and not earliest <= value <= LATEST_DATE:
                errors.append(_out_of_range(f"extra.{spec.name}", earliest))
        return errors

    def check(self, document: Document) -> Iterable[FieldError]:
        """The type's own rules (override in subclasses); the extra fields are already readable."""
        return ()

    def check_issue(self, document: Document) -> Iterable[FieldError]:
        """What a saved document must also have before a move gives it its number (a draft may
        lack it while being typed: a correction's reason); override in subclasses."""
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"


_BAD = N_("This value is not valid.")
_INVALID_MESSAGES: Mapping[str, str] = {
    "date": N_("Enter a date as YYYY-MM-DD."),
    "decimal": N_("Enter a number."),
    "money": N_("Enter an amount."),
    "int": N_("Enter a whole number."),
    "choice": N_("Choose one of the options."),
    "bool": N_("Choose yes or no."),
    "text": N_("Enter text."),
    "textarea": N_("Enter text."),
}

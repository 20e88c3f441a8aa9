"""The building blocks every document type is made of."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from cabinet_core.entities import Role

if TYPE_CHECKING:
    from cabinet_core.doctypes.effects import Effect
    from cabinet_core.entities import Document
    from cabinet_core.errors import FieldError


class Gender(enum.Enum):
    """The grammatical gender (rodzaj gramatyczny) of a document type's Polish name.

    Polish adjectives and participles agree with the noun they describe, so the words a
    workflow says about a document follow its type: "Faktura VAT – Wystawiona", "Rachunek –
    Wystawiony", "Pełnomocnictwo – Wystawione". English needs no such agreement.
    """

    MASCULINE = "m"  # rachunek, raport kasowy
    FEMININE = "f"  # faktura, umowa, prośba
    NEUTER = "n"  # pełnomocnictwo, wezwanie

    def pick(self, masculine: str, feminine: str, neuter: str) -> str:
        """The one of three forms that agrees with this gender."""
        return {Gender.MASCULINE: masculine, Gender.FEMININE: feminine, Gender.NEUTER: neuter}[self]


@attrs.frozen(kw_only=True)
class State:
    """One workflow state; ``editable`` says whether the document's content may still change."""

    key: str
    label: Mapping[str, str]
    editable: bool = False
    final: bool = False


@attrs.frozen(kw_only=True)
class Transition:
    """A named move between states that only the listed roles may make.

    ``assigns_number`` makes the move take the next number from the type's series (in the
    same transaction). ``needs_comment`` requires a comment (a returned cost invoice says why).
    """

    key: str
    source: tuple[str, ...]
    target: str
    roles: frozenset[Role]
    label: Mapping[str, str]
    assigns_number: bool = False
    needs_comment: bool = False


@attrs.frozen(kw_only=True)
class Workflow:
    """States and the transitions between them; the first state is where documents start."""

    states: tuple[State, ...]
    transitions: tuple[Transition, ...]

    @property
    def initial(self) -> str:
        return self.states[0].key

    def state(self, key: str) -> State:
        for state in self.states:
            if state.key == key:
                return state
        raise KeyError(key)

    def transition(self, key: str) -> Transition:
        for transition in self.transitions:
            if transition.key == key:
                return transition
        raise KeyError(key)

    def available(self, status: str, role: Role) -> tuple[Transition, ...]:
        """Transitions that ``role`` may make from ``status``."""
        return tuple(t for t in self.transitions if status in t.source and role in t.roles)


@attrs.frozen(kw_only=True)
class FieldSpec:
    """A field a document type shows and validates beyond the common document fields.

    ``kind`` is one of ``text``, ``textarea``, ``date``, ``decimal``, ``money``, ``choice``,
    ``bool``, ``int``; ``choices`` maps stored values to labels per language. A ``date`` takes
    the years a document may carry, from ``earliest`` instead when given (a date of birth).
    """

    name: str
    kind: str
    label: Mapping[str, str]
    required: bool = False
    choices: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    default: Any = None
    earliest: date | None = None


@runtime_checkable
class DocumentType(Protocol):
    """What a document type provides. Built-ins subclass :class:`BaseDocumentType`, which gives
    every capability below a default (off, empty or ``None``).

    The capabilities say how the rest of the cabinet treats the type, so no code outside the
    type needs to know its key:

    * ``ksef_kind``: the FA(3) ``RodzajFaktury`` the type is written to KSeF as (``"VAT"``,
      ``"KOR"``), or ``None`` when it never goes to KSeF (a proforma, a bill);
    * ``sendable_states``: the states in which the document may be e-mailed to its party
      (``cabinet.invoicing.send``); empty when it is never e-mailed;
    * ``deliverable_states``: the states in which an e-mail queued earlier may still go out
      (a proforma converted meanwhile still reaches its buyer); at least ``sendable_states``;
    * ``split_payment``: whether the MPP rule (:func:`cabinet_core.vat.split_payment_applies`)
      applies: saving sets ``extra["split_payment"]`` when the law requires the marking;
    * ``client_is_buyer``: the client is the buyer (a cost invoice it received), not the seller;
    * ``offer_new``: offered under "New" in the documents list;
    * ``from_template``: its text is a contract template filled with its values (see
      :mod:`cabinet_core.contract_templates`);
    * ``ledger``: the side of the books reports count the type's documents on, ``"sales"``
      (issued), ``"purchases"`` (received) or ``None`` (other, e.g. a proforma or a contract);
    * ``effects``: transition key → effects run inside that move's transaction (see
      :mod:`cabinet_core.doctypes.effects`);
    * ``vat_register``: the VAT register (rejestr VAT) the type's documents are entered in,
      ``"sales"`` or ``"purchase"``, or ``None`` when they are in none (a proforma, a bill);
      ``vat_register_states`` are the states in which a document counts there, and
      ``vat_period_basis`` the date field (``sale_date``, ``issue_date``, ``receipt_date``;
      the issue date when it is empty) whose month places it in a VAT period
      (:mod:`cabinet_core.vat_statement`). The dashboards read the registers too: a
      ``"sales"`` document in those states and not paid is the client's receivable, a
      ``"purchase"`` one its payable;
    * ``review_states``: the states in which a document waits for the firm (to approve);
    * ``returned_states``: the states in which it is back with the client to be fixed;
    * ``corrects``: the totals are a correction's differences (after − before), so the document
      has no payment due of its own;
    * ``made_from``: the types a document of this type is made from (a bill from a contract);
      their pages offer "Issue …" and :meth:`taken_from` gives what the new one takes over;
    * :meth:`breakdown`: a computed breakdown the printable view shows (a bill's ZUS and PIT),
      or ``None``.
    """

    key: str
    label: Mapping[str, str]
    #: The grammatical gender of the Polish ``label``, which the workflow's words agree with.
    gender: Gender
    series_pattern: str
    workflow: Workflow
    fields: Sequence[FieldSpec]
    has_lines: bool
    vat_bearing: bool
    ksef_kind: str | None
    sendable_states: frozenset[str]
    split_payment: bool
    client_is_buyer: bool
    offer_new: bool
    from_template: bool
    ledger: str | None
    effects: Mapping[str, Sequence[Effect]]
    vat_register: str | None
    vat_register_states: frozenset[str]
    vat_period_basis: str
    review_states: frozenset[str]
    returned_states: frozenset[str]
    corrects: bool
    made_from: tuple[str, ...]

    @property
    def deliverable_states(self) -> frozenset[str]:
        """States in which a mail queued earlier may still go out (see above)."""
        ...

    def validate(self, document: Document) -> Sequence[FieldError]:
        """Problems with ``document`` as a whole (empty when it may be saved)."""
        ...

    def normalise_extra(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """``extra`` with declared fields in their stored form (defaults filled in)."""
        ...

    def taken_from(self, source: Document) -> dict[str, Any]:
        """The ``extra`` values a new document takes over from ``source`` (see ``made_from``)."""
        ...

    def breakdown(self, document: Document) -> Mapping[str, Any] | None:
        """The computed breakdown the printable view shows, or ``None``."""
        ...

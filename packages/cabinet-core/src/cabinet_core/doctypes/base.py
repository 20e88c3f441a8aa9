"""The building blocks every document type is made of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from cabinet_core.entities import Role

if TYPE_CHECKING:
    from cabinet_core.entities import Document
    from cabinet_core.errors import FieldError


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
    ``bool``, ``int``; ``choices`` maps stored values to labels per language.
    """

    name: str
    kind: str
    label: Mapping[str, str]
    required: bool = False
    choices: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    default: Any = None


@runtime_checkable
class DocumentType(Protocol):
    """What a document type provides. Built-ins subclass :class:`BaseDocumentType`."""

    key: str
    label: Mapping[str, str]
    series_pattern: str
    workflow: Workflow
    fields: Sequence[FieldSpec]
    has_lines: bool
    vat_bearing: bool

    def validate(self, document: Document) -> Sequence[FieldError]:
        """Problems with ``document`` as a whole (empty when it may be saved)."""
        ...

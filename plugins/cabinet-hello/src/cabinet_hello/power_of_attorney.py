"""The power of attorney (pełnomocnictwo, art. 98-109 Kodeksu cywilnego) as a document type.

It shows what a document type is made of: a key and labels, a numbering series, typed fields
beyond the common ones, a workflow with the roles that may move it, and its own validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import ClassVar

from cabinet_core.doctypes import (
    BaseDocumentType,
    FieldSpec,
    Gender,
    State,
    Transition,
    Workflow,
)
from cabinet_core.entities import Document, Role
from cabinet_core.errors import N_, FieldError

#: The three scopes art. 98 KC knows: general (ogólne, ordinary management), of a kind
#: (rodzajowe, a kind of acts) and specific (szczególne, one named act).
SCOPES = {
    "general": {"pl": "Ogólne", "en": "General"},
    "kind": {"pl": "Rodzajowe", "en": "For a kind of acts"},
    "specific": {"pl": "Szczególne", "en": "For a specific act"},
}

WORKFLOW = Workflow(
    states=(
        State(key="draft", label={"pl": "Szkic", "en": "Draft"}, editable=True),
        State(key="signed", label={"pl": "Podpisane", "en": "Signed"}, final=True),
    ),
    transitions=(
        Transition(
            key="sign",
            source=("draft",),
            target="signed",
            roles=frozenset({Role.CLIENT, Role.MANAGER, Role.ADMIN}),
            label={"pl": "Podpisz", "en": "Sign"},
            # The number is taken when the document is signed, so drafts leave no gaps.
            assigns_number=True,
        ),
    ),
)


class PowerOfAttorney(BaseDocumentType):
    """A power of attorney the client (the principal) grants to an attorney-in-fact (the buyer
    party holds the attorney's name and NIP when there is one)."""

    key = "power_of_attorney"
    label: ClassVar[Mapping[str, str]] = {"pl": "Pełnomocnictwo", "en": "Power of attorney"}
    # "Pełnomocnictwo" is neuter: its state says "Podpisane", not "Podpisany".
    gender = Gender.NEUTER
    series_pattern = "PEL/{seq}/{YYYY}"
    workflow = WORKFLOW
    # Capabilities (see DocumentType): offered under "New" in the documents list; not an
    # invoice (no KSeF kind, no split payment), never e-mailed, no effects on its moves.
    offer_new = True
    fields = (
        FieldSpec(
            name="attorney",
            kind="text",
            label={"pl": "Pełnomocnik", "en": "Attorney-in-fact"},
            required=True,
        ),
        FieldSpec(
            name="scope",
            kind="choice",
            label={"pl": "Rodzaj pełnomocnictwa", "en": "Scope"},
            required=True,
            choices=SCOPES,
            default="specific",
        ),
        FieldSpec(
            name="acts",
            kind="textarea",
            label={"pl": "Zakres umocowania", "en": "Acts authorised"},
            required=True,
        ),
        FieldSpec(
            name="valid_until",
            kind="date",
            label={"pl": "Ważne do", "en": "Valid until"},
        ),
    )

    def check(self, document: Document) -> Iterable[FieldError]:
        """A power of attorney cannot expire before it is granted."""
        until = self.value(document, "valid_until")
        if isinstance(until, date) and until < document.issue_date:
            yield FieldError(
                field="extra.valid_until",
                code="before_issue_date",
                message=N_("A power of attorney cannot expire before it is granted."),
            )

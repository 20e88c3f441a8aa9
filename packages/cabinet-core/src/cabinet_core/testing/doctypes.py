"""``DocumentTypeContract``: what every document type must satisfy, as inherited tests.

Subclass it and provide a ``document_type`` fixture (one type per subclass, or parametrize the
fixture over several)::

    class TestPowerOfAttorney(DocumentTypeContract):
        @pytest.fixture
        def document_type(self):
            return PowerOfAttorney()

Optionally provide ``valid_document`` (a document of the type its ``validate`` accepts) to check
that a good document gets no errors.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest

from cabinet_core.doctypes import DocumentType, Gender
from cabinet_core.entities import Document, DocumentLine, Party
from cabinet_core.errors import FieldError
from cabinet_core.numbering_pattern import check_pattern, format_number, series_key

__all__ = ["FIELD_KINDS", "LANGUAGES", "DocumentTypeContract", "reachable_states"]

#: The field kinds the forms, the API and the PDF layout know.
FIELD_KINDS = frozenset({"text", "textarea", "date", "decimal", "money", "choice", "bool", "int"})
#: Every label must exist in each language the cabinet speaks.
LANGUAGES = ("pl", "en")
#: A value of the wrong kind for every field kind (what a careless API client may send).
WRONG_VALUES = {
    "text": 12,
    "textarea": ["a"],
    "date": "the day after tomorrow",
    "decimal": "lots",
    "money": "1,234.5.6",
    "choice": "no-such-choice",
    "bool": "perhaps",
    "int": "eleven",
}
_KEY_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "_")


def reachable_states(document_type: DocumentType) -> set[str]:
    """The states its workflow can reach from the initial one."""
    workflow = document_type.workflow
    reached = {workflow.initial}
    grew = True
    while grew:
        grew = False
        for transition in workflow.transitions:
            if transition.target not in reached and reached.intersection(transition.source):
                reached.add(transition.target)
                grew = True
    return reached


def _blank(document_type: DocumentType, **changes: Any) -> Document:
    document = Document(
        client_id=1,
        doc_type=document_type.key,
        status=document_type.workflow.initial,
        issue_date=date(2026, 12, 1),
    )
    return attrs.evolve(document, **changes)


class DocumentTypeContract:
    """The contract suite (see the module docstring)."""

    @pytest.fixture
    def valid_document(self) -> Document | None:
        """Override: a document of this type that ``validate`` accepts."""
        return None

    def test_it_meets_the_protocol_with_a_key_and_labels(self, document_type: DocumentType) -> None:
        assert isinstance(document_type, DocumentType)
        assert document_type.key and set(document_type.key) <= _KEY_CHARACTERS
        for language in LANGUAGES:
            assert document_type.label.get(language), f"no {language} label"
        # The Polish words about a document (its states) agree with this gender.
        assert isinstance(document_type.gender, Gender)

    def test_fields_are_unique_known_and_labelled(self, document_type: DocumentType) -> None:
        names = [spec.name for spec in document_type.fields]
        assert len(names) == len(set(names)), f"a field is declared twice: {names}"
        for spec in document_type.fields:
            assert spec.kind in FIELD_KINDS, f"{spec.name}: unknown kind {spec.kind!r}"
            for language in LANGUAGES:
                assert spec.label.get(language), f"{spec.name}: no {language} label"
            if spec.kind == "choice":
                assert spec.choices, f"{spec.name}: a choice field without choices"
                if spec.default is not None:
                    assert spec.default in spec.choices, f"{spec.name}: default not a choice"

    def test_workflow_states_are_reachable_and_transitions_name_known_states(
        self, document_type: DocumentType
    ) -> None:
        workflow = document_type.workflow
        keys = [state.key for state in workflow.states]
        assert keys, "a workflow needs at least its initial state"
        assert len(keys) == len(set(keys)), f"a state is declared twice: {keys}"
        transitions = [transition.key for transition in workflow.transitions]
        assert len(transitions) == len(set(transitions)), "a transition is declared twice"
        for transition in workflow.transitions:
            assert set(transition.source) <= set(keys), f"{transition.key}: unknown source"
            assert transition.target in keys, f"{transition.key}: unknown target"
        # A final state may be where a read-only record starts (a historic note is stored in
        # it); any other state no transition reaches is a dead part of the workflow.
        unreachable = {
            state.key
            for state in workflow.states
            if not state.final and state.key not in reachable_states(document_type)
        }
        assert not unreachable, f"states no transition reaches: {sorted(unreachable)}"
        assert not workflow.state(workflow.initial).final, "a document must be able to move on"

    def test_dashboard_states_are_states_of_the_workflow(self, document_type: DocumentType) -> None:
        """``review_states`` and ``returned_states`` (what the dashboards count) name states
        the workflow has; a document cannot wait for the firm and be back with the client."""
        keys = {state.key for state in document_type.workflow.states}
        review, returned = set(document_type.review_states), set(document_type.returned_states)
        assert review <= keys, f"unknown review states: {sorted(review - keys)}"
        assert returned <= keys, f"unknown returned states: {sorted(returned - keys)}"
        assert not review & returned, f"both waiting and returned: {sorted(review & returned)}"

    def test_the_numbering_pattern_is_valid(self, document_type: DocumentType) -> None:
        pattern = document_type.series_pattern
        check_pattern(pattern)
        on = date(2026, 12, 1)
        first, second = format_number(pattern, 1, on), format_number(pattern, 2, on)
        assert first != second
        assert series_key(pattern, on) == series_key(pattern, date(2026, 12, 2)) or (
            "{DD}" in pattern
        )

    def test_validate_returns_field_errors_never_raises(self, document_type: DocumentType) -> None:
        wrong = {spec.name: WRONG_VALUES.get(spec.kind, object()) for spec in document_type.fields}
        line = DocumentLine(name="", quantity=Decimal("-1"), unit_price=Decimal("-5"))
        for document in (
            _blank(document_type),
            _blank(document_type, extra=wrong),
            _blank(document_type, lines=(line,), buyer=Party(name="")),
            _blank(document_type, extra={"unknown_field": "x"}),
        ):
            errors: Sequence[FieldError] = document_type.validate(document)
            assert all(isinstance(error, FieldError) for error in errors), errors

    def test_required_fields_are_reported_when_missing(self, document_type: DocumentType) -> None:
        # A required field with a default is filled by it, so only the others can be missing.
        required = {
            spec.name for spec in document_type.fields if spec.required and spec.default is None
        }
        if not required:
            pytest.skip("the type has no required fields without a default")
        errors = document_type.validate(_blank(document_type))
        reported = {error.field.removeprefix("extra.") for error in errors}
        assert required <= reported, f"missing required fields not reported: {required - reported}"

    def test_a_valid_document_gets_no_errors(
        self, document_type: DocumentType, valid_document: Document | None
    ) -> None:
        if valid_document is None:
            pytest.skip("the subclass provides no `valid_document`")
        assert valid_document.doc_type == document_type.key
        assert list(document_type.validate(valid_document)) == []

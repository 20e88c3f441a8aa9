"""Document types: what a kind of document declares (fields, validation, numbering, workflow).

A document type is an object registered through the ``register_document_types`` hook. The built-in
types (cost invoice, proforma, VAT invoice, KOR, correction request, contract, bill, cash report)
live in :mod:`cabinet_core.default_document_types`, registered exactly as a plugin's would be.
"""

from __future__ import annotations

from cabinet_core.doctypes.base import (
    DocumentType,
    FieldSpec,
    Gender,
    State,
    Transition,
    Workflow,
)
from cabinet_core.doctypes.common import BaseDocumentType, ComputationDrift, EarlierDocument

__all__ = [
    "BaseDocumentType",
    "ComputationDrift",
    "DocumentType",
    "EarlierDocument",
    "FieldSpec",
    "Gender",
    "State",
    "Transition",
    "Workflow",
]

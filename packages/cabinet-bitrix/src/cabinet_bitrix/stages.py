"""Document status ↔ CRM pipeline stage, per document type (bitrix24.md §3.3, §3.4).

The mapping names stages by their *code*: the quote directory's own ids (``DRAFT``, ``SENT``,
``APPROVED``, ``DECLAINED`` — Bitrix24's spelling), or the part of a smart-process stage id
after the colon (``NEW``, ``PREPARATION``, ``CLIENT``, ``SUCCESS``, ``FAIL``, or a custom
``UC_…``), so one mapping fits every portal: a smart process's stage ids carry its pipeline
(``DT1038_37:SUCCESS``) and the pipeline is read with ``crm.category.list`` at first use, its
stages with ``crm.status.list`` right after (both ride along the push's lookup batch, so they
cost no request of their own); a mapped stage the portal does not have is not sent. A full id
(with the colon) is taken as it is.

Admins override the defaults in the settings table under :data:`SETTINGS_KEY`::

    {"cost_invoice": {"submitted": "NEW", "approved": "UC_CHECKED", "paid": "SUCCESS"}}

A type's entry replaces that type's defaults (statuses left out are not pushed, and stages
mapped to nothing change nothing when they come back).

Back from the CRM a stage can stand for several statuses (an issued and a sent invoice may share
a stage); :meth:`StageMap.status_for` keeps the document's status when it already maps to the
stage, otherwise picks the first of them in workflow order that is not the initial state — a
stage never turns a numbered document back into a draft.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from cabinet_core.doctypes import DocumentType
    from cabinet_core.sync import SyncPort

log = logging.getLogger("cabinet.bitrix.stages")

#: The backend's state key of the admins' mapping (``SyncPort.state``).
STATE_KEY = "stage_map"
#: The same as the settings key an admin sets (the port keeps ``bitrix24.<key>``).
SETTINGS_KEY = f"bitrix24.{STATE_KEY}"

#: Quote (entityTypeId 7) stages: the ``QUOTE_STATUS`` directory.
QUOTE_STAGES = ("DRAFT", "SENT", "APPROVED", "DECLAINED")
#: The five stages every new smart-process pipeline gets.
SPA_STAGES = ("NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL")

#: Every built-in status, as a quote stage and as a smart-process stage. Statuses mean the same
#: across the built-in types (issued, sent, paid …), so one table gives each type its default.
_DEFAULTS: Mapping[str, tuple[str, str]] = {
    "draft": ("DRAFT", "NEW"),
    # Sales documents: nothing for staff to do until the client sends or is paid.
    "issued": ("DRAFT", "NEW"),
    "sent": ("SENT", "CLIENT"),
    "paid": ("APPROVED", "SUCCESS"),
    "cancelled": ("DECLAINED", "FAIL"),
    # KSeF refused the invoice: it is back with the client to fix and issue again, not issued.
    "ksef_rejected": ("DRAFT", "NEW"),
    # A proforma settled by the VAT invoice it became.
    "converted": ("APPROVED", "SUCCESS"),
    # Cost invoices: the accountant's own pipeline.
    "submitted": ("SENT", "NEW"),
    "returned": ("DECLAINED", "FAIL"),
    "approved": ("APPROVED", "PREPARATION"),
    "booked": ("APPROVED", "CLIENT"),
    # Contracts, correction notes, cash reports.
    "signed": ("SENT", "PREPARATION"),
    "completed": ("APPROVED", "SUCCESS"),
    "terminated": ("DECLAINED", "FAIL"),
    "accepted": ("APPROVED", "SUCCESS"),
    "rejected": ("DECLAINED", "FAIL"),
    "historic": ("APPROVED", "SUCCESS"),
    "closed": ("SENT", "PREPARATION"),
}


def is_quote(entity_type_id: int) -> bool:
    """Quotes keep their stages in ``QUOTE_STATUS`` (no pipelines)."""
    return entity_type_id == 7


def default_mapping(document_type: DocumentType, entity_type_id: int) -> dict[str, str]:
    """The built-in status → stage code mapping of a document type on an entity type."""
    column = 0 if is_quote(entity_type_id) else 1
    return {
        state.key: _DEFAULTS[state.key][column]
        for state in document_type.workflow.states
        if state.key in _DEFAULTS
    }


def stage_code(stage_id: str) -> str:
    """``DT1038_37:SUCCESS`` → ``SUCCESS``; a quote's ``APPROVED`` stays as it is."""
    return stage_id.rpartition(":")[2]


class StageMapError(ValueError):
    """The saved mapping is malformed (an admin typed it); the message says where."""


def check_mapping(value: Any) -> dict[str, dict[str, str]]:
    """The saved mapping, checked: ``{doc_type: {status: stage}}`` of strings;
    :class:`StageMapError` says what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StageMapError(f"{SETTINGS_KEY} must map document types to {{status: stage}} objects")
    checked: dict[str, dict[str, str]] = {}
    for doc_type, statuses in value.items():
        if not isinstance(statuses, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in statuses.items()
        ):
            raise StageMapError(f"{SETTINGS_KEY}[{doc_type!r}] must map statuses to stage names")
        checked[str(doc_type)] = {k: v.strip() for k, v in statuses.items()}
    return checked


@attrs.define
class StageMap:
    """The status ↔ stage mapping of one cabinet, with the pipelines read from the portal.

    ``overrides`` is the admins' mapping (:data:`SETTINGS_KEY`); ``categories`` the default
    pipeline id of each smart process (filled by the backend from ``crm.category.list``).
    """

    overrides: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    categories: dict[int, int] = attrs.field(factory=dict)
    #: The stage ids the portal has, per entity type (``crm.status.list``), once read.
    existing: dict[int, frozenset[str]] = attrs.field(factory=dict)

    @classmethod
    def load(cls, port: SyncPort) -> StageMap:
        """The mapping kept in the backend's state (defaults where none is saved)."""
        return cls(check_mapping(port.state(STATE_KEY)))

    def mapping(self, document_type: DocumentType, entity_type_id: int) -> dict[str, str]:
        """status → stage code for documents of ``document_type`` kept as ``entity_type_id``."""
        if document_type.key in self.overrides:
            return dict(self.overrides[document_type.key])
        return default_mapping(document_type, entity_type_id)

    def needs_category(self, entity_type_id: int) -> bool:
        """Whether the pipeline of ``entity_type_id`` must be read before stage ids are known."""
        return not is_quote(entity_type_id) and entity_type_id not in self.categories

    def status_entity(self, entity_type_id: int) -> str | None:
        """The ``crm.status.list`` directory of the type's default pipeline (``QUOTE_STATUS``,
        ``DYNAMIC_1038_STAGE_37``); ``None`` while the pipeline is not known."""
        if is_quote(entity_type_id):
            return "QUOTE_STATUS"
        category = self.categories.get(entity_type_id)
        return None if category is None else f"DYNAMIC_{entity_type_id}_STAGE_{category}"

    def needs_stages(self, entity_type_id: int) -> bool:
        """Whether the stages of the type's pipeline can and should be read now."""
        return (
            entity_type_id not in self.existing and self.status_entity(entity_type_id) is not None
        )

    def stage_id(self, entity_type_id: int, code: str) -> str | None:
        """The full stage id of ``code`` (``DT1038_37:NEW``); ``None`` while the pipeline of a
        smart process is not known."""
        if ":" in code or is_quote(entity_type_id):
            return code
        category = self.categories.get(entity_type_id)
        if category is None:
            return None
        return f"DT{entity_type_id}_{category}:{code}"

    def stage_for(
        self, document_type: DocumentType, entity_type_id: int, status: str
    ) -> str | None:
        """The stage id a document in ``status`` goes to (``None``: not mapped, left alone)."""
        code = self.mapping(document_type, entity_type_id).get(status)
        stage = self.stage_id(entity_type_id, code) if code else None
        known = self.existing.get(entity_type_id)
        if stage is not None and known is not None and stage not in known:
            # Mapped to a stage the portal does not have (renamed, deleted): leave the item
            # where it is rather than fail the whole write.
            log.warning("bitrix24: stage %s is not in the portal's pipeline; not set", stage)
            return None
        return stage

    def status_for(
        self, document_type: DocumentType, entity_type_id: int, stage_id: str, current: str
    ) -> str | None:
        """The status a document in ``current`` takes when its item is moved to ``stage_id``:
        ``current`` itself when it maps to that stage, ``None`` when nothing maps to it."""
        mapping = self.mapping(document_type, entity_type_id)
        code = stage_code(stage_id)

        def matches(value: str) -> bool:
            return value == stage_id or (":" not in value and value == code)

        candidates = [status for status, value in mapping.items() if matches(value)]
        if not candidates:
            return None
        if current in candidates:
            return current
        order = [state.key for state in document_type.workflow.states]
        initial = order[0] if order else None
        ranked = sorted(
            candidates,
            key=lambda s: (s == initial, order.index(s) if s in order else len(order)),
        )
        return ranked[0]

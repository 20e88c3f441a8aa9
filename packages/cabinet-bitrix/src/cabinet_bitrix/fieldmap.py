"""Cabinet fields → CRM item fields, per document type: what an admin maps on the Bitrix24
settings page besides the built-in fields (title, currency, dates, notes, the total).

The mapping is kept in the settings table under :data:`SETTINGS_KEY` (the backend's state
``field_map``)::

    {"<document type>": {"UF_CRM_5_NIP": "buyer.nip", "ufCrm5Contract": "extra.contract_number"}}

Each key is a CRM field (a user field ``UF_CRM_…`` or its camel-case API name ``ufCrm…``, or a
system field such as ``sourceDescription``), each value a cabinet field: one of
:data:`SOURCES` or ``extra.<name>``, a field of the type's own. The backend reads the mapping
once per push batch and adds the mapped values to every item it writes; a value the document
does not have is not sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cabinet_core.entities import Document

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

#: The backend's state key (``SyncPort.state``) and the settings key an admin sets.
STATE_KEY = "field_map"
SETTINGS_KEY = f"bitrix24.{STATE_KEY}"

#: A CRM item field name as ``crm.item.add`` takes it.
CRM_FIELD = re.compile(r"(UF_[A-Z0-9_]{1,60}|uf[A-Za-z0-9_]{1,60}|[a-z][A-Za-z0-9]{1,60})")
#: A type's own field: ``extra.<name>``.
EXTRA_FIELD = re.compile(r"extra\.[a-z][a-z0-9_]{0,60}")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


#: The cabinet fields every document has, by the name the mapping uses.
SOURCES: Mapping[str, Callable[[Document], str | None]] = {
    "number": lambda d: _text(d.number),
    "issue_date": lambda d: d.issue_date.isoformat(),
    "due_date": lambda d: d.due_date.isoformat() if d.due_date else None,
    "notes": lambda d: _text(d.notes),
    "currency": lambda d: d.currency,
    "net": lambda d: _text(d.totals.net) if d.totals else None,
    "vat": lambda d: _text(d.totals.vat) if d.totals else None,
    "gross": lambda d: _text(d.totals.gross) if d.totals else None,
    "seller.name": lambda d: _text(d.seller.name) if d.seller else None,
    "seller.nip": lambda d: _text(d.seller.nip) if d.seller else None,
    "buyer.name": lambda d: _text(d.buyer.name) if d.buyer else None,
    "buyer.nip": lambda d: _text(d.buyer.nip) if d.buyer else None,
}


def known_source(name: str) -> bool:
    """Whether ``name`` is a cabinet field the mapping can read."""
    return name in SOURCES or EXTRA_FIELD.fullmatch(name) is not None


def check_field_map(value: Any) -> dict[str, dict[str, str]]:
    """The saved mapping, checked: ``{doc_type: {crm_field: cabinet_field}}``; a
    :class:`ValueError` says what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{SETTINGS_KEY} must map document types to {{field: field}} objects")
    checked: dict[str, dict[str, str]] = {}
    for doc_type, fields in value.items():
        if not isinstance(fields, Mapping):
            raise ValueError(f"{SETTINGS_KEY}[{doc_type!r}] must map CRM fields to cabinet fields")
        for crm, source in fields.items():
            if not (isinstance(crm, str) and CRM_FIELD.fullmatch(crm)):
                raise ValueError(f"{SETTINGS_KEY}[{doc_type!r}]: {crm!r} is not a CRM field")
            if not (isinstance(source, str) and known_source(source)):
                raise ValueError(f"{SETTINGS_KEY}[{doc_type!r}]: {source!r} is not a field")
        checked[str(doc_type)] = {str(k): str(v) for k, v in fields.items()}
    return checked


def load(port: SyncPort) -> dict[str, dict[str, str]]:
    """The mapping in force (none when the saved one is malformed: the built-in fields are
    still sent, and the settings page shows the mapping as it is)."""
    try:
        return check_field_map(port.state(STATE_KEY))
    except ValueError:
        return {}


def value_of(document: Document, source: str) -> str | None:
    """The text of ``source`` on ``document`` (``None``: it has none)."""
    if source in SOURCES:
        return SOURCES[source](document)
    return _text(document.extra.get(source.removeprefix("extra.")))


def mapped_fields(mapping: Mapping[str, Mapping[str, str]], document: Document) -> dict[str, str]:
    """The CRM fields ``mapping`` gives ``document`` (those it has a value for)."""
    found: dict[str, str] = {}
    for crm, source in mapping.get(document.doc_type, {}).items():
        value = value_of(document, source)
        if value is not None:
            found[crm] = value
    return found


__all__ = [
    "SETTINGS_KEY",
    "SOURCES",
    "STATE_KEY",
    "check_field_map",
    "known_source",
    "load",
    "mapped_fields",
    "value_of",
]

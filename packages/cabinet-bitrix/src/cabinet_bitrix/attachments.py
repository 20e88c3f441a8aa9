"""An issued document's files on its CRM item, so staff read it without leaving Bitrix24.

Once a document has left its initial state (issued, submitted …), its PDF and, for a type with
a ``ksef_kind``, its FA(3) XML (``SyncPort.document_files``: the files the client receives) are
posted to the item's timeline as one comment with files (``crm.timeline.comment.add`` with
``FILES: [[name, base64], …]``, bitrix24.md §3.10–3.11; the portal saves them to Drive). A
comment rather than a file field: it needs no user field on every entity type, and each
version stays on the timeline with its date instead of replacing the previous one.

Posting files is kept off the delivery's critical path: a document's push (item and rows)
only records that its files are owed (``files.owed.<id>`` → item id, one state write per
batch, :func:`owed_entries`), and the periodic task ``bitrix24.files`` posts them once the
backend has no due deliveries left (:func:`attach_owed`): a 5,000-document backlog reaches the
CRM at the rate limit's pace, then its files follow. The list is durable, so a worker killed in
between posts them after its restart.

Files are posted again only when what the document *says* changed (a correction of a returned
invoice, a re-issue after a KSeF refusal), not when only its status or payment moved: the
backend's state keeps, per document, a fingerprint of its content (``files.<id>``), and the
files are rendered only when it differs. A lost answer may post a comment twice; it never
loses one (the fingerprint is saved after the comment is added).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.converter import to_json_dict
from cabinet_core.entities import PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from cabinet_core.entities import Document
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.client import BitrixClient

#: The backend's state key prefix of the fingerprints (``files.<document id>``).
STATE_PREFIX = "files."
#: The state key prefix of the documents whose files are still to post (value: the item id).
OWED_PREFIX = "files.owed."
#: How many owed documents one pass of ``bitrix24.files`` loads at a time.
OWED_PAGE = 50
#: ``ENTITY_TYPE`` of the timeline by entity type id (smart processes: ``dynamic_<id>``).
_TIMELINE_TYPES = {1: "lead", 2: "deal", 3: "contact", 4: "company", 7: "quote"}


def timeline_type(entity_type_id: int) -> str:
    """The timeline's ``ENTITY_TYPE`` of an entity type (``7`` → ``quote``, ``1038`` →
    ``dynamic_1038``)."""
    return _TIMELINE_TYPES.get(entity_type_id, f"dynamic_{entity_type_id}")


def fingerprint(document: Document) -> str:
    """What the document says, as a digest: its status, payment and bookkeeping fields left
    out, so moving it through its workflow posts nothing new."""
    content = attrs.evolve(
        document,
        status="",
        payment_status=PaymentStatus.UNPAID,
        version=0,
        updated_at=None,
    )
    encoded = json.dumps(to_json_dict(content), sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def attach_files(
    port: SyncPort,
    client: BitrixClient,
    document: Document,
    entity_type_id: int,
    item_id: int,
) -> bool:
    """Post the document's files to its item's timeline unless they are there already;
    whether a comment was added."""
    document_type = port.document_type(document.doc_type)
    if document.id is None or document_type is None:
        return False
    if document.status == document_type.workflow.initial:
        return False  # a draft is the client's own, and its number is not final
    key = f"{STATE_PREFIX}{document.id}"
    seen = fingerprint(document)
    if port.state(key) == seen:
        return False
    files = port.document_files(document.id)
    if not files:
        return False
    label = document_type.label.get("pl", document.doc_type)
    text = f"{label} {document.number or f'#{document.id}'}: " + ", ".join(
        f.filename for f in files
    )
    if port.base_url:
        text += f"\n{port.base_url.rstrip('/')}/documents/{document.id}"
    fields: dict[str, Any] = {
        "ENTITY_ID": item_id,
        "ENTITY_TYPE": timeline_type(entity_type_id),
        "COMMENT": text,
        "FILES": [[f.filename, base64.b64encode(f.content).decode("ascii")] for f in files],
    }
    client.call("crm.timeline.comment.add", {"fields": fields})
    port.set_state(key, seen)
    return True


def owed_entries(port: SyncPort, pushed: Iterable[tuple[Document, int]]) -> dict[str, int]:
    """The ``files.owed.<id>`` state entries recording that the pushed documents' files are
    to be posted to their items (drafts excluded: they have none), for the one state write
    of the batch (shared with its other bookkeeping: the confirmed pushes)."""
    owed: dict[str, int] = {}
    for document, item_id in pushed:
        document_type = port.document_type(document.doc_type)
        if document.id is None or document_type is None:
            continue
        if document.status == document_type.workflow.initial:
            continue
        owed[f"{OWED_PREFIX}{document.id}"] = item_id
    return owed


def deliveries_due(port: SyncPort) -> bool:
    """Whether the backend has deliveries waiting that are due now: the items come first,
    while one waiting for a later retry does not hold the files back."""
    now = port.now()
    return any(
        message.next_attempt_at is None or message.next_attempt_at <= now
        for message in port.deliveries("pending", limit=OWED_PAGE)
    )


def attach_owed(
    port: SyncPort,
    attach: Callable[[Document, int], object],
    *,
    pages: int = 20,
) -> int:
    """Post the owed files, a page at a time, while no delivery is due (at most ``pages``
    pages a pass); how many documents were handled. A failing call stops the pass and
    leaves what is not done owed (raised, so the worker logs it; the next pass retries)."""
    handled = 0
    for _ in range(pages):
        if deliveries_due(port):
            break
        owed = port.states(OWED_PREFIX, limit=OWED_PAGE)
        if not owed:
            break
        ids = {key: int(key[len(OWED_PREFIX) :]) for key in owed}
        documents = port.documents(ids.values())
        done: dict[str, None] = {}
        try:
            for key, document_id in ids.items():
                document = documents.get(document_id)
                if document is not None:
                    attach(document, int(owed[key]))
                done[key] = None
        finally:
            if done:
                port.set_states(done)
            handled += len(done)
    return handled

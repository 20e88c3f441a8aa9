"""Convergent reconciliation: every document's CRM item is compared with what the cabinet
says, a page at a time, and whatever differs is pushed again (bitrix24.md §0.8, §2.5).

Bitrix24 never retries an event and a push may fail for good (an outage longer than the
worker's attempts, a method's time budget spent by another process of the same app), so
the connector cannot trust that every push arrived. Two records make the comparison cheap:

* **What was confirmed** (``synced.<document id>`` in the backend's state, written by
  :func:`synced_entries` for every document whose item *and* product rows were written, in
  the same one state write per batch as the owed files): the item id and entity type, the
  Responsible and the company/contact ids the item was tied to, and a digest of what the
  document says (:func:`content_hash`: its rows, amounts, number, dates and notes).
* **What the portal holds now**: ``crm.item.list`` filtered by the confirmed item ids
  (``@id``, 50 ids a command, 50 commands a ``batch``, selecting only ``id``, ``stageId``,
  ``assignedById`` and the links), so one request reads up to 2,500 items, and the items'
  product rows (below).

A document differs when its item is gone, when its rows are not its lines, when the cabinet's
content changed since the last confirmed push (an edit whose update never arrived, rows whose
``productrow.set`` was refused), when the item's stage does not stand for the document's
status, when its Responsible or its company/contact is not the one the cabinet gave it, or when
no push was ever confirmed. Such a document is pushed again through the port
(``SyncPort.requeue``, or ``retry_delivery`` of its failed stage change, audited), and
``repaired.<id>`` records why, when and how often; a repair that must move the stage says so
there, and the next push of that document moves it (:func:`stage_moves`). A document repaired
:data:`MAX_REPAIRS` times without the content changing is left **failed** for an admin (a
mapping to fix, a field the portal refuses), so a difference that cannot be repaired never
loops.

Documents with a message still waiting for the worker are **waiting**: not compared (the
push on its way will change the item), remembered in the pass state and compared first in
the next pass; the cursor never moves past a document it did not settle. The cursor
(``scan_after``) walks the documents in id order, at most :data:`BUDGET` a pass, and wraps
to the first document at the end, so every document is compared again every few passes.

**Product rows are read back** and compared with the document's lines
(:func:`~cabinet_bitrix.rows.rows_match`: as many rows, each with the line's name, quantity,
tax rate and price), so a row staff deleted or changed by hand in Bitrix24, or a
``productrow.set`` lost behind the cabinet's back, is repaired. ``crm.item.productrow.list``
takes exactly one owner (``=ownerType`` and ``=ownerId`` are mandatory and only ``@id``
accepts a list, crm-item-productrow-list.md), so rows cost one command per document (one
more per further 50 rows), 50 to a ``batch``. The pass keeps to :data:`REQUESTS_PER_DOCUMENT`
(one request per 50 documents compared, counting the item reads and whatever the caller
spent before, such as :func:`~cabinet_bitrix.reconcile.changed_items`): the rows of the
documents the allowance does not cover in this pass (about 5 % of a large pass) are left to
their fingerprint, and which documents those are rotates from pass to pass
(:data:`ROTATION`), so no document's rows go unread two passes running. A pass of a page
of fewer than 50 documents may still spend one request on rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.entities import PaymentStatus
from cabinet_core.sync import Topic

from cabinet_bitrix.batching import BATCH_LIMIT, Command
from cabinet_bitrix.paging import PAGE_SIZE, rows_of
from cabinet_bitrix.rows import rows_match
from cabinet_bitrix.stages import StageMap, stage_code

if TYPE_CHECKING:
    from cabinet_core.entities import Document, OutboxMessage
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.backend import BitrixBackend

log = logging.getLogger("cabinet.bitrix.convergence")

#: State key prefix of the confirmed pushes (``synced.<document id>``).
SYNCED_PREFIX = "synced."
#: State key prefix of the repairs (``repaired.<document id>``).
REPAIRED_PREFIX = "repaired."
#: State key of the walk: cursor, documents left waiting, last pass's counts.
STATE_KEY = "convergence"
#: State key set when a delivery failed: a pass runs as soon as no delivery is due.
DUE_KEY = "convergence_due"
#: Documents compared in one pass at most.
BUDGET = 5000
#: Documents compared at a time: their items are read with one ``batch`` request
#: (50 ``crm.item.list`` commands of 50 ids).
PAGE = 2500
#: Repairs of one unchanged document before it is left failed for an admin.
MAX_REPAIRS = 3
#: Documents remembered as waiting between passes at most.
WAITING_LIMIT = 10_000
#: The portal requests a pass may spend per document it compares (one per 50 documents).
REQUESTS_PER_DOCUMENT = 1 / 50
#: Documents whose rows a pass leaves unread rotate through this many groups (by id and
#: pass number).
ROTATION = 50
#: The four states staff see, in the order the settings page lists them.
STATES = ("in_sync", "waiting", "repaired", "failed")
#: Topics whose delivery moves the item's stage.
_STAGE_TOPICS = frozenset({Topic.DOCUMENT_STATUS_CHANGED, Topic.DOCUMENT_PAYMENT_CHANGED})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def content_hash(document: Document) -> str:
    """A digest of what the document's item and rows carry: a change to it means the item
    must be written again. Its status and payment are left out (the stage is compared on
    its own), and so are the catalogue ids of its rows (the portal's business)."""
    lines = [
        [
            line.name,
            format(line.unit_price.normalize(), "f"),
            format(line.quantity.normalize(), "f"),
            line.unit,
            line.vat_rate,
        ]
        for line in document.lines
        if not line.before
    ]
    content = {
        "type": document.doc_type,
        "number": document.number,
        "issued": document.issue_date.isoformat(),
        "due": document.due_date.isoformat() if document.due_date else None,
        "currency": document.currency,
        "mode": str(document.price_mode),
        "gross": format(document.totals.gross.normalize(), "f") if document.totals else None,
        "notes": document.notes,
        "client": document.client_id,
        "counterparty": document.counterparty_id,
        "lines": lines,
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


@attrs.frozen(kw_only=True)
class Pushed:
    """What one push wrote and the portal confirmed: the item and what it was tied to.
    ``unlinked`` when a party the item should name could not be created."""

    document: Document
    item: int
    entity_type: int
    assigned: int | None = None
    company: int | None = None
    contact: int | None = None
    mycompany: int | None = None
    unlinked: bool = False


@attrs.frozen(kw_only=True)
class Fingerprint:
    """A confirmed push as kept in ``synced.<id>``."""

    item: int
    entity_type: int
    content: str
    assigned: int | None = None
    company: int | None = None
    contact: int | None = None
    mycompany: int | None = None
    unlinked: bool = False

    def to_json(self) -> dict[str, Any]:
        """The state value (short keys: one per document)."""
        return {
            "item": self.item,
            "type": self.entity_type,
            "content": self.content,
            "assigned": self.assigned,
            "company": self.company,
            "contact": self.contact,
            "mycompany": self.mycompany,
            "unlinked": self.unlinked,
        }

    @classmethod
    def from_json(cls, value: Any) -> Fingerprint | None:
        """Read back :meth:`to_json`; ``None`` for anything else."""
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                item=int(value["item"]),
                entity_type=int(value["type"]),
                content=str(value["content"]),
                assigned=_optional_int(value.get("assigned")),
                company=_optional_int(value.get("company")),
                contact=_optional_int(value.get("contact")),
                mycompany=_optional_int(value.get("mycompany")),
                unlinked=bool(value.get("unlinked")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _optional_int(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    return int(value)


def synced_entries(pushed: Iterable[Pushed]) -> dict[str, Any]:
    """The ``synced.<id>`` state entries of confirmed pushes (for one ``set_states``)."""
    return {
        f"{SYNCED_PREFIX}{p.document.id}": Fingerprint(
            item=p.item,
            entity_type=p.entity_type,
            content=content_hash(p.document),
            assigned=p.assigned,
            company=p.company,
            contact=p.contact,
            mycompany=p.mycompany,
            unlinked=p.unlinked,
        ).to_json()
        for p in pushed
        if p.document.id is not None
    }


def stage_moves(port: SyncPort, document_ids: Collection[int]) -> dict[str, Any]:
    """The ``repaired.<id>`` entries of ``document_ids`` whose repair must move the item's
    stage (the delivery adds them to its stage moves, then clears the flag)."""
    keys = [f"{REPAIRED_PREFIX}{doc_id}" for doc_id in document_ids]
    found = port.state_of(keys) if keys else {}
    return {
        key: value
        for key, value in found.items()
        if isinstance(value, Mapping) and value.get("move")
    }


def moved_entries(flags: Mapping[str, Any], written: Collection[int]) -> dict[str, Any]:
    """``flags`` (from :func:`stage_moves`) of the documents in ``written`` with the move
    done (for the same ``set_states`` as the fingerprints)."""
    done: dict[str, Any] = {}
    for key, value in flags.items():
        if int(key[len(REPAIRED_PREFIX) :]) in written:
            done[key] = {**value, "move": False}
    return done


# -- comparing -------------------------------------------------------------------------------


def _stage_differs(
    port: SyncPort,
    backend: BitrixBackend,
    stages: StageMap,
    document: Document,
    stage_id: str,
) -> bool:
    """Whether the item's stage stands for another status than the document's. A stage
    standing for several statuses (a quote's ``SENT`` for issued and sent) is right for each
    of them, and a stage the mapping does not name (staff's own ``UC_…``) is staff's
    business: neither is a difference."""
    document_type = port.document_type(document.doc_type)
    if document_type is None:
        return False
    mapping = stages.mapping(document_type, backend.settings.entity_type_for(document.doc_type))
    code = stage_code(stage_id)
    stands_for = {
        status
        for status, value in mapping.items()
        if value == stage_id or (":" not in value and value == code)
    }
    if not stands_for:
        return False
    if document.payment_status is PaymentStatus.PAID and "paid" in mapping:
        return "paid" not in stands_for
    if document.status not in mapping:
        return False
    return document.status not in stands_for


def differences(
    port: SyncPort,
    backend: BitrixBackend,
    stages: StageMap,
    document: Document,
    fingerprint: Fingerprint | None,
    item: Mapping[str, Any] | None,
) -> list[str]:
    """Why the document's item is not what the cabinet says (empty: in sync).
    ``item`` is the portal's item found by the fingerprint's id (``None``: not there)."""
    entity_type = backend.settings.entity_type_for(document.doc_type)
    if fingerprint is None or fingerprint.entity_type != entity_type:
        return ["unconfirmed"]
    if fingerprint.content != content_hash(document):
        return ["content"]
    if item is None:
        return ["missing"]
    why: list[str] = []
    stage = str(item.get("stageId") or "")
    if stage and _stage_differs(port, backend, stages, document, stage):
        why.append("stage")
    if fingerprint.assigned is not None and _int(item.get("assignedById")) != fingerprint.assigned:
        why.append("responsible")
    links = (
        ("companyId", fingerprint.company),
        ("contactId", fingerprint.contact),
        ("mycompanyId", fingerprint.mycompany),
    )
    if fingerprint.unlinked or any(
        want is not None and _int(item.get(name)) != want for name, want in links
    ):
        why.append("links")
    return why


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# -- the pass --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConvergeReport:
    """What one pass found: how many documents it compared, per state, the documents it
    pushed again (with why), the portal requests it cost, and whether the walk wrapped."""

    checked: int = 0
    #: Documents whose product rows were read back.
    rows_checked: int = 0
    in_sync: int = 0
    waiting: tuple[int, ...] = ()
    repaired: Mapping[int, tuple[str, ...]] = attrs.field(factory=dict)
    failed: tuple[int, ...] = ()
    requests: int = 0
    wrapped: bool = False
    scan_after: int = 0

    def counts(self) -> dict[str, int]:
        """Documents per state in this pass."""
        return {
            "in_sync": self.in_sync,
            "waiting": len(self.waiting),
            "repaired": len(self.repaired),
            "failed": len(self.failed),
        }


class _Pass:
    """One convergence pass (see :func:`converge`)."""

    def __init__(
        self, port: SyncPort, backend: BitrixBackend, *, spent: int = 0, number: int = 0
    ) -> None:
        self.port = port
        self.backend = backend
        #: Requests this pass may still spend (it earns :data:`REQUESTS_PER_DOCUMENT` per
        #: document compared; ``spent`` were spent by the caller before it).
        self.credit = -float(spent)
        #: The pass's number: which documents' rows are left unread rotates with it.
        self.number = number
        #: Documents whose product rows were read back and compared.
        self.rows_checked = 0
        self.stages = StageMap.load(port)
        self.now = _iso(port.now())
        pending = port.deliveries("pending", limit=WAITING_LIMIT)
        #: Whether the listing held every waiting delivery (else each candidate is asked).
        self.pending_complete = len(pending) < WAITING_LIMIT
        self.pending = {m.entity_id for m in pending if m.entity == "document"}
        self.failed_moves: dict[int, list[OutboxMessage]] = {}
        for message in port.deliveries("failed", limit=1000):
            if message.entity == "document" and message.topic in _STAGE_TOPICS:
                self.failed_moves.setdefault(message.entity_id or 0, []).append(message)
        self.in_sync = 0
        self.waiting: list[int] = []
        self.repaired: dict[int, tuple[str, ...]] = {}
        self.failed: list[int] = []

    def is_pending(self, document_id: int) -> bool:
        if document_id in self.pending:
            return True
        return not self.pending_complete and self.port.pending("document", document_id)

    def read_items(self, wanted: Mapping[int, Mapping[int, int]]) -> dict[int, Mapping[str, Any]]:
        """The portal's items of ``wanted`` (entity type → item id → document id), by
        document id: one ``crm.item.list`` per 50 ids, 50 of those per batch."""
        commands: list[Command] = []
        for entity_type, items in sorted(wanted.items()):
            ids = sorted(items)
            for n in range(0, len(ids), PAGE_SIZE):
                commands.append(
                    Command(
                        f"check{entity_type}_{n // PAGE_SIZE}",
                        "crm.item.list",
                        {
                            "entityTypeId": entity_type,
                            "select": [
                                "id",
                                "stageId",
                                "assignedById",
                                "companyId",
                                "contactId",
                                "mycompanyId",
                            ],
                            "filter": {"@id": ids[n : n + PAGE_SIZE]},
                            "order": {"id": "ASC"},
                            "start": -1,
                        },
                    )
                )
        if not commands:
            return {}
        results = self.backend.run_reads(commands)
        found: dict[int, Mapping[str, Any]] = {}
        for command in commands:
            entity_type = int(command.params["entityTypeId"])
            # A refused read raises: the pass stops here and this page is compared again.
            for item in rows_of(results[command.name].unwrap(), "items"):
                document_id = wanted[entity_type].get(int(item["id"]))
                if document_id is not None:
                    found[document_id] = item
        return found

    def page(self, documents: Sequence[Document]) -> None:
        """Compare one page of documents and repair what differs."""
        port = self.port
        ids = [d.id or 0 for d in documents]
        saved = port.state_of(
            [f"{SYNCED_PREFIX}{i}" for i in ids] + [f"{REPAIRED_PREFIX}{i}" for i in ids]
        )
        prints = {i: Fingerprint.from_json(saved.get(f"{SYNCED_PREFIX}{i}")) for i in ids}
        wanted: dict[int, dict[int, int]] = {}
        settled: list[Document] = []
        for document in documents:
            doc_id = document.id or 0
            if doc_id in self.pending:
                self.waiting.append(doc_id)
                continue
            settled.append(document)
            found = prints[doc_id]
            entity_type = self.backend.settings.entity_type_for(document.doc_type)
            if found is not None and found.entity_type == entity_type:
                wanted.setdefault(entity_type, {})[found.item] = doc_id
        self.credit += len(documents) * REQUESTS_PER_DOCUMENT
        before = self.backend.client.requests
        items = self.read_items(wanted)
        self.credit -= self.backend.client.requests - before
        differing = {
            d.id or 0: why
            for d in settled
            if (
                why := differences(
                    port, self.backend, self.stages, d, prints[d.id or 0], items.get(d.id or 0)
                )
            )
        }
        # The rows of the documents otherwise in sync, as far as the allowance goes.
        rows_differ = self.check_rows(
            [d for d in settled if (d.id or 0) not in differing and (d.id or 0) in items],
            prints,
        )
        for doc_id in rows_differ:
            differing[doc_id] = ["rows"]
        fresh: Mapping[int, Document] = {}
        if differing:
            # Read again: a status or an edit that landed while the portal was read (an
            # inbound stage change applied meanwhile) must not be undone by a repair.
            fresh = port.documents(differing)
            for doc_id in list(differing):
                again = fresh.get(doc_id)
                still = (
                    differences(
                        port, self.backend, self.stages, again, prints[doc_id], items.get(doc_id)
                    )
                    if again is not None
                    else []
                )
                if not still and again is not None and doc_id in rows_differ:
                    still = ["rows"]  # unchanged in the cabinet: its rows are still wrong
                if still:
                    differing[doc_id] = still
                else:
                    del differing[doc_id]
        updates: dict[str, Any] = {}
        for listed in settled:
            doc_id = listed.id or 0
            document = fresh.get(doc_id, listed)
            note = saved.get(f"{REPAIRED_PREFIX}{doc_id}")
            repaired = dict(note) if isinstance(note, Mapping) else None
            reasons = differing.get(doc_id)
            if reasons is None:
                self.in_sync += 1
                if repaired is not None and repaired.get("times"):
                    # Repaired and confirmed: the count of failed repairs starts again.
                    updates[f"{REPAIRED_PREFIX}{doc_id}"] = {**repaired, "times": 0}
                continue
            if not self.pending_complete and port.pending("document", doc_id):
                self.waiting.append(doc_id)
                continue
            content = content_hash(document)
            times = int(repaired.get("times") or 0) if repaired else 0
            if repaired and repaired.get("content") == content and times >= MAX_REPAIRS:
                self.failed.append(doc_id)
                continue
            why = reasons
            self.repair(document, why)
            updates[f"{REPAIRED_PREFIX}{doc_id}"] = {
                "at": self.now,
                "why": why,
                "times": times + 1,
                "content": content,
                "move": "stage" in why,
            }
            self.repaired[doc_id] = tuple(why)
        if updates:
            port.set_states(updates)

    def check_rows(
        self, documents: Sequence[Document], prints: Mapping[int, Fingerprint | None]
    ) -> set[int]:
        """Read back the product rows of ``documents`` (their items exist and are otherwise
        in sync) within the pass's allowance and compare them with the documents' lines;
        the documents whose rows differ. The allowance is whole ``batch`` requests (at
        least one); documents it does not cover keep their fingerprint's word, chosen
        anew each pass (:data:`ROTATION`)."""
        from cabinet_bitrix.backend import owner_type

        allowed = max(math.floor(self.credit + 1e-9), 1) * BATCH_LIMIT
        ordered = sorted(
            documents, key=lambda d: ((d.id or 0) + self.number) % ROTATION, reverse=True
        )
        chosen: list[tuple[Document, list[Command]]] = []
        used = 0
        for document in ordered:
            doc_id = document.id or 0
            found = prints[doc_id]
            if found is None:
                continue
            lines = [line for line in document.lines if not line.before]
            pages = max(1, math.ceil(len(lines) / PAGE_SIZE))
            if used + pages > allowed:
                continue
            try:
                owner = owner_type(found.entity_type)
            except ValueError:
                continue
            commands = [
                Command(
                    f"rows{doc_id}_{n}",
                    "crm.item.productrow.list",
                    {
                        "filter": {"=ownerType": owner, "=ownerId": found.item},
                        "order": {"sort": "ASC", "id": "ASC"},
                        "start": n * PAGE_SIZE,
                    },
                )
                for n in range(pages)
            ]
            chosen.append((document, commands))
            used += pages
        if not chosen:
            return set()
        before = self.backend.client.requests
        results = self.backend.run_reads([c for _, commands in chosen for c in commands])
        self.credit -= self.backend.client.requests - before
        differ: set[int] = set()
        for document, commands in chosen:
            rows: list[Mapping[str, Any]] = []
            total: int | None = None
            for command in commands:
                # A refused read raises: the pass stops here and this page is compared again.
                answer = results[command.name]
                rows.extend(rows_of(answer.unwrap(), "productRows"))
                total = answer.total if answer.total is not None else total
            lines = [line for line in document.lines if not line.before]
            self.rows_checked += 1
            if (total is not None and total != len(lines)) or not rows_match(
                lines, document.price_mode, rows
            ):
                differ.add(document.id or 0)
        return differ

    def repair(self, document: Document, why: Sequence[str]) -> None:
        """Push the document again: its failed stage change when it has one (so the
        stage moves as that change said), else a fresh ``document.updated``."""
        doc_id = document.id or 0
        reason = "reconcile: " + ", ".join(why)
        for message in self.failed_moves.get(doc_id, ()):
            if self.port.retry_delivery(message.id or 0, reason=reason):
                return
        self.port.requeue(Topic.DOCUMENT_UPDATED, "document", doc_id, reason=reason)


def converge(
    port: SyncPort, backend: BitrixBackend, *, budget: int = BUDGET, spent: int = 0
) -> ConvergeReport:
    """One pass: the documents left waiting by the previous pass, then up to ``budget``
    documents from the cursor on (wrapping to the first at the end), each compared with
    its item (and its product rows, within the pass's request allowance, which ``spent``
    requests made by the caller for this pass reduce) and pushed again when it differs.
    The cursor and the pass's counts are saved after every page, so a pass stopped by an
    outage resumes where it stopped."""
    state = port.state(STATE_KEY)
    state = dict(state) if isinstance(state, Mapping) else {}
    after = int(state.get("scan_after") or 0)
    requests_before = backend.client.requests
    number = int(state.get("passes") or 0) + 1
    run = _Pass(port, backend, spent=spent, number=number)
    checked = 0
    wrapped = False
    # Documents the previous pass could not settle come first: the walk never loses them.
    left = [int(i) for i in state.get("waiting") or [] if str(i).isdigit()]
    done = set(left)
    for n in range(0, len(left), PAGE):
        found = port.documents(left[n : n + PAGE])
        if found:
            run.page([found[i] for i in sorted(found)])
            checked += len(found)
    origin = after
    while checked < budget:
        documents = port.documents_after(after, min(PAGE, budget - checked))
        if wrapped:
            # Once round: the documents after where this pass began were compared already.
            documents = [d for d in documents if (d.id or 0) <= origin]
        if not documents:
            if wrapped or origin == 0:
                break
            wrapped, after = True, 0
            continue
        fresh = [d for d in documents if (d.id or 0) not in done]
        run.page(fresh)
        checked += len(fresh)
        after = documents[-1].id or after
        port.set_state(STATE_KEY, {**state, "scan_after": after})
    report = ConvergeReport(
        checked=checked,
        rows_checked=run.rows_checked,
        in_sync=run.in_sync,
        waiting=tuple(dict.fromkeys(run.waiting)),
        repaired=dict(run.repaired),
        failed=tuple(run.failed),
        requests=backend.client.requests - requests_before,
        wrapped=wrapped,
        scan_after=after,
    )
    port.set_state(
        STATE_KEY,
        {
            "scan_after": after,
            "waiting": list(report.waiting)[:WAITING_LIMIT],
            "last_pass": run.now,
            "counts": report.counts(),
            "checked": checked,
            "rows_checked": run.rows_checked,
            "requests": report.requests,
            "passes": number,
        },
    )
    if report.repaired or report.failed:
        log.info(
            "bitrix24 convergence: %d documents compared, %d pushed again, %d left failed",
            checked,
            len(report.repaired),
            len(report.failed),
        )
    return report


# -- what staff see --------------------------------------------------------------------------


def document_states(port: SyncPort, document_ids: Collection[int]) -> dict[int, str]:
    """Each document's state as staff see it, from the cabinet's own records (no portal
    request): ``waiting`` (a message about it is queued, or no push was confirmed yet),
    ``failed`` (a delivery failed for good and was not repaired, or repairs gave up),
    ``repaired`` (pushed again by reconciliation and confirmed since), ``in_sync``."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    documents = port.documents(ids)
    saved = port.state_of(
        [f"{SYNCED_PREFIX}{i}" for i in ids] + [f"{REPAIRED_PREFIX}{i}" for i in ids]
    )
    failed = {m.entity_id for m in port.deliveries("failed", limit=1000) if m.entity == "document"}
    states: dict[int, str] = {}
    for doc_id in ids:
        document = documents.get(doc_id)
        if document is None:
            continue
        repaired = saved.get(f"{REPAIRED_PREFIX}{doc_id}")
        repaired = repaired if isinstance(repaired, Mapping) else None
        fingerprint = Fingerprint.from_json(saved.get(f"{SYNCED_PREFIX}{doc_id}"))
        confirmed = fingerprint is not None and fingerprint.content == content_hash(document)
        gave_up = repaired is not None and int(repaired.get("times") or 0) >= MAX_REPAIRS
        if port.pending("document", doc_id):
            states[doc_id] = "waiting"
        elif gave_up or (doc_id in failed and not confirmed):
            states[doc_id] = "failed"
        elif not confirmed:
            states[doc_id] = "waiting"
        elif repaired is not None:
            states[doc_id] = "repaired"
        else:
            states[doc_id] = "in_sync"
    return states


def overview(port: SyncPort, *, rows: int = 100) -> dict[str, Any]:
    """The last pass (when, counts, requests) and a table of the documents reconciliation
    had to deal with (repaired, failed, waiting), newest first, for the settings page."""
    state = port.state(STATE_KEY)
    state = dict(state) if isinstance(state, Mapping) else {}
    repaired = port.states(REPAIRED_PREFIX, limit=5000)
    notes = {int(k[len(REPAIRED_PREFIX) :]): v for k, v in repaired.items()}
    waiting = [int(i) for i in state.get("waiting") or [] if str(i).isdigit()]
    ids = sorted({*notes, *waiting}, reverse=True)[:rows]
    states = document_states(port, ids)
    documents = port.documents(ids)
    table = []
    for doc_id in ids:
        if doc_id not in states:
            continue
        note = notes.get(doc_id)
        note = note if isinstance(note, Mapping) else {}
        document = documents[doc_id]
        table.append(
            {
                "id": doc_id,
                "number": document.number or f"#{doc_id}",
                "state": states[doc_id],
                "why": list(note.get("why") or []),
                "at": note.get("at"),
                "times": int(note.get("times") or 0),
            }
        )
    counts = dict.fromkeys(STATES, 0)
    counts.update({k: int(v) for k, v in dict(state.get("counts") or {}).items() if k in counts})
    return {
        "last_pass": state.get("last_pass"),
        "checked": int(state.get("checked") or 0),
        "requests": int(state.get("requests") or 0),
        "counts": counts,
        "documents": table,
    }

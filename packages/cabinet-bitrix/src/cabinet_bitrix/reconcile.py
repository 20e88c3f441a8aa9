"""Periodic reconciliation with Bitrix24, which never retries an event (bitrix24.md §6.3).

:func:`reconcile` does two things a lost event or a lost push would otherwise leave undone:

1. **Staff changes**: for every entity type documents are kept as, it lists the items changed
   since the last run (``crm.item.list`` with ``>updatedTime`` and its origin field ``LIKE
   <prefix>-document-%``, by id windows and ``start=-1``
   — :func:`~cabinet_bitrix.paging.pull_by_id`) and applies their stages exactly as an event
   would (:func:`~cabinet_bitrix.inbound.apply_item`), so a stage moved while the event handler
   was down still reaches the cabinet. Applying the same stage twice changes nothing.
2. **Pushes that never arrived**: documents the portal has no item for — looked up by origin,
   one IN-filter command per 50 documents — are queued again through the port
   (``SyncPort.requeue``: an outbox message and an audit entry naming why), unless a message
   about them is still waiting for the worker (``SyncPort.pending``). Each run checks the
   documents added since the previous run (the first run checks all of them).
3. **Stage changes that failed for good**: a ``document.status_changed`` or
   ``document.payment_changed`` whose delivery to this backend failed (its attempts spent, or
   an error the worker took as permanent) would leave the item on the wrong stage; each run
   puts such deliveries back in the queue (``SyncPort.retry_delivery``, audited), each at most
   :data:`MAX_STAGE_RETRIES` times, so the push that moves the item to the document's current
   stage runs again once the cause (an outage, a mapping an admin fixed) is gone.

The run's start (less a margin for clocks and for changes made while it ran) and the last
document checked are kept in the backend's state under :data:`STATE_KEY`. The worker runs it
every ``CABINET_BITRIX_RECONCILE_SECONDS`` (:meth:`BitrixBackend.periodic_tasks`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from cabinet_core.sync import Topic

from cabinet_bitrix.inbound import apply_item, document_id_of
from cabinet_bitrix.paging import pull_by_id
from cabinet_bitrix.stages import StageMap

if TYPE_CHECKING:
    from cabinet_core.sync import SyncPort

    from cabinet_bitrix.backend import BitrixBackend

log = logging.getLogger("cabinet.bitrix.reconcile")

#: The backend's state key of the reconciliation state (``last_run``, ``last_document_id``;
#: settings key ``bitrix24.reconcile``).
STATE_KEY = "reconcile"
#: How far back each run looks beyond the previous run's start: clock differences between
#: the cabinet and the portal, and changes made while the previous run was reading.
MARGIN = timedelta(minutes=2)
#: Documents read through the port at a time when looking for missing items.
_PAGE = 500
#: How often one failed stage change is put back in the queue by reconciliation.
MAX_STAGE_RETRIES = 3
#: Topics whose delivery moves the item's stage.
_STAGE_TOPICS = frozenset({Topic.DOCUMENT_STATUS_CHANGED, Topic.DOCUMENT_PAYMENT_CHANGED})


@attrs.frozen(kw_only=True)
class ReconcileReport:
    """What one run did: items read, stage changes applied (one line each), documents
    re-queued, and the window it covered."""

    since: datetime | None
    until: datetime
    items_checked: int = 0
    applied: tuple[str, ...] = ()
    documents_checked: int = 0
    requeued: tuple[int, ...] = ()
    #: Outbox message ids of failed stage changes put back in the queue.
    retried: tuple[int, ...] = ()


def _state(port: SyncPort) -> dict[str, Any]:
    value = port.state(STATE_KEY)
    return dict(value) if isinstance(value, dict) else {}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def reconcile(
    port: SyncPort, backend: BitrixBackend, *, since: datetime | None = None
) -> ReconcileReport:
    """Apply stage changes the events missed and re-queue documents whose push never arrived.
    ``since`` overrides the saved window start (``None`` and nothing saved: everything)."""
    state = _state(port)
    if since is None and state.get("last_run"):
        since = datetime.fromisoformat(str(state["last_run"])) - MARGIN
    started = datetime.fromtimestamp(backend.client.now(), UTC)
    stages = StageMap.load(port)
    checked = 0
    applied: list[str] = []
    # A document whose own stage change has not reached the portal (waiting, or failed) is
    # newer in the cabinet than its item: the item's stale stage must not undo it.
    unsettled = {
        m.entity_id
        for status in ("pending", "failed")
        for m in port.deliveries(status, limit=1000)
        if m.topic in _STAGE_TOPICS and m.entity == "document"
    }
    entity_types = {*backend.settings.entity_types.values(), backend.settings.default_entity_type}
    for entity_type_id in sorted(entity_types):
        field = backend.ensure_origin_field(entity_type_id)
        # Only the cabinet's own items (LIKE on the origin field): a portal's other quotes
        # may be many, and are none of the cabinet's business.
        filter_: dict[str, Any] = {f"=%{field}": f"{backend.settings.origin_prefix}-document-%"}
        if since is not None:
            filter_[">updatedTime"] = _iso(since)
        params: dict[str, Any] = {
            "entityTypeId": entity_type_id,
            "select": ["id", "stageId", "mycompanyId", "updatedTime", field],
            "useOriginalUfNames": "Y",
            "filter": filter_,
        }
        for item in pull_by_id(backend.client, "crm.item.list", params, key="items"):
            document_id = document_id_of(backend, item.get(field))
            if document_id is None:
                continue
            checked += 1
            if document_id in unsettled:
                continue
            outcome = apply_item(port, backend, entity_type_id, item, stages)
            if outcome.startswith(("status:", "refused:")):
                applied.append(outcome)
    last_document = int(state.get("last_document_id") or 0)
    documents_checked, requeued, last_document = _requeue_missing(
        port, backend, after=last_document
    )
    tries = {str(k): int(v) for k, v in dict(state.get("stage_retries") or {}).items()}
    retried = _retry_failed_moves(port, tries)
    port.set_state(
        STATE_KEY,
        {"last_run": _iso(started), "last_document_id": last_document, "stage_retries": tries},
    )
    report = ReconcileReport(
        since=since,
        until=started,
        items_checked=checked,
        applied=tuple(applied),
        documents_checked=documents_checked,
        requeued=tuple(requeued),
        retried=tuple(retried),
    )
    if applied or requeued or retried:
        log.info(
            "bitrix24 reconcile: %d stage changes applied, %d documents re-queued, "
            "%d failed stage changes retried",
            len(applied),
            len(requeued),
            len(retried),
        )
    return report


def _retry_failed_moves(port: SyncPort, tries: dict[str, int]) -> list[int]:
    """Put this backend's failed stage changes back in the queue (``tries`` counts them per
    message id and is updated; ids no longer failed are forgotten)."""
    failed = [
        m
        for m in port.deliveries("failed", limit=1000)
        if m.topic in _STAGE_TOPICS and m.id is not None
    ]
    still = {str(m.id) for m in failed}
    for key in [k for k in tries if k not in still]:
        del tries[key]
    retried: list[int] = []
    for message in failed:
        key = str(message.id)
        if tries.get(key, 0) >= MAX_STAGE_RETRIES:
            continue
        if port.retry_delivery(
            message.id or 0, reason="reconcile: a stage change failed; pushed again"
        ):
            tries[key] = tries.get(key, 0) + 1
            retried.append(message.id or 0)
    return retried


def _requeue_missing(
    port: SyncPort, backend: BitrixBackend, *, after: int
) -> tuple[int, list[int], int]:
    """Documents with an id above ``after`` that the portal has no item for are queued again;
    (documents checked, ids re-queued, last id checked)."""
    checked = 0
    requeued: list[int] = []
    last = after
    while True:
        batch = port.documents_after(last, _PAGE)
        if not batch:
            return checked, requeued, last
        found = backend.find_items(batch)
        for document in batch:
            document_id = document.id or 0
            checked += 1
            last = max(last, document_id)
            if document_id in found or port.pending("document", document_id):
                continue
            port.requeue(
                Topic.DOCUMENT_UPDATED,
                "document",
                document_id,
                reason="reconcile: the portal has no item for it",
            )
            requeued.append(document_id)
